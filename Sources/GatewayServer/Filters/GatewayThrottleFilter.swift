import GatewayCore
import GatewayPolicies
import NIOCore

/// Step 1: the bucket of the whole gateway, first of all, so that a flood is refused before it
/// costs a key lookup or reaches an authorizer. It is decided alone: a request it admits and a
/// later step refuses has still cost the process its work, and counts.
struct GatewayThrottleFilter: RequestFilter {
    let limiter: RateLimiter
    let throttle: Throttle

    func run(_ request: RequestContext, on loop: any EventLoop) -> FilterStatus {
        let decision = limiter.admitGateway(throttle, now: request.start.uptimeNanoseconds)
        if case .throttled(let wait) = decision {
            request.throttledBy = .gateway
            return .respond(AdmissionFilter.tooManyRequests(wait))
        }
        return .next
    }
}
