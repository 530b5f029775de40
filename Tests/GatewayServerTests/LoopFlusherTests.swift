@testable import GatewayServer
import NIOCore
import NIOEmbedded
import Testing

@Suite struct LoopFlusherTests {
    /// Marks where a channel's pipeline ends, so that the test holds its context.
    final class End: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
    }

    /// A channel on `loop` with `text` written to it, not flushed, and its end's context.
    private func written(_ text: String, on loop: EmbeddedEventLoop) throws -> (EmbeddedChannel, ChannelHandlerContext) {
        let channel = EmbeddedChannel(handler: End(), loop: loop)
        channel.write(ByteBuffer(string: text), promise: nil)
        return (channel, try channel.pipeline.syncOperations.context(handlerType: End.self))
    }

    private func sent(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    @Test func theFlushesOfATickWaitForItsEndAndThenReachEveryConnection() throws {
        let loop = EmbeddedEventLoop()
        let flusher = LoopFlusher(loop: loop)
        let (first, firstContext) = try written("first", on: loop)
        let (second, secondContext) = try written("second", on: loop)
        flusher.flush(firstContext)
        flusher.flush(secondContext)
        #expect(try sent(first) == "")
        #expect(try sent(second) == "")
        loop.run()
        #expect(try sent(first) == "first")
        #expect(try sent(second) == "second")
        _ = try first.finish()
        _ = try second.finish()
    }

    @Test func aFlushAskedForWhileTheTickFlushesGoesInTheNextTask() throws {
        let loop = EmbeddedEventLoop()
        let flusher = LoopFlusher(loop: loop)
        let (first, firstContext) = try written("first", on: loop)
        let (second, secondContext) = try written("second", on: loop)
        // The first flush completes a write whose callback writes to the second connection and
        // asks for its flush, as a response that completes and lets the next one start.
        first.write(ByteBuffer(string: "!"), promise: nil)
        let done = loop.makePromise(of: Void.self)
        first.write(ByteBuffer(), promise: done)
        done.futureResult.assumeIsolated().whenSuccess { flusher.flush(secondContext) }
        flusher.flush(firstContext)
        loop.run()
        #expect(try sent(first) == "first!")
        #expect(try sent(second) == "second")
        _ = try first.finish()
        _ = try second.finish()
    }
}
