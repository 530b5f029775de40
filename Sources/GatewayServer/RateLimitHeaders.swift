import GatewayPlan
import GatewayPolicies

/// Rate-limit response headers after the IETF httpapi RateLimit header fields draft: the policies
/// that apply (`RateLimit-Policy`) and what is left of them (`RateLimit`), as structured fields.
enum RateLimitHeaders {
    /// `RateLimit-Policy` and `RateLimit` for one keyed request; `policy` comes from `policy(plan:config:)`.
    static func make(plan name: String, policy: String, decision: RateLimiter.Decision) -> RateLimitFields {
        var fields = RateLimitFields(plan: name, policy: policy)
        switch decision {
        case .admitted(let remaining, let reset, let quotaRemaining, let quotaReset):
            if let remaining { fields.first = item(false, remaining, reset ?? 0) }
            if let quotaRemaining {
                let quota = item(true, quotaRemaining, quotaReset ?? 0)
                if fields.first == nil { fields.first = quota } else { fields.second = quota }
            }
        case .throttled(let wait):
            fields.first = item(false, 0, wait)
        case .quotaExceeded(let wait):
            fields.first = item(true, 0, wait)
        }
        return fields
    }

    private static func item(_ quota: Bool, _ remaining: Int, _ reset: Double) -> RateLimitFields.Item {
        RateLimitFields.Item(quota: quota, remaining: UInt(max(0, remaining)), reset: UInt(wholeSeconds(reset)))
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
        String(wholeSeconds(value))
    }

    static func wholeSeconds(_ value: Double) -> Int {
        guard value.isFinite else { return value > 0 ? Int.max : 0 }
        return max(0, Int(min(value.rounded(.up), 9.2e18)))
    }
}
