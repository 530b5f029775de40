@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// Counts the reads that reach the head of the pipeline.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    var reads = 0
    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

final class StubDelegate: UpstreamDelegate {
    var downstreamIsWritable = false
    var parts: [UpstreamResponsePart] = []
    func upstreamResponse(_ part: UpstreamResponsePart) { parts.append(part) }
    func upstreamReadComplete() {}
    func upstreamWritabilityChanged(isWritable: Bool) {}
    func upstreamClosed(error: (any Error)?) {}
    var deadlinesPassed = 0
    func upstreamDeadlinePassed() { deadlinesPassed += 1 }
}

/// Sends the next request from inside the previous response's end, as an exchange that gives
/// the connection back to the pool and a waiting one that takes it up would.
final class ReusingDelegate: UpstreamDelegate {
    let handler: UpstreamHandler
    var requests = 1
    var parts: [UpstreamResponsePart] = []
    var closed: [String] = []
    init(_ handler: UpstreamHandler) { self.handler = handler }
    var downstreamIsWritable: Bool { true }
    var onHead: (() -> Void)?
    func upstreamResponse(_ part: UpstreamResponsePart) {
        parts.append(part)
        if case .head = part, let onHead {
            self.onHead = nil
            onHead()
        }
        if case .end = part, requests < 2 {
            requests += 1
            handler.send(head: UpstreamRequestHead(bytes: ByteBuffer(string: "GET /2 HTTP/1.1\r\n\r\n"), method: .GET, chunked: false))
        }
    }
    func upstreamReadComplete() {}
    func upstreamWritabilityChanged(isWritable: Bool) {}
    func upstreamClosed(error: (any Error)?) { closed.append(error.map { "\($0)" } ?? "closed") }
    func upstreamDeadlinePassed() {}
}

@Suite struct UpstreamHandlerTests {
    /// A connection with a handler, its delegate, and one GET sent.
    static func connection() throws -> (EmbeddedChannel, UpstreamHandler, ReusingDelegate) {
        let channel = EmbeddedChannel()
        let handler = UpstreamHandler(encoder: UpstreamRequestEncoder())
        try channel.pipeline.syncOperations.addHandler(handler)
        let delegate = ReusingDelegate(handler)
        handler.delegate = delegate
        handler.send(head: UpstreamRequestHead(bytes: ByteBuffer(string: "GET /1 HTTP/1.1\r\n\r\n"), method: .GET, chunked: false))
        return (channel, handler, delegate)
    }

    @Test func aResponseSplitAcrossReadsIsParsedAndTheNextRequestMayGoOutWhileOneIsHandedOn() throws {
        let (channel, _, delegate) = try Self.connection()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nConte"))
        #expect(delegate.parts.isEmpty)
        try channel.writeInbound(ByteBuffer(string: "nt-Length: 2\r\n\r\nokHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx"))
        #expect(UpstreamResponseParserTests.describe(delegate.parts)
            == ["head 1.1 200 Content-Length=2", "body ok", "end", "head 1.1 201 Content-Length=1", "body x", "end"])
        #expect(delegate.closed.isEmpty)
        _ = try? channel.finish()
    }

    @Test func aReadThatArrivesWhilePartsAreHandedOnIsParsedAfterThem() throws {
        let (channel, _, delegate) = try Self.connection()
        delegate.requests = 2
        // While the head is handed on, the rest of the body arrives (as a TLS handler delivers
        // buffered bytes when asked for a read).
        delegate.onHead = { try? channel.writeInbound(ByteBuffer(string: "lo")) }
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"))
        #expect(UpstreamResponseParserTests.describe(delegate.parts) == ["head 1.1 200 Content-Length=5", "body hello", "end"])
        _ = try? channel.finish()
    }

    @Test func aMalformedResponseClosesTheConnectionAndTellsTheDelegate() throws {
        let (channel, _, delegate) = try Self.connection()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"))
        #expect(delegate.parts.isEmpty)
        #expect(delegate.closed.count == 1 && delegate.closed[0].contains("Content-Length"))
        #expect(!channel.isActive)
    }

    @Test func theCloseEndsABodyReadUntilIt() throws {
        let (channel, _, delegate) = try Self.connection()
        delegate.requests = 2
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\nuntil the end"))
        #expect(UpstreamResponseParserTests.describe(delegate.parts) == ["head 1.1 200 ", "body until the end"])
        channel.pipeline.fireChannelInactive()
        #expect(UpstreamResponseParserTests.describe(delegate.parts) == ["head 1.1 200 ", "body until the end", "end"])
        _ = try? channel.finish()
    }

    @Test func readsHeldForASlowClientAreReleasedWhenTheConnectionIsPooled() throws {
        let counter = ReadCounter()
        let handler = UpstreamHandler()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(handler)
        let delegate = StubDelegate()
        handler.delegate = delegate
        let before = counter.reads
        channel.read()
        #expect(counter.reads == before, "the client is not writable: the read must be held")
        handler.delegate = nil
        #expect(counter.reads == before + 1, "a pooled connection must read again")
    }

    @Test func heldReadsResumeWhenTheClientDrains() throws {
        let counter = ReadCounter()
        let handler = UpstreamHandler()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(handler)
        let delegate = StubDelegate()
        handler.delegate = delegate
        let before = counter.reads
        channel.read()
        #expect(counter.reads == before)
        delegate.downstreamIsWritable = true
        handler.resumeReads()
        #expect(counter.reads == before + 1)
        channel.read()
        #expect(counter.reads == before + 2)
    }

    @Test func aWatchedDeadlineReachesTheDelegateThatSetItOnlyWhenItPasses() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: nil, loop: loop)
        let handler = UpstreamHandler()
        try channel.pipeline.syncOperations.addHandler(handler)
        let first = StubDelegate(), second = StubDelegate()
        handler.delegate = first
        #expect(handler.watch(loop.now + .seconds(1)))
        loop.advanceTime(by: .milliseconds(900))
        #expect(first.deadlinesPassed == 0)
        loop.advanceTime(by: .milliseconds(200))
        #expect(first.deadlinesPassed == 1)

        // An exchange that ends in time only clears its deadline; the next one's later deadline is
        // met by the same timer, re-armed when it fires.
        #expect(handler.watch(loop.now + .seconds(1)))
        handler.delegate = nil
        handler.delegate = second
        #expect(handler.watch(loop.now + .seconds(3)))
        loop.advanceTime(by: .seconds(2))
        #expect(first.deadlinesPassed == 1 && second.deadlinesPassed == 0)
        loop.advanceTime(by: .milliseconds(1100))
        #expect(second.deadlinesPassed == 1)

        // An earlier deadline than the one the timer waits for is not missed.
        #expect(handler.watch(loop.now + .seconds(5)))
        #expect(handler.watch(loop.now + .seconds(1)))
        loop.advanceTime(by: .milliseconds(1100))
        #expect(second.deadlinesPassed == 2)
        _ = try channel.finish()
    }
}
