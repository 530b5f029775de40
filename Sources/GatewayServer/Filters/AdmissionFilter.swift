import GatewayCore
import GatewayPlan
import GatewayPolicies
import NIOCore

/// Steps 5 and 6 decided at once: the key's plan bucket, its key+operation bucket, the
/// operation's bucket and the key's quota. A request refused by any of them takes nothing from
/// the others and does not count against the quota. Keyed requests get their RateLimit headers.
struct AdmissionFilter: RequestFilter {
    let limiter: RateLimiter
    /// The operation's route key: its bucket's name.
    let routeKey: String
    /// The operation's own bucket (`x-gateway.throttle`).
    let operationThrottle: Throttle?
    /// For the plans' per-operation buckets.
    let operationId: String?
    /// Each plan's `RateLimit-Policy` value.
    let rateLimitPolicies: [String: String]

    func run(_ request: RequestContext, on loop: any EventLoop) -> FilterStatus {
        var limits = RateLimiter.Request()
        if let operationThrottle { limits.operation = (routeKey, operationThrottle) }
        if let key = request.key {
            limits.key = (key.id, key.plan.throttle)
            if let operationId, let t = key.plan.operations[operationId] {
                limits.keyOperation = (key.id, routeKey, t)
            }
            if let q = key.plan.quota {
                limits.quota = .init(keyId: key.id, limit: q.limit, period: q.period)
            }
        }
        if limits.isEmpty { return .next }
        let decision = limiter.admit(limits, now: request.start.uptimeNanoseconds,
                                     wallClock: Double(request.startWallClock) / 1000)
        if let key = request.key, let policy = rateLimitPolicies[key.planName] {
            request.rateLimitHeaders = RateLimitHeaders.make(plan: key.planName, policy: policy, decision: decision)
        }
        switch decision {
        case .admitted:
            return .next
        case .throttled(let wait):
            request.throttledBy = request.key != nil ? .plan : .operation
            return .respond(Self.tooManyRequests(wait))
        case .quotaExceeded(let wait):
            request.throttledBy = .quota
            return .respond(GatewayError(status: 429, message: "Limit Exceeded", headers: [("retry-after", RateLimitHeaders.seconds(wait))]))
        }
    }

    static func tooManyRequests(_ wait: Double) -> GatewayError {
        GatewayError(status: 429, message: "Too Many Requests", headers: [("retry-after", RateLimitHeaders.seconds(wait))])
    }
}
