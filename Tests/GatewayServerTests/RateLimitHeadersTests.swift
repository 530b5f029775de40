import GatewayPolicies
@testable import GatewayServer
import Testing

@Suite struct RateLimitHeadersTests {
    func state(_ decision: RateLimiter.Decision) -> String? {
        let fields = RateLimitHeaders.make(plan: "gold", policy: "p", decision: decision)
        #expect(fields.first?.0 == "ratelimit-policy" && fields.first?.1 == "p")
        return fields.first { $0.0 == "ratelimit" }?.1
    }

    @Test func admittedRequestsShowWhatIsLeftOfTheBucketAndTheQuota() {
        #expect(state(.admitted(remaining: 41, resetSeconds: 0.2, quotaRemaining: 9_999_000, quotaResetSeconds: 86_399.5))
            == #""gold";r=41;t=1, "gold-quota";r=9999000;t=86400"#)
        #expect(state(.admitted(remaining: 0, resetSeconds: 0, quotaRemaining: nil, quotaResetSeconds: nil)) == #""gold";r=0;t=0"#)
        #expect(state(.admitted(remaining: nil, resetSeconds: nil, quotaRemaining: 7, quotaResetSeconds: 10)) == #""gold-quota";r=7;t=10"#)
    }

    @Test func refusedRequestsShowTheWait() {
        #expect(state(.throttled(retryAfter: 2.01)) == #""gold";r=0;t=3"#)
        #expect(state(.quotaExceeded(retryAfter: 3600)) == #""gold-quota";r=0;t=3600"#)
        #expect(state(.throttled(retryAfter: .infinity)) == "\"gold\";r=0;t=\(Int.max)")
    }
}
