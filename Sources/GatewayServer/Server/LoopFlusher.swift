import NIOCore

/// One event loop's flushes of HTTP/1.1 connections, made together at the end of the loop's tick:
/// the responses written to clients and the requests written to upstreams while the loop handled
/// one batch of I/O events leave when the batch is done, one flush per connection as before.
///
/// Flushed as each was written, a batch's writes reached the peers one at a time, spread over the
/// batch's work: the backend (and the load generator) answered each at once, ran out of work,
/// slept, and was woken by the next write — a wakeup the writer's system time pays for (in the
/// kernel's `tcp_sendmsg`). Made together, the peer is woken once and finds the batch waiting. On
/// this project's machine (`wrk -t1 -c64 -d5` through one event loop to an nginx backend), the
/// backend slept about 51,000 times before and 15,000 after, and the gateway's CPU per request
/// fell from 19.1 to 17.5 µs (medians of five runs each; system time 10.6 → 8.9 µs).
///
/// Nothing waits longer than the tick it was written in: the flush is a task on the loop, which
/// runs right after the tick's I/O events. Only the loop's own thread uses it. Whoever closes a
/// connection flushes it first (a channel fails the writes it has not flushed when it closes),
/// and an answer given inside the client's own read is not left for the tick's end
/// (`GatewayHandler.flushDownstream`).
final class LoopFlusher {
    private let loop: any EventLoop
    /// The contexts to flush at the end of this tick, in the order asked (one may repeat: a
    /// second flush of a channel with nothing left to write is cheap).
    private var waiting: [ChannelHandlerContext] = []
    /// The previous tick's list, kept for its storage.
    private var spare: [ChannelHandlerContext] = []
    private var scheduled = false
    /// The task that flushes, made once (a closure made per tick would be an allocation).
    private lazy var flushTask: () -> Void = { [unowned self] in flushWaiting() }

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Flushes `context` at the end of this tick.
    func flush(_ context: ChannelHandlerContext) {
        waiting.append(context)
        guard !scheduled else { return }
        scheduled = true
        loop.assumeIsolatedUnsafeUnchecked().execute(flushTask)
    }

    private func flushWaiting() {
        scheduled = false
        // A flush may ask for another (a write completing can start the next one): that goes
        // into the other list, and is flushed in a task of its own.
        swap(&waiting, &spare)
        for context in spare { context.flush() }
        spare.removeAll(keepingCapacity: true)
    }
}
