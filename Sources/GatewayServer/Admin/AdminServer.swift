import Foundation
import GatewayCore
import GatewayPlan
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin listener (`admin.listen`, plain HTTP, loopback by default): `GET /healthz`,
/// `GET /readyz` and `GET /metrics` open; `GET /admin/routes`, `GET /admin/config` and
/// `POST /admin/reload` behind `Authorization: Bearer <admin.token>` (401 otherwise, in the error
/// contract's shape). It runs apart from the gateway's event loops.
public final class AdminServer: Sendable {
    /// What a reload did: nil when it was applied, else why it was refused.
    public typealias Reload = @Sendable () async -> [String]?

    private let gateway: GatewayServer
    private let settings: GatewayConfig.Admin
    private let reload: Reload
    private let metrics: (@Sendable () async -> String)?
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    public init(gateway: GatewayServer, settings: GatewayConfig.Admin, metrics: (@Sendable () async -> String)? = nil,
                reload: @escaping Reload) {
        self.gateway = gateway
        self.settings = settings
        self.metrics = metrics
        self.reload = reload
    }

    public var port: Int? { channel.withLockedValue { $0?.localAddress?.port } }

    public func start() async throws {
        // NIO's singleton group, not the gateway's: it keeps answering /readyz while the gateway's
        // loops drain and stop.
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(server: self))
                }
            }
        do {
            let bound = try await bootstrap.bind(host: settings.listen.host, port: settings.listen.port).get()
            channel.withLockedValue { $0 = bound }
        } catch {
            throw ConfigErrors([ConfigError(file: gateway.runtime.plan.config.file, "cannot listen on admin.listen \(settings.listen): \(error)")])
        }
    }

    public func stop() async {
        let c = channel.withLockedValue { $0 }
        try? await c?.close()
    }

    // MARK: answers (called by AdminHandler)

    struct Answer {
        var status: HTTPResponseStatus
        var contentType = "application/json"
        var body: [UInt8]

        static func json(_ value: JSONValue, _ status: HTTPResponseStatus = .ok) -> Answer {
            Answer(status: status, body: value.serializedBytes())
        }
        static func error(_ error: GatewayError) -> Answer {
            Answer(status: .init(statusCode: error.status), body: error.body.serializedBytes())
        }
    }

    func answer(method: HTTPMethod, path: String, authorization: String?) async -> Answer {
        switch (method, path) {
        case (.GET, "/healthz"):
            return .json(["status": "ok"])
        case (.GET, "/readyz"):
            let state = gateway.readiness
            return .json(["status": .string(state.rawValue)], state == .ready ? .ok : .serviceUnavailable)
        case (.GET, "/metrics"):
            guard let metrics else { return .error(.notFound) }
            return Answer(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(await metrics().utf8))
        case (_, "/healthz"), (_, "/readyz"), (_, "/metrics"):
            return .error(.methodNotAllowed(allow: ["GET"]))
        default:
            break
        }
        guard path.hasPrefix("/admin/") else { return .error(.notFound) }
        guard let token = settings.token, let authorization, Self.matches(authorization, token: token) else {
            return .error(.unauthorized)
        }
        switch (method, path) {
        case (.GET, "/admin/routes"):
            return .json(routes())
        case (.GET, "/admin/config"):
            let runtime = gateway.runtime
            return .json([
                "digest": .string(runtime.digest), "loadedAt": .string(WallClock.iso8601(milliseconds: runtime.loadedAt)),
                "file": .string(runtime.plan.config.file), "operations": .int(Int64(runtime.plan.operations.count)),
                "documents": .array(runtime.plan.documents.map { .string($0) }),
            ])
        case (.POST, "/admin/reload"):
            if let errors = await reload() {
                return .json(["message": "Reload refused; the running configuration is kept",
                              "errors": .array(errors.map { .string($0) })], .unprocessableEntity)
            }
            return .json(["message": "Reloaded", "digest": .string(gateway.runtime.digest)])
        case (_, "/admin/routes"), (_, "/admin/config"):
            return .error(.methodNotAllowed(allow: ["GET"]))
        case (_, "/admin/reload"):
            return .error(.methodNotAllowed(allow: ["POST"]))
        default:
            return .error(.notFound)
        }
    }

    /// `Bearer <token>`, compared in constant time.
    static func matches(_ authorization: String, token: String) -> Bool {
        guard authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return false }
        let given = Array(authorization.dropFirst(7).utf8), expected = Array(token.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
        return difference == 0
    }

    private func routes() -> JSONValue {
        let plan = gateway.runtime.plan
        var out: [JSONValue] = plan.operations.map { op in
            var o: [String: JSONValue] = [
                "method": .string(op.method ?? "ANY"), "path": .string(op.path), "route": .string(op.routeName),
                "target": .string(op.target.description), "action": .string(op.action.description),
                "policies": .array(plan.policies(of: op).map { .string($0) }), "document": .string(op.document),
            ]
            if let id = op.operationId { o["operationId"] = .string(id) }
            return .object(o)
        }
        if let name = plan.config.defaultUpstream {
            out.append(["method": "*", "path": "(anything else)", "route": "default", "target": .string("upstream \(name)"),
                        "document": .string(plan.config.file)])
        }
        return .array(out)
    }
}

/// One admin connection: reads a request, answers it.
final class AdminHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: AdminServer
    private var head: HTTPRequestHead?

    init(server: AdminServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let server = self.server
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let authorization = head.headers.first(name: "authorization")
            let keepAlive = head.isKeepAlive
            let version = head.version
            Task {
                let answer = await server.answer(method: head.method, path: path, authorization: authorization)
                loop.execute {
                    let (handler, context) = bound.value
                    handler.write(answer, version: version, keepAlive: keepAlive, context: context)
                }
            }
        }
    }

    private func write(_ answer: AdminServer.Answer, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: answer.contentType)
        headers.add(name: "content-length", value: String(answer.body.count))
        headers.add(name: "cache-control", value: "no-store")
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: answer.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: answer.body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
