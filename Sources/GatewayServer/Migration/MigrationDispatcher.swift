import GatewayCore
import GatewayMigration
import NIOCore

/// A migrating route's action: per request, the candidate or legacy answers (stage and sticky
/// canary), a copy may go to the candidate for comparison (shadow), and a failing candidate is
/// replaced by legacy (fallback). The body is read whole first, so that it can be sent twice.
struct MigrationDispatcher: Dispatcher {
    let candidate: any Dispatcher
    let legacy: UpstreamDispatcher
    let route: MigrationRoute
    /// The most of an answer's body kept for comparison (longer ones are not compared).
    let captureLimit: Int

    var needsWholeBody: Bool { true }
    var target: RequestContext.Target { candidate.target }

    func start(_ request: RequestContext, body: DispatchBody, loop: any EventLoop, local: LoopLocal,
               sink: any DispatchSink) -> any Dispatch {
        guard case .whole(let buffer) = body else {
            preconditionFailure("a migrating route is always given the whole body")
        }
        let exchange = MigrationExchange(dispatcher: self, request: request, loop: loop, local: local, sink: sink)
        exchange.start(body: buffer)
        return exchange
    }
}
