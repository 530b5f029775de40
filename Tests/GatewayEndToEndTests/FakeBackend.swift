import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An in-process legacy backend on loopback. Routes:
/// - `/slow`: answers after 3 seconds;
/// - `/hangup`: closes the connection without answering;
/// - `/download?bytes=N`: streams N bytes, one 64 KiB chunk after the previous one was written;
/// - `/upload-slow`: reads the body slowly (1 ms pause per read; `/upload-slower`: 10 ms) and
///   answers its size;
/// - `/health`: answers `control.health` (counted apart from other requests);
/// - anything else: answers JSON describing the request (method, uri, headers, body size), with
///   `control.status`, or closes the connection at the head when `control.reset` is set.
final class FakeBackend: Sendable {
    /// What the backend does, changed by tests while it runs.
    struct Control {
        var status = 200
        var health = 200
        var reset = false
        /// Answers wait this long.
        var delay: Duration?
        /// Answers carry a random `nonce` (a backend that disagrees with itself).
        var nonce = false
        var healthChecks = 0
        var healthUserAgent: String?
    }

    let channel: any Channel
    let name: String
    private let counters: NIOLockedValueBox<(connections: Int, requests: Int)>
    let control: NIOLockedValueBox<Control>

    var port: Int { channel.localAddress!.port! }
    var connections: Int { counters.withLockedValue { $0.connections } }
    /// Requests other than health checks.
    var requests: Int { counters.withLockedValue { $0.requests } }
    var healthChecks: Int { control.withLockedValue { $0.healthChecks } }

    static func start(name: String = "legacy", tls: NIOSSLContext? = nil) async throws -> FakeBackend {
        let counters = NIOLockedValueBox<(connections: Int, requests: Int)>((0, 0))
        let control = NIOLockedValueBox(Control())
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.withLockedValue { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(name: name, counters: counters, control: control))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeBackend(channel: channel, name: name, counters: counters, control: control)
    }

    private init(channel: any Channel, name: String, counters: NIOLockedValueBox<(connections: Int, requests: Int)>,
                 control: NIOLockedValueBox<Control>) {
        self.channel = channel
        self.name = name
        self.counters = counters
        self.control = control
    }

    func stop() async {
        try? await channel.close()
    }
}

final class BackendHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    let counters: NIOLockedValueBox<(connections: Int, requests: Int)>
    let control: NIOLockedValueBox<FakeBackend.Control>
    var head: HTTPRequestHead?
    var bodyBytes = 0
    var slowReads = false
    /// The pause before each read while reading slowly.
    var readPause = TimeAmount.milliseconds(1)

    init(name: String, counters: NIOLockedValueBox<(connections: Int, requests: Int)>, control: NIOLockedValueBox<FakeBackend.Control>) {
        self.name = name
        self.counters = counters
        self.control = control
    }

    func read(context: ChannelHandlerContext) {
        if slowReads {
            context.eventLoop.assumeIsolated().scheduleTask(in: readPause) { context.read() }
        } else {
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            if h.uri == "/health" {
                control.withLockedValue { $0.healthChecks += 1; $0.healthUserAgent = h.headers.first(name: "user-agent") }
                return
            }
            counters.withLockedValue { $0.requests += 1 }
            if control.withLockedValue({ $0.reset }) {
                context.close(promise: nil)
                return
            }
            bodyBytes = 0
            slowReads = h.uri.hasPrefix("/upload-slow")
            readPause = .milliseconds(h.uri.hasPrefix("/upload-slower") ? 10 : 1)
            if h.uri.hasPrefix("/hangup") { context.close(promise: nil) }
        case .body(let b):
            bodyBytes += b.readableBytes
        case .end:
            guard let head else { return }
            slowReads = false
            if head.uri == "/health" {
                let status = control.withLockedValue { $0.health }
                let h = HTTPHeaders([("content-length", "0")])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: h))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else if head.uri.hasPrefix("/slow") {
                context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(3)) { self.answer(context, head) }
            } else if head.uri.hasPrefix("/download") {
                let n = Int(head.uri.split(separator: "=").last ?? "0") ?? 0
                var h = HTTPHeaders([("content-type", "application/octet-stream"), ("content-length", "\(n)")])
                h.add(name: "x-backend", value: name)
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: h))), promise: nil)
                stream(context, remaining: n)
            } else if let delay = control.withLockedValue({ $0.delay }) {
                context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(delay.components.seconds) * 1_000_000_000
                    + delay.components.attoseconds / 1_000_000_000)) { self.answer(context, head) }
            } else {
                answer(context, head)
            }
        }
    }

    private func stream(_ context: ChannelHandlerContext, remaining: Int) {
        if remaining == 0 {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let n = min(remaining, 65_536)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(repeating: 0x61, count: n)))))
            .assumeIsolated().whenSuccess { self.stream(context, remaining: remaining - n) }
    }

    private func answer(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        var headers: [String: [String]] = [:]
        for (k, v) in head.headers { headers[k.lowercased(), default: []].append(v) }
        var object: [String: Any] = ["backend": name, "method": head.method.rawValue, "uri": head.uri,
                                     "headers": headers, "bodyBytes": bodyBytes]
        if control.withLockedValue({ $0.nonce }) { object["nonce"] = UUID().uuidString }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        var h = HTTPHeaders([("content-type", "application/json"), ("content-length", "\(data.count)"),
                             ("connection", "keep-alive"), ("keep-alive", "timeout=60"), ("x-backend", name)])
        h.add(name: "x-internal", value: "secret")
        h.add(name: "connection", value: "x-internal")
        let status = control.withLockedValue { $0.status }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: h))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
