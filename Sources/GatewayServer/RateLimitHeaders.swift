import GatewayPlan
import GatewayPolicies

/// Rate-limit response headers after the IETF httpapi RateLimit header fields draft: the policies
/// that apply (`RateLimit-Policy`) and what is left of them (`RateLimit`), as structured fields.
enum RateLimitHeaders {
    /// `RateLimit-Policy` and `RateLimit` for one keyed request; `policy` comes from `policy(plan:config:)`.
    static func make(plan name: String, policy: String, decision: RateLimiter.Decision) -> [(String, String)] {
        var first: (quota: Bool, remaining: Int, reset: Double)?
        var second: (quota: Bool, remaining: Int, reset: Double)?
        switch decision {
        case .admitted(let remaining, let reset, let quotaRemaining, let quotaReset):
            if let remaining { first = (false, remaining, reset ?? 0) }
            if let quotaRemaining {
                let item = (quota: true, remaining: quotaRemaining, reset: quotaReset ?? 0)
                if first == nil { first = item } else { second = item }
            }
        case .throttled(let wait):
            first = (false, 0, wait)
        case .quotaExceeded(let wait):
            first = (true, 0, wait)
        }
        // Written as bytes into one string (this runs on every keyed request): `"NAME";r=N;t=N`,
        // then `, "NAME-quota";r=N;t=N`. Each item is at most 54 bytes besides the name.
        let state = String(unsafeUninitializedCapacity: 2 * (name.utf8.count + 54)) { out in
            var writer = HTTP1HeadWriter(UnsafeMutableRawBufferPointer(out))
            put(first, name: name, into: &writer)
            put(second, name: name, into: &writer)
            precondition(!writer.overflowed, "RateLimit value larger than the space reserved for it")
            return writer.count
        }
        return [("ratelimit-policy", policy), ("ratelimit", state)]
    }

    /// `"NAME";r=N;t=N` (`NAME-quota` for the quota), after `, ` when something precedes it.
    private static func put(_ item: (quota: Bool, remaining: Int, reset: Double)?, name: String,
                            into out: inout HTTP1HeadWriter) {
        guard let item else { return }
        if out.count > 0 { out.put(", ") }
        out.put("\"")
        out.put(string: name)
        if item.quota { out.put("-quota") }
        out.put("\";r=")
        out.put(decimal: UInt(max(0, item.remaining)))
        out.put(";t=")
        out.put(decimal: UInt(wholeSeconds(item.reset)))
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
