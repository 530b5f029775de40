import GatewayCore
import GatewayPlan
import GatewayPolicies
import NIOCore

/// Phases 1, 4 and 5 decided at once: the gateway, key, key+operation and operation token
/// buckets and the key's quota. A request refused by any of them takes nothing from the others and
/// does not count against the quota. Keyed requests get their RateLimit headers here.
enum AdmissionPhase {
    static func run(_ request: inout RequestContext, runtime: GatewayRuntime, limiter: RateLimiter) -> PhaseOutcome {
        let config = runtime.plan.config
        var limits = RateLimiter.Request()
        limits.gateway = config.throttle
        let operation = request.operation
        if let operation, let t = operation.throttle { limits.operation = (operation.routeKey, t) }
        if let key = request.key {
            limits.key = (key.id, key.plan.throttle)
            if let operation, let id = operation.operationId, let t = key.plan.operations[id] {
                limits.keyOperation = (key.id, operation.routeKey, t)
            }
            if let q = key.plan.quota {
                limits.quota = .init(keyId: key.id, limit: q.limit, period: q.period)
            }
        }
        if limits.isEmpty { return .proceed }
        let decision = limiter.admit(limits, now: NIODeadline.now().uptimeNanoseconds,
                                     wallClock: Double(request.startWallClock) / 1000)
        if let key = request.key, let policy = runtime.rateLimitPolicies[key.planName] {
            request.rateLimitHeaders = RateLimitHeaders.make(plan: key.planName, policy: policy, decision: decision)
        }
        switch decision {
        case .admitted:
            return .proceed
        case .throttled(let wait):
            return .answer(GatewayError(status: 429, message: "Too Many Requests", headers: [("retry-after", RateLimitHeaders.seconds(wait))]))
        case .quotaExceeded(let wait):
            return .answer(GatewayError(status: 429, message: "Limit Exceeded", headers: [("retry-after", RateLimitHeaders.seconds(wait))]))
        }
    }
}
