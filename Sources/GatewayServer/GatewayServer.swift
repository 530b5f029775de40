import GatewayCore
import GatewayPlan
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// The gateway's listeners: HTTPS (TLS 1.2/1.3, ALPN `h2` and `http/1.1`) and optional plain HTTP,
/// serving the current `GatewayRuntime`.
public final class GatewayServer: Sendable {
    public let group: MultiThreadedEventLoopGroup
    private let shared: ServerShared
    private let serverTLS: NIOSSLContext?
    private let channels = NIOLockedValueBox<[any Channel]>([])
    private let addresses = NIOLockedValueBox<(https: SocketAddress?, http: SocketAddress?)>((nil, nil))
    private let authorizerStats: AuthorizerStatsReporter

    /// Builds the server (loads the TLS certificate and key). Throws `ConfigErrors` naming the files.
    public init(runtime: GatewayRuntime, logger: Logger, threads: Int? = nil) throws {
        let config = runtime.plan.config
        if config.https != nil, let tls = config.tls {
            serverTLS = try GatewayServer.makeServerTLS(tls, configFile: config.file)
        } else {
            serverTLS = nil
        }
        let count = threads ?? (config.threads > 0 ? config.threads : System.coreCount)
        group = MultiThreadedEventLoopGroup(numberOfThreads: count)
        shared = ServerShared(runtime: runtime, logger: logger)
        authorizerStats = AuthorizerStatsReporter(shared: shared)
    }

    static func makeServerTLS(_ files: GatewayConfig.TLSFiles, configFile: String) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
            guard !chain.isEmpty else { throw ConfigError(file: files.certificate, "no certificate in the file") }
        } catch let error as ConfigError {
            throw ConfigErrors([error])
        } catch {
            throw ConfigErrors([ConfigError(file: files.certificate, "cannot load the TLS certificate (tls.certificate in \(configFile)): \(error)")])
        }
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw ConfigErrors([ConfigError(file: files.key, "cannot load the TLS private key (tls.key in \(configFile)): \(error)")])
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.applicationProtocols = ["h2", "http/1.1"]
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigErrors([ConfigError(file: files.certificate, "the certificate and key do not make a TLS context: \(error)")])
        }
    }

    /// The runtime in use.
    public var runtime: GatewayRuntime { shared.runtime }

    /// Swaps in a new runtime (from a new, fully compiled plan). Requests already in flight finish
    /// on the old one. Listen addresses and the server certificate are not changed by a reload.
    public func reload(_ runtime: GatewayRuntime) throws {
        try openPolicyStore(runtime.plan)
        authorizerStats.report()
        shared.runtime = runtime
    }

    /// Opens the state store when some operation asks for an API key.
    private func openPolicyStore(_ plan: GatewayPlan) throws {
        guard plan.operations.contains(where: { $0.apiKey != nil }) else { return }
        do {
            try shared.policies.open(path: plan.config.state, plans: plan.config.plans)
        } catch {
            throw ConfigErrors([ConfigError(file: plan.config.state, "cannot open the state store (state: in \(plan.config.file)): \(error)")])
        }
    }

    /// Re-reads the keys now instead of at the next refresh (for tests and the CLI).
    public func refreshKeys() throws { try shared.policies.refresh() }

    public var httpsAddress: SocketAddress? { addresses.withLockedValue { $0.https } }
    public var httpsPort: Int? { httpsAddress?.port }
    public var httpPort: Int? { httpAddress?.port }

    /// Loads the certificate and key the way `serve` would, so `check` refuses what `serve` would.
    public static func checkTLSFiles(_ files: GatewayConfig.TLSFiles, configFile: String) throws {
        _ = try makeServerTLS(files, configFile: configFile)
    }
    public var httpAddress: SocketAddress? { addresses.withLockedValue { $0.http } }

    /// Binds the listeners named in the configuration.
    public func start() async throws {
        try openPolicyStore(shared.runtime.plan)
        authorizerStats.start(on: group.next())
        let config = shared.runtime.plan.config
        if let https = config.https, let tls = serverTLS {
            let channel = try await bind(https, tls: tls)
            addresses.withLockedValue { $0.https = channel.localAddress }
        }
        if let http = config.http {
            let channel = try await bind(http, tls: nil)
            addresses.withLockedValue { $0.http = channel.localAddress }
        }
    }

    private func bind(_ address: GatewayConfig.ListenAddress, tls: NIOSSLContext?) async throws -> any Channel {
        let shared = self.shared
        let limits = shared.runtime.plan.config.limits
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                if let tls {
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }.flatMap {
                        channel.configureHTTP2SecureUpgrade(
                            h2ChannelConfigurator: { connection in
                                GatewayServer.configureHTTP2(connection, shared: shared, limits: limits)
                            },
                            http1ChannelConfigurator: { connection in
                                connection.eventLoop.makeCompletedFuture {
                                    try GatewayServer.configureHTTP1(connection, scheme: "https", shared: shared, limits: limits)
                                }
                            })
                    }
                } else {
                    return channel.eventLoop.makeCompletedFuture {
                        try GatewayServer.configureHTTP1(channel, scheme: "http", shared: shared, limits: limits)
                    }
                }
            }
        do {
            let channel = try await bootstrap.bind(host: address.host, port: address.port).get()
            channels.withLockedValue { $0.append(channel) }
            return channel
        } catch {
            throw ConfigErrors([ConfigError(file: shared.runtime.plan.config.file, "cannot listen on \(address): \(error)")])
        }
    }

    static func configureHTTP1(_ channel: any Channel, scheme: String, shared: ServerShared,
                               limits: GatewayConfig.Limits) throws {
        let sync = channel.pipeline.syncOperations
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        // No pipelining assistance: it pauses reading after every request (two epoll_ctl calls per
        // request); GatewayHandler queues the rare pipelined request itself. Parser errors get the
        // error contract's 400 from GatewayHandler too.
        // No outbound header validation handler either: what the gateway writes is request heads
        // parsed by NIO, headers it makes itself, and function headers it checks (FunctionEventBuilder).
        try sync.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits)
        try sync.addHandler(GatewayHandler(shared: shared, connection: .init(
            scheme: scheme, isHTTP2: false, idleTimeout: TimeAmount(limits.idleTimeout))))
    }

    static func configureHTTP2(_ channel: any Channel, shared: ServerShared,
                               limits: GatewayConfig.Limits) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: TimeAmount(limits.idleTimeout)))
            try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser())
        }.flatMap {
            channel.configureHTTP2Pipeline(mode: .server, inboundStreamInitializer: { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                    try stream.pipeline.syncOperations.addHandler(
                        GatewayHandler(shared: shared, connection: .init(scheme: "https", isHTTP2: true)))
                }
            }).map { _ in () }
        }
    }

    /// Stops listening, closes pooled upstream connections, and shuts the event loops down.
    public func shutdown() async throws {
        let all = channels.withLockedValue { $0 }
        for channel in all {
            try? await channel.close()
        }
        shared.closePools()
        shared.policies.stop()
        authorizerStats.stop()
        try await group.shutdownGracefully()
    }

    /// Waits until the listeners close.
    public func waitUntilClosed() async throws {
        let all = channels.withLockedValue { $0 }
        for channel in all {
            try await channel.closeFuture.get()
        }
    }
}

/// Closes an HTTP/2 connection that saw no traffic for the idle timeout.
final class IdleConnectionCloser: ChannelInboundHandler {
    typealias InboundIn = Any

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
