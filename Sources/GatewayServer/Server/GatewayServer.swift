import Atomics
import Prometheus
import GatewayCore
import GatewayPlan
import GatewayRedis
import GatewayStore
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
    let shared: ServerShared
    private let serverTLS: NIOSSLContext?
    private let channels = NIOLockedValueBox<[any Channel]>([])
    private let addresses = NIOLockedValueBox<(https: SocketAddress?, http: SocketAddress?)>((nil, nil))
    private let authorizerStats: AuthorizerStatsReporter
    /// Every open client connection (limits.maxConnections; closed at shutdown).
    let connections: ConnectionRegistry
    private let stopping = NIOLockedValueBox(false)

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
        shared = try ServerShared(runtime: runtime, logger: logger, loop: group.next(), loops: Array(group.makeIterator()))
        connections = ConnectionRegistry(limit: config.limits.maxConnections)
        authorizerStats = AuthorizerStatsReporter(shared: shared)
    }

    enum TLSShutdown {
        static let timeout: TimeAmount = .milliseconds(500)
    }

    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

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
        // Mozilla's "intermediate" profile for TLS 1.2: forward secrecy and AEAD only, no CBC or
        // SHA-1 suites (TLS 1.3's suites are all AEAD). BoringSSL has no DHE.
        configuration.cipherSuites = GatewayServer.tls12CipherSuites
        configuration.applicationProtocols = ["h2", "http/1.1"]
        // When the gateway closes a connection it sends close_notify and waits this long for the
        // client's; a client that does not read must not hold its connection longer.
        configuration.shutdownTimeout = TLSShutdown.timeout
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
        do {
            try install(runtime)
            shared.metrics.reloaded(ok: true)
        } catch {
            shared.metrics.reloaded(ok: false)
            throw error
        }
    }

    /// A reload whose configuration did not compile (counted in `gateway_config_reloads_total`).
    public func reloadRefused() { shared.metrics.reloaded(ok: false) }

    /// The Prometheus text for `/metrics`.
    public func metricsText() async -> String {
        shared.metrics.scrape(loops: await shared.metricsSnapshots(), authorizers: runtime.authorizers.all)
    }

    /// The registry the gateway's metrics live in (the `serve` command bootstraps swift-metrics with it).
    public var metricsRegistry: PrometheusCollectorRegistry { shared.metrics.registry }

    private func install(_ runtime: GatewayRuntime) throws {
        if let refusal = shared.policies.checkReload(state: runtime.plan.config.state) {
            throw ConfigErrors([ConfigError(file: runtime.plan.config.file, refusal)])
        }
        try openPolicyStore(runtime.plan)
        let migrationStore = try openMigrationStore(runtime.plan)
        authorizerStats.report()
        try shared.install(runtime)
        if let migrationStore { shared.migrations.attach(migrationStore) }
    }

    /// The state store for migrating routes (their stage survives restarts), when some route migrates.
    private func openMigrationStore(_ plan: GatewayPlan) throws -> (any StateBackend)? {
        guard plan.operations.contains(where: { if case .migration = $0.action { return true } else { return false } }) else {
            return nil
        }
        do {
            return try shared.policies.backend(plan.config.state)
        } catch {
            throw ConfigErrors([ConfigError(file: Self.displayed(plan.config.state), "cannot open the state store (state: in \(plan.config.file)): \(error)")])
        }
    }

    /// Opens the state store when some operation asks for an API key (or, with a shared state,
    /// has a limit: its buckets live there too).
    private func openPolicyStore(_ plan: GatewayPlan) throws {
        let shared = self.shared.policies.shared != nil
        guard plan.operations.contains(where: { $0.apiKey != nil || (shared && $0.throttle != nil) }) else { return }
        do {
            try self.shared.policies.open(location: plan.config.state, plans: plan.config.plans)
        } catch {
            throw ConfigErrors([ConfigError(file: Self.displayed(plan.config.state), "cannot open the state store (state: in \(plan.config.file)): \(error)")])
        }
    }

    /// `state` as errors and logs show it: a Redis URL without its password.
    static func displayed(_ state: String) -> String {
        guard RedisConfiguration.isRedisURL(state), let redis = try? RedisConfiguration(url: state) else { return state }
        return redis.redacted
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
    /// Client connections open now.
    public var openConnections: Int { connections.count }

    public var httpAddress: SocketAddress? { addresses.withLockedValue { $0.http } }

    /// Like `reload`, but first starts the workers of new or changed process functions and waits
    /// (at most `workerWarmup`) until they are warm, so no request waits for a cold start.
    public func reloadWarm(_ runtime: GatewayRuntime) async throws {
        _ = shared.workers.prepare(runtime.plan.config)
        await shared.workers.settled(limit: Self.workerWarmup)
        try reload(runtime)
    }

    /// How long `start` and `reloadWarm` wait for process functions' workers to be warm.
    static let workerWarmup: TimeAmount = .seconds(30)

    /// The worker pool of process function `name` (for tests and diagnostics).
    public func functionPool(_ name: String) -> ProcessFunctionPool? { shared.workers.active(name) }

    /// Binds the listeners named in the configuration, once the process functions' workers are
    /// warm (or have failed to start: their routes answer 503 and they keep being retried).
    public func start() async throws {
        await shared.workers.settled(limit: Self.workerWarmup)
        try openPolicyStore(shared.runtime.plan)
        if let store = try openMigrationStore(shared.runtime.plan) { shared.migrations.attach(store) }
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
        shared.tracing?.start()
        started.store(true, ordering: .relaxed)
    }

    private func bind(_ address: GatewayConfig.ListenAddress, tls: NIOSSLContext?) async throws -> any Channel {
        let shared = self.shared
        let connections = self.connections
        let limits = shared.runtime.plan.config.limits
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // A connection keeps its read buffer between reads; NIO's first one is 2 KiB. Most
            // requests fit in 512 bytes, and the buffer grows after a read that fills it.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .childChannelInitializer { channel in
                let record = connections.register(channel)
                if let tls {
                    return channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLServerHandler(context: tls))
                        // After the TLS handler: the handshake-completed event goes from it towards
                        // the tail, and only what comes after it sees the event and stops the timer.
                        try sync.addHandler(HandshakeTimeout(timeout: TimeAmount(limits.handshakeTimeout)))
                    }.flatMap {
                        channel.configureHTTP2SecureUpgrade(
                            h2ChannelConfigurator: { connection in
                                GatewayServer.configureHTTP2(connection, shared: shared, limits: limits, record: record)
                            },
                            http1ChannelConfigurator: { connection in
                                connection.eventLoop.makeCompletedFuture {
                                    try GatewayServer.configureHTTP1(connection, scheme: "https", shared: shared,
                                                                     limits: limits, record: record)
                                }
                            })
                    }
                } else {
                    return channel.eventLoop.makeCompletedFuture {
                        try GatewayServer.configureHTTP1(channel, scheme: "http", shared: shared, limits: limits, record: record)
                    }
                }
            }
        do {
            let channel = try await bootstrap.bind(host: address.host, port: address.port).get()
            channels.withLockedValue { $0.append(channel) }
            connections.addListener(channel)
            return channel
        } catch {
            throw ConfigErrors([ConfigError(file: shared.runtime.plan.config.file, "cannot listen on \(address): \(error)")])
        }
    }

    static func configureHTTP1(_ channel: any Channel, scheme: String, shared: ServerShared,
                               limits: GatewayConfig.Limits, record: ConnectionRegistry.Record?) throws {
        let sync = channel.pipeline.syncOperations
        // No pipelining assistance: it pauses reading after every request (two epoll_ctl calls per
        // request); GatewayHandler queues the rare pipelined request itself. Parser errors get the
        // error contract's 400 from GatewayHandler too.
        // No outbound header validation handler either: what the gateway writes is request heads
        // parsed by its own decoder or NIO's, headers it makes itself, and function headers it
        // checks (FunctionEventBuilder).
        // The gateway's request decoder (the common heads; NIO's request decoder for anything
        // else), and its response encoder (HTTP1ResponseEncoder: one write per head), which
        // GatewayHandler tells each request's method and calls directly.
        let encoder = HTTP1ResponseEncoder()
        // NIO counts the bytes of header names and values and the number of fields; over either
        // is a 431. GatewayHandler measures the whole head (request line and separators too).
        let decoder = HTTP1RequestDecoder(maxHeadBytes: limits.maxHeaderBytes, maxFields: limits.maxHeaders)
        let gateway = GatewayHandler(shared: shared, connection: .init(
            scheme: scheme, isHTTP2: false, idleTimeout: TimeAmount(limits.idleTimeout),
            headerTimeout: TimeAmount(limits.headerTimeout), bodyTimeout: TimeAmount(limits.bodyTimeout),
            record: record, responseEncoder: encoder))
        // The two are next to each other, and stay so: the decoder hands its parts to the
        // gateway's handler directly.
        decoder.receiver = gateway
        try sync.addHandler(HTTP1DecodeHandler(decoder))
        try sync.addHandler(gateway)
    }

    /// NIOHTTP2's limits, set explicitly (README: "HTTP/2 limits").
    static func http2Configuration(_ limits: GatewayConfig.Limits) -> NIOHTTP2Handler.Configuration {
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.maxConcurrentStreams),
            // The decoded header list may reach twice limits.maxHeaderBytes before NIOHTTP2 ends
            // the connection; between one and two times, GatewayHandler answers 431 on the stream.
            HTTP2Setting(parameter: .maxHeaderListSize, value: 2 * limits.maxHeaderBytes),
        ]
        configuration.connection.maximumSequentialContinuationFrames = 5
        configuration.connection.maximumSequentialEmptyDataFrames = 1
        configuration.connection.maximumBufferedControlFrames = 1000
        configuration.connection.maximumRecentlyResetStreams = 32
        configuration.connection.maximumConnectionGlitches = 200
        // The client's header blocks are checked by HTTP2RequestBlock in each stream's first
        // handler (HTTP2StreamCodec), the gateway's own where they are made: NIOHTTP2's checks,
        // which run on both, cost 10% of an HTTP/2 request. Content-Length checks stay on.
        configuration.connection.headerBlockValidation = .disabled
        configuration.connection.controlFrameRateLimit.maximumCount = 200
        configuration.connection.controlFrameRateLimit.windowLength = .seconds(30)
        configuration.stream.streamResetFrameRateLimit.maximumCount = 200
        configuration.stream.streamResetFrameRateLimit.windowLength = .seconds(30)
        configuration.stream.streamErrorRateLimit.maximumCount = 200
        configuration.stream.streamErrorRateLimit.windowLength = .seconds(30)
        return configuration
    }

    static func configureHTTP2(_ channel: any Channel, shared: ServerShared, limits: GatewayConfig.Limits,
                               record: ConnectionRegistry.Record?) -> EventLoopFuture<Void> {
        let configuration = http2Configuration(limits)
        let logger = shared.logger
        record?.markHTTP2()
        return channel.eventLoop.makeCompletedFuture {
            var guardLimits = HTTP2AbuseMonitor.Limits()
            guardLimits.headerTimeout = Int64(TimeAmount(limits.headerTimeout).nanoseconds)
            guardLimits.idleTimeout = Int64(TimeAmount(limits.idleTimeout).nanoseconds)
            // The guard below the coalescer: it scans what leaves as the coalescer gathered it,
            // one buffer per flush instead of three per response.
            try channel.pipeline.syncOperations.addHandler(HTTP2ConnectionGuard(limits: guardLimits) { reason in
                logger.info("closing an HTTP/2 connection", metadata: ["reason": "\(reason)"])
            })
            try channel.pipeline.syncOperations.addHandler(FlushCoalescer())
            // NIOHTTP2's handler without its stream multiplexer: the streams are not channels,
            // HTTP2Connection keeps them (and sees each DATA frame leave, as the frame delegate).
            let bodyTimeout = TimeAmount(limits.bodyTimeout)
            let streams = HTTP2Connection(windows: .init(configuration.connection, configuration.stream),
                                          fieldIndexing: HTTP2FieldIndexing()) { codec in
                GatewayHandler(shared: shared, connection: .init(
                    scheme: "https", isHTTP2: true, bodyTimeout: bodyTimeout, record: record, streamCodec: codec))
            }
            try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(
                mode: .server, frameDelegate: streams, connectionConfiguration: configuration.connection,
                streamConfiguration: configuration.stream))
            try channel.pipeline.syncOperations.addHandler(streams)
        }
    }

    /// Whether the gateway drains (`/readyz` answers 503).
    public var isDraining: Bool { stopping.withLockedValue { $0 } }

    public enum Readiness: String, Sendable {
        case ready, starting, draining
        /// Some process function has no worker that started.
        case workersNotWarm = "workers not warm"
    }

    /// `/readyz`: ready once the listeners are bound and every process function has a worker
    /// that started; not while draining.
    public var readiness: Readiness {
        if isDraining { return .draining }
        if !started.load(ordering: .relaxed) { return .starting }
        return shared.workers.allWarm ? .ready : .workersNotWarm
    }
    private let started = ManagedAtomic(false)

    /// Drains and stops: stops listening; HTTP/1.1 connections close after their current response
    /// (idle ones at once), HTTP/2 connections get GOAWAY and close once their streams are
    /// answered; what is still open after `shutdownTimeout` is closed. Then it waits (up to
    /// `calloutGrace`) for function invocations and authorizer callouts to come back to their
    /// event loops, stops function workers, closes pooled upstream connections, writes the last
    /// quota counts, and shuts the event loops down — in that order, so nothing is ever scheduled
    /// on a loop that has stopped. Safe to call twice.
    public func shutdown() async throws {
        guard stopping.withLockedValue({ stopping in defer { stopping = true }; return !stopping }) else { return }
        for channel in channels.withLockedValue({ $0 }) {
            try? await channel.close()
        }
        let open = connections.all()
        for record in open {
            record.quiesce()
            record.channel.eventLoop.execute {
                if record.isHTTP2 {
                    // HTTP2Connection: GOAWAY, and the close once its last stream is done.
                    record.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                } else if record.active == 0 {
                    // A response that ended in this tick may wait for the loop's end-of-tick
                    // flush (`LoopFlusher`), which runs after this task: it goes out first.
                    record.channel.flush()
                    record.channel.close(promise: nil)
                }
            }
        }
        let drainDeadline = ContinuousClock.now + shared.runtime.plan.config.shutdownTimeout
        while connections.count > 0 && ContinuousClock.now < drainDeadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let left = connections.all()
        if !left.isEmpty {
            shared.logger.warning("closing connections still busy after shutdownTimeout", metadata: ["count": "\(left.count)"])
        }
        for record in left { record.channel.close(promise: nil) }
        for record in left { try? await record.channel.closeFuture.get() }
        let deadline = ContinuousClock.now + Self.calloutGrace
        while shared.work.current > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if shared.work.current > 0 {
            shared.logger.warning("stopping with callouts still running", metadata: ["count": "\(shared.work.current)"])
        }
        await shared.closePools()
        shared.policies.stop()
        authorizerStats.stop()
        await shared.tracing?.stop()
        try await group.shutdownGracefully()
    }

    /// How long shutdown waits for running functions and authorizer callouts.
    static let calloutGrace: Duration = .seconds(10)

    /// Waits until the listeners close.
    public func waitUntilClosed() async throws {
        let all = channels.withLockedValue { $0 }
        for channel in all {
            try await channel.closeFuture.get()
        }
    }
}

