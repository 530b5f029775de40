import NIOCore
import NIOEmbedded
@testable import GatewayServer
import Testing

/// Counts the flushes that reach it (it sits between the channel's head and the coalescer).
final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    var flushes = 0

    func flush(context: ChannelHandlerContext) {
        flushes += 1
        context.flush()
    }
}

@Suite struct FlushCoalescerTests {
    func channel() throws -> (EmbeddedChannel, FlushCounter) {
        let counter = FlushCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(FlushCoalescer())
        return (channel, counter)
    }

    func outbound(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(String(buffer: buffer)) }
        return out
    }

    @Test func theFlushesOfOneTickLeaveAsOneAtItsEnd() throws {
        let (channel, counter) = try channel()
        for part in ["a", "b", "c"] {
            channel.write(ByteBuffer(string: part), promise: nil)
            channel.flush()
        }
        // Nothing has left yet: the flush waits for the end of the tick.
        #expect(counter.flushes == 0)
        #expect(try outbound(channel).isEmpty)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 1)
        // The tick's small writes leave as one buffer (one TLS record).
        #expect(try outbound(channel) == ["abc"])
        // The next tick flushes again.
        channel.writeAndFlush(ByteBuffer(string: "d"), promise: nil)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 2)
        #expect(try outbound(channel) == ["d"])
        _ = try channel.finish()
    }

    @Test func aCloseFlushesWhatWasWrittenBeforeIt() throws {
        let (channel, counter) = try channel()
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(ByteBuffer(string: "last words"), promise: written)
        channel.close(promise: nil)
        #expect(counter.flushes == 1)
        // Written before the close, not failed by it.
        var result: Result<Void, any Error>?
        written.futureResult.whenComplete { result = $0 }
        channel.embeddedEventLoop.run()
        #expect(throws: Never.self) { try result?.get() }
        #expect(result != nil)
    }

    @Test func aLargeWriteGoesOnAsItIsAfterWhatWasGatheredBeforeIt() throws {
        let (channel, _) = try channel()
        let large = String(repeating: "L", count: FlushCoalescer.smallWrite + 1)
        var completed: [String] = []
        for part in ["a", "b", large, "c"] {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenSuccess { completed.append(String(part.prefix(1))) }
            channel.write(ByteBuffer(string: part), promise: promise)
        }
        channel.flush()
        channel.embeddedEventLoop.run()
        #expect(try outbound(channel) == ["ab", large, "c"])
        // Every writer hears that its bytes were written.
        #expect(completed.sorted() == ["L", "a", "b", "c"])
        _ = try channel.finish()
    }

    @Test func aGatheredBufferHoldsAtMostOneRecordsPayload() throws {
        let (channel, _) = try channel()
        let part = String(repeating: "x", count: FlushCoalescer.smallWrite)
        for _ in 0..<5 { channel.write(ByteBuffer(string: part), promise: nil) }
        channel.flush()
        channel.embeddedEventLoop.run()
        let sizes = try outbound(channel).map(\.utf8.count)
        #expect(sizes == [4 * FlushCoalescer.smallWrite, FlushCoalescer.smallWrite])
        #expect(sizes.allSatisfy { $0 <= FlushCoalescer.recordPayload })
        _ = try channel.finish()
    }

    @Test func noFlushIsAskedForWhenNoneWas() throws {
        let (channel, counter) = try channel()
        channel.write(ByteBuffer(string: "a"), promise: nil)
        channel.embeddedEventLoop.run()
        #expect(counter.flushes == 0)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
