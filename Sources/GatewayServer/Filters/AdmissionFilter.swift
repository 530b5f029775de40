import GatewayCore
import GatewayPlan
import GatewayPolicies
import GatewayStore
import NIOCore

/// Steps 5 and 6 decided at once: the key's plan bucket, its key+operation bucket, the
/// operation's bucket and the key's quota. A request refused by any of them takes nothing from
/// the others and does not count against the quota. Keyed requests get their RateLimit headers.
struct AdmissionFilter: RequestFilter {
    let limiter: RateLimiter
    /// With a shared state (Redis): decides there instead of `limiter`.
    let shared: SharedLimiter?
    /// What to do while the shared state cannot answer.
    let failure: StateFailure
    /// The operation's route key: its bucket's name (hashed once, when the plan compiles).
    let routeKey: HashedName
    /// The operation's own bucket (`x-gateway.throttle`).
    let operationThrottle: Throttle?
    /// For the plans' per-operation buckets.
    let operationId: String?

    func run(_ request: RequestContext, on loop: any EventLoop) -> FilterStatus {
        var limits = RateLimiter.Request()
        if let operationThrottle { limits.operation = (routeKey, operationThrottle) }
        if let key = request.key {
            let plan = key.plan.config
            limits.key = (key.name, plan.throttle)
            if let operationId, let t = plan.operations[operationId] {
                limits.keyOperation = (key.name, routeKey, t)
            }
            if let q = plan.quota {
                limits.quota = .init(keyId: key.name, limit: q.limit, period: q.period)
            }
        }
        if limits.isEmpty { return .next }
        let wallClock = Double(request.startWallClock) / 1000
        if let shared {
            let failure = self.failure
            let decided = loop.makePromise(of: FilterStatus.self)
            // The reply comes on `loop`, the request's own: its context may be used there.
            shared.admit(limits, wallClock: wallClock, on: loop).assumeIsolated().whenComplete { result in
                do {
                    let decision = try RedisAdmissionScript.decision(result.get(), request: limits, wallClock: wallClock)
                    shared.answered()
                    decided.succeed(apply(decision, to: request))
                } catch {
                    decided.succeed(shared.unavailable(error, failure: failure))
                }
            }
            return .suspend(decided.futureResult)
        }
        return apply(limiter.admit(limits, now: request.start.uptimeNanoseconds, wallClock: wallClock), to: request)
    }

    func apply(_ decision: RateLimiter.Decision, to request: RequestContext) -> FilterStatus {
        if let plan = request.key?.plan {
            request.rateLimit = RateLimitHeaders.make(plan: plan.name, policy: plan.rateLimitPolicy, decision: decision)
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
