import GatewayPlan
import GatewayPolicies

/// Rate-limit response headers after the IETF httpapi RateLimit header fields draft: the policies
/// that apply (`RateLimit-Policy`) and what is left of them (`RateLimit`), as structured fields.
enum RateLimitHeaders {
    /// `RateLimit-Policy` and `RateLimit` for one keyed request; `policy` comes from `policy(plan:config:)`.
    static func make(plan name: String, policy: String, decision: RateLimiter.Decision) -> [(String, String)] {
        // Built by appending into one string (this runs on every keyed request).
        var state = ""
        state.reserveCapacity(2 * name.utf8.count + 48)
        func item(_ suffix: String, remaining: Int, reset: Double) {
            if !state.isEmpty { state += ", " }
            state += "\""
            state += name
            state += suffix
            state += "\";r="
            state += String(remaining)
            state += ";t="
            state += seconds(reset)
        }
        switch decision {
        case .admitted(let remaining, let reset, let quotaRemaining, let quotaReset):
            if let remaining { item("", remaining: remaining, reset: reset ?? 0) }
            if let quotaRemaining { item("-quota", remaining: quotaRemaining, reset: quotaReset ?? 0) }
        case .throttled(let wait):
            item("", remaining: 0, reset: wait)
        case .quotaExceeded(let wait):
            item("-quota", remaining: 0, reset: wait)
        }
        return [("ratelimit-policy", policy), ("ratelimit", state)]
    }

    /// A plan's `RateLimit-Policy` value: constant, so built once per runtime.
    static func policy(plan name: String, config: GatewayConfig.Plan) -> String {
        let window = max(1, Int((Double(config.throttle.burst) / config.throttle.rate).rounded(.up)))
        var policy = "\"\(name)\";q=\(config.throttle.burst);w=\(window)"
        if let quota = config.quota {
            let periodSeconds: Int
            switch quota.period {
            case .day: periodSeconds = 86_400
            case .week: periodSeconds = 604_800
            case .month: periodSeconds = 2_592_000
            }
            policy += ", \"\(name)-quota\";q=\(quota.limit);w=\(periodSeconds)"
        }
        return policy
    }

    /// Whole seconds, rounded up (never 0 for a positive wait).
    static func seconds(_ value: Double) -> String {
        String(max(0, Int(value.rounded(.up))))
    }
}
