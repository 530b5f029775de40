@testable import GatewayRedis
import NIOCore
import NIOEmbedded
import Testing

@Suite struct RedisCommandHandlerTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
        try channel.pipeline.syncOperations.addHandler(RedisCommandHandler())
        return channel
    }

    @Test func pipelinedRepliesCompleteTheirCommandsInOrder() throws {
        let channel = try Self.channel()
        let first = channel.eventLoop.makePromise(of: RESPValue.self)
        let second = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.write(RedisRequest(command: RedisCommand("INCR", "a"), promise: first, deadline: .distantFuture), promise: nil)
        channel.write(RedisRequest(command: RedisCommand("GET", "b"), promise: second, deadline: .distantFuture), promise: nil)
        channel.flush()
        var written = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&part) }
        #expect(String(buffer: written) == "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n")
        // Both replies in one read, the second split: a push message in between is not a reply.
        try channel.writeInbound(ByteBuffer(string: ":1\r\n>1\r\n+hi\r\n$3\r\nx"))
        #expect(try first.futureResult.wait() == .integer(1))
        try channel.writeInbound(ByteBuffer(string: "yz\r\n"))
        #expect(try second.futureResult.wait() == .bulkString(ByteBuffer(string: "xyz")))
        _ = try? channel.finish()
    }

    @Test func aClosedConnectionFailsEveryWaitingCommand() throws {
        let channel = try Self.channel()
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.writeAndFlush(RedisRequest(command: RedisCommand("PING"), promise: promise, deadline: .distantFuture), promise: nil)
        channel.pipeline.fireChannelInactive()
        #expect(throws: RedisError.connectionClosed) { try promise.futureResult.wait() }
        _ = try? channel.finish()
    }

    /// A write can reach the handler after the channel went inactive (its close future completes
    /// a tick later): the command fails at once instead of waiting for a reply that cannot come.
    @Test func aCommandWrittenAfterTheConnectionClosedFailsAtOnce() throws {
        let channel = try Self.channel()
        channel.pipeline.fireChannelInactive()
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        // Looked at without waiting: a command left waiting would block `wait()` for ever.
        let outcome = NIOLoopBoundBox<Result<RESPValue, any Error>?>(nil, eventLoop: channel.eventLoop)
        promise.futureResult.whenComplete { outcome.value = $0 }
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(RedisRequest(command: RedisCommand("PING"), promise: promise, deadline: .distantFuture), promise: written)
        guard case .failure(let error) = outcome.value else {
            Issue.record("the command is still waiting: \(String(describing: outcome.value))")
            promise.fail(RedisError.shutdown)
            _ = try? channel.finish()
            return
        }
        #expect(error as? RedisError == .connectionClosed)
        #expect(throws: ChannelError.ioOnClosedChannel) { try written.futureResult.wait() }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try? channel.finish()
    }

    @Test func garbageFromTheServerFailsWaitingCommandsAndCloses() throws {
        let channel = try Self.channel()
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.writeAndFlush(RedisRequest(command: RedisCommand("PING"), promise: promise, deadline: .distantFuture), promise: nil)
        try? channel.writeInbound(ByteBuffer(string: "@@@\r\n"))
        #expect {
            try promise.futureResult.wait()
        } throws: { error in
            if case RedisError.protocolError = error { return true }
            return false
        }
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }

    @Test func aCommandPastItsDeadlineFailsAndItsLateReplyGoesNowhere() throws {
        let channel = try Self.channel()
        let late = channel.eventLoop.makePromise(of: RESPValue.self)
        let next = channel.eventLoop.makePromise(of: RESPValue.self)
        let refused = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.write(RedisRequest(command: RedisCommand("GET", "slow"), promise: late, deadline: .now() - .milliseconds(1)), promise: nil)
        channel.write(RedisRequest(command: RedisCommand("GET", "next"), promise: next, deadline: .distantFuture), promise: nil)
        channel.write(RedisRequest(command: RedisCommand("NOPE"), promise: refused, deadline: .distantFuture), promise: nil)
        channel.flush()
        // The sweep runs every 25 ms on the connection's loop.
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(25))
        #expect(throws: RedisError.timeout) { try late.futureResult.wait() }
        try channel.writeInbound(ByteBuffer(string: "$4\r\nslow\r\n$4\r\nnext\r\n-ERR unknown command 'NOPE'\r\n"))
        #expect(try next.futureResult.wait() == .bulkString(ByteBuffer(string: "next")))
        #expect(throws: RedisError.server("ERR unknown command 'NOPE'")) { try refused.futureResult.wait() }
        _ = try? channel.finish()
    }
}
