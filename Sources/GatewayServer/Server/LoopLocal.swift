import NIOCore

/// What one event loop owns and only it touches: its pool of upstream connections and its
/// request-id generator. Looked up once per connection (or HTTP/2 stream).
final class LoopLocal {
    let pool: UpstreamPool
    var requestIDs = RequestIDGenerator()
    /// This loop's request metrics (merged at scrape time).
    let metrics: LoopMetrics
    /// Spare buffers for the heads this loop writes.
    let headBuffers = HeadBuffers()

    init(eventLoop: any EventLoop) {
        let metrics = LoopMetrics()
        self.metrics = metrics
        pool = UpstreamPool(eventLoop: eventLoop, metrics: metrics)
    }
}
