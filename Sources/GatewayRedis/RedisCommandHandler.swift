import NIOCore

/// Pipelines commands on one connection: each written command's promise waits in order, and
/// each reply completes the oldest (Redis answers in order). An error reply fails its command with
/// `RedisError.server`. RESP3 push messages are not replies and are dropped. A command not
/// answered by its deadline fails with `RedisError.timeout` (a sweep every `sweepInterval`, not a
/// timer per command); its late reply is then read and dropped. When the connection fails or
/// closes, every waiting command fails, and so does any command written after that (a write can
/// reach the handler after the channel went inactive and before its close future completes).
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var promise: EventLoopPromise<RESPValue>
        var deadline: NIODeadline
    }

    private var waiting = CircularBuffer<Waiting>(initialCapacity: 16)
    private var sweeper: RepeatedTask?
    private let sweepInterval: TimeAmount
    /// A connection whose oldest command is this far past its deadline is given up (closed, so the
    /// client reconnects) rather than left to collect timed-out commands.
    private let stuckAfter: TimeAmount
    private weak var context: ChannelHandlerContext?
    /// Set when the connection went inactive or the handler left it: no reply can come any more.
    private var failedWith: RedisError?

    init(sweepInterval: TimeAmount = .milliseconds(25), stuckAfter: TimeAmount = .seconds(2)) {
        self.sweepInterval = sweepInterval
        self.stuckAfter = stuckAfter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        sweeper = context.eventLoop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { _ in
            bound.value.sweep()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweeper?.cancel()
        sweeper = nil
        failAll(.connectionClosed)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failedWith {
            // Nothing would answer it, and no sweep would time it out: it fails now.
            request.promise.fail(failedWith)
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 128)
        request.command.encode(into: &buffer)
        waiting.append(Waiting(promise: request.promise, deadline: request.deadline))
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if case .push = value { return }
        guard let first = waiting.popFirst() else {
            context.fireErrorCaught(RedisError.protocolError("a reply with no command waiting for it"))
            return
        }
        // A command that timed out has a failed promise already: completing it again does nothing.
        if case .error(let message) = value {
            first.promise.fail(RedisError.server(message))
        } else {
            first.promise.succeed(value)
        }
    }

    /// Fails the commands whose deadline has passed (every waiting one is looked at: deadlines
    /// differ). Their replies, when they come, are read and dropped.
    func sweep() {
        guard let oldest = waiting.first else { return }
        let now = NIODeadline.now()
        for w in waiting where w.deadline <= now { w.promise.fail(RedisError.timeout) }
        if oldest.deadline + stuckAfter <= now, let context {
            context.fireErrorCaught(RedisError.timeout)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error as? RedisError ?? .unavailable("\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.connectionClosed)
        context.fireChannelInactive()
    }

    private func failAll(_ error: RedisError) {
        if failedWith == nil { failedWith = error }
        while let w = waiting.popFirst() { w.promise.fail(error) }
    }
}

/// A command, the promise its reply completes, and when it gives up.
struct RedisRequest {
    var command: RedisCommand
    var promise: EventLoopPromise<RESPValue>
    var deadline: NIODeadline
}
