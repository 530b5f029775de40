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
}
