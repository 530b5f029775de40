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
        // then `, "NAME-quota";r=N;t=N`.
        let state = String(unsafeUninitializedCapacity: 2 * (name.utf8.count + 54)) { out in
            var at = 0
            func put(_ byte: UInt8) {
                out[at] = byte
                at += 1
            }
            func put(_ text: StaticString) {
                for i in 0..<text.utf8CodeUnitCount { put(text.utf8Start[i]) }
            }
            func put(_ number: Int) {
                var n = UInt64(max(0, number)), digits = 1
                while n >= 10 { n /= 10; digits += 1 }
                n = UInt64(max(0, number))
                for i in stride(from: at + digits - 1, through: at, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(n % 10)
                    n /= 10
                }
                at += digits
            }
            func put(_ item: (quota: Bool, remaining: Int, reset: Double)?) {
                guard let item else { return }
                if at > 0 { put(", ") }
                put("\"")
                for byte in name.utf8 { put(byte) }
                if item.quota { put("-quota") }
                put("\";r=")
                put(item.remaining)
                put(";t=")
                put(wholeSeconds(item.reset))
            }
            put(first)
            put(second)
            return at
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
        String(wholeSeconds(value))
    }

    static func wholeSeconds(_ value: Double) -> Int {
        guard value.isFinite else { return value > 0 ? Int.max : 0 }
        return max(0, Int(min(value.rounded(.up), 9.2e18)))
    }
}
