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
    var parts: [HTTPClientResponsePart] = []
    func upstreamResponse(_ part: HTTPClientResponsePart) { parts.append(part) }
    func upstreamReadComplete() {}
    func upstreamWritabilityChanged(isWritable: Bool) {}
    func upstreamClosed(error: (any Error)?) {}
    var deadlinesPassed = 0
    func upstreamDeadlinePassed() { deadlinesPassed += 1 }
}

@Suite struct UpstreamHandlerTests {
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
