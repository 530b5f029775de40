import NIOCore

/// Between TLS and HTTP/2 on every HTTP/2 connection: turns the flushes asked for while the
/// event loop handles one batch of I/O events into one flush at the end of that batch.
///
/// Each stream's response flushes the connection when it ends, and the responses of one
/// connection's streams typically end in the same loop tick (they arrive on different upstream
/// connections that became readable together). Flushed one by one, every response became its own
/// TLS record and its own `write` to the socket; coalesced, the tick's frames leave in one record
/// run and one write. Nothing waits longer than the tick it was written in: the flush is a task
/// on the loop, which runs right after the I/O events of the tick.
final class FlushCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Any

    private var pending = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        if pending {
            pending = false
            context.flush()
        }
    }

    func flush(context: ChannelHandlerContext) {
        guard !pending else { return }
        pending = true
        context.eventLoop.assumeIsolated().execute { [self] in
            guard pending, let context = self.context else { return }
            pending = false
            context.flush()
        }
    }

    /// A close goes out after what was written before it.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if pending {
            pending = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}
