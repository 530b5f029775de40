import NIOCore

/// What one event loop owns and only it touches: its pool of upstream connections, its
/// request-id generator and its end-of-tick flushes. Looked up once per connection (or HTTP/2
/// stream).
final class LoopLocal {
    let pool: UpstreamPool
    var requestIDs = RequestIDGenerator()
    /// This loop's request metrics (merged at scrape time).
    let metrics: LoopMetrics
    /// Spare buffers for the heads this loop writes.
    let headBuffers = HeadBuffers()
    /// The HTTP/1.1 flushes made together at the end of the loop's tick.
    let flusher: LoopFlusher

    init(eventLoop: any EventLoop) {
        flusher = LoopFlusher(loop: eventLoop)
        let metrics = LoopMetrics()
        self.metrics = metrics
        pool = UpstreamPool(eventLoop: eventLoop, metrics: metrics)
    }
}
