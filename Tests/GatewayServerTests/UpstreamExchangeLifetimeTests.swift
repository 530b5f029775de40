import GatewayCore
import GatewayPlan
@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// What an exchange hands to the client's side.
final class RecordingDispatchSink: DispatchSink {
    var events: [String] = []
    var downstreamIsWritable: Bool { true }
    func dispatch(_ id: UInt64, head: consuming HTTPResponseHead) { events.append("head \(head.status.code)") }
    func dispatch(_ id: UInt64, forwarded head: consuming UpstreamResponseHead) { events.append("head \(head.status.code)") }
    func dispatch(_ id: UInt64, body: ByteBuffer) { events.append("body \(String(buffer: body))") }
    func dispatchEnded(_ id: UInt64) { events.append("end") }
    func dispatch(_ id: UInt64, failed error: GatewayError, reason: String) { events.append("failed \(error.status)") }
    func dispatch(_ id: UInt64, writable: Bool) {}
    func dispatchFlush(_ id: UInt64) {}
}

/// A connection holds the exchange using it strongly (`UpstreamHandler.delegate`): on every way an
/// exchange ends it must let go of its connection, or the two keep each other alive (and the
/// request's context and buffers with them) for as long as the connection lives.
@Suite struct UpstreamExchangeLifetimeTests {
    /// A live connection on an embedded channel, idle in a pool, and a started exchange that takes
    /// it up; only a weak reference to the exchange stays here.
    final class Setup {
        let channel = EmbeddedChannel()
        let handler = UpstreamHandler(encoder: UpstreamRequestEncoder())
        let pool: UpstreamPool
        let sink = RecordingDispatchSink()
        weak var exchange: UpstreamExchange?

        init() throws {
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
            pool = UpstreamPool(eventLoop: channel.eventLoop)
            let upstream = Upstream(name: "legacy", targets: [Upstream.Target(tls: false, host: "backend", port: 8080, basePath: "")])
            let dispatcher = UpstreamDispatcher(upstream: upstream, timeout: .seconds(30), tls: nil, tlsSettings: "")
            pool.release(handler, key: dispatcher.poolKeys[0], maxIdle: 4)
            let request = TestRuntime.context(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/item/1",
                                                              headers: ["host": "gw.example"]))
            let started = UpstreamExchange(dispatcher: dispatcher, request: request, loop: channel.eventLoop,
                                           pool: pool, headBuffers: HeadBuffers(),
                                           flusher: LoopFlusher(loop: channel.eventLoop), sink: sink)
            started.start(.whole(nil))
            exchange = started
        }

        /// The request the exchange wrote on the connection.
        func sentRequestLine() throws -> String? {
            var sent = ""
            while let part = try channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = part { sent += String(buffer: buffer) }
            }
            return sent.split(separator: "\r\n").first.map(String.init)
        }
    }

    @Test func anExchangeThatEndsIsFreedAndItsConnectionGoesBackToThePool() throws {
        let setup = try Setup()
        #expect(try setup.sentRequestLine() == "GET /item/1 HTTP/1.1", "the pooled connection was taken up")
        #expect(setup.exchange != nil, "while it runs, the exchange keeps itself")
        try setup.channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        #expect(setup.sink.events == ["head 200", "body ok", "end"])
        #expect(setup.exchange == nil, "the connection must not keep an exchange that ended")
        #expect(setup.handler.delegate == nil)
        #expect(setup.handler.pooled, "a clean keep-alive answer returns the connection to the pool")
        _ = try? setup.channel.finish()
    }

    @Test func anExchangeWhoseConnectionClosesMidResponseIsFreed() throws {
        let setup = try Setup()
        _ = try setup.sentRequestLine()
        try setup.channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart"))
        setup.channel.pipeline.fireChannelInactive()
        #expect(setup.sink.events == ["head 200", "body part", "failed 502"])
        #expect(setup.exchange == nil)
        _ = try? setup.channel.finish()
    }

    @Test func aCancelledExchangeIsFreed() throws {
        let setup = try Setup()
        _ = try setup.sentRequestLine()
        setup.exchange?.cancel()
        #expect(setup.exchange == nil, "a cancelled exchange closes its connection and lets go of it")
        #expect(setup.handler.delegate == nil)
        _ = try? setup.channel.finish()
    }
}
