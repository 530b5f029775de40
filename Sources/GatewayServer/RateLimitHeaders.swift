import GatewayPlan
import GatewayPolicies

/// Rate-limit response headers after the IETF httpapi RateLimit header fields draft: the policies
/// that apply (`RateLimit-Policy`) and what is left of them (`RateLimit`), as structured fields.
enum RateLimitHeaders {
    /// `RateLimit-Policy` and `RateLimit` for one keyed request; `policy` comes from `policy(plan:config:)`.
    static func make(plan name: String, policy: String, decision: RateLimiter.Decision) -> [(String, String)] {
        var state: [String] = []
        if case .admitted(let remaining, let reset, let quotaRemaining, let quotaReset) = decision {
            if let remaining { state.append("\"\(name)\";r=\(remaining);t=\(seconds(reset ?? 0))") }
            if let quotaRemaining {
                state.append("\"\(name)-quota\";r=\(quotaRemaining);t=\(seconds(quotaReset ?? 0))")
            }
        } else if case .throttled(let wait) = decision {
            state.append("\"\(name)\";r=0;t=\(seconds(wait))")
        } else if case .quotaExceeded(let wait) = decision {
            state.append("\"\(name)-quota\";r=0;t=\(seconds(wait))")
        }
        return [("ratelimit-policy", policy), ("ratelimit", state.joined(separator: ", "))]
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
