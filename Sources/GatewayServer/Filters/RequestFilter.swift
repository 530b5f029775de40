import GatewayCore
import NIOCore

/// What a filter decided (Envoy's filter status, pingora's phase results).
enum FilterStatus: Sendable {
    /// Go on to the next filter, then the route's action.
    case next
    /// Answer now with the error contract's response.
    case respond(GatewayError)
    /// Wait for a callout; the future (completed on the request's event loop) is this filter's
    /// decision.
    case suspend(EventLoopFuture<FilterStatus>)
    /// Read the whole request body (at most `limit` bytes; 413 beyond), put it in
    /// `request.body`, then run this filter again.
    case needBody(limit: Int)
}

/// One policy step of a route. Every step has this signature; a route's chain is built once,
/// when the runtime is bound, in DESIGN.md's order: gateway throttle, (CORS), API key,
/// authorizer, plan and route buckets with the quota, validation.
protocol RequestFilter: Sendable {
    /// Decides `request`, recording what it learned in it. Runs on the request's event loop.
    func run(_ request: RequestContext, on loop: any EventLoop) -> FilterStatus
}
