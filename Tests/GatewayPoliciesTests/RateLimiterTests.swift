import Foundation
import GatewayCore
import GatewayPolicies
import Testing

@Suite struct TokenBucketTests {
    @Test func awsWorkedExample() {
        // Burst 5,000, rate 10,000/s: 5,000 requests at t=0 and 5,000 more at t=101 ms.
        var bucket = TokenBucket(rate: 10_000, burst: 5_000, now: 0)
        var served = 0
        for _ in 0..<5_000 {
            bucket.refill(now: 0)
            if bucket.hasToken { bucket.take(); served += 1 }
        }
        for _ in 0..<5_000 {
            bucket.refill(now: 101_000_000)
            if bucket.hasToken { bucket.take(); served += 1 }
        }
        #expect(served == 6_010)
    }

    @Test func fractionalRatesAndWaits() {
        var bucket = TokenBucket(rate: 0.5, burst: 1, now: 0)
        bucket.take()
        #expect(!bucket.hasToken)
        #expect(bucket.secondsUntilToken == 2)
        bucket.refill(now: 1_999_000_000)
        #expect(!bucket.hasToken)
        bucket.refill(now: 2_000_000_000)
        #expect(bucket.hasToken)
        bucket.refill(now: 60_000_000_000)
        #expect(bucket.remaining == 1, "never more than burst")
    }
}

@Suite struct RateLimiterTests {
    let second: UInt64 = 1_000_000_000

    /// The gateway throttle's own entry decides as `admit` does with the gateway's limit alone,
    /// across a burst, refills, a throttled stretch and a limit changed by a reload.
    @Test func admitGatewayDecidesAsAdmitWithTheGatewayLimitAlone() {
        let alone = RateLimiter(), general = RateLimiter()
        var decisions: [RateLimiter.Decision] = []
        let steps: [(UInt64, Throttle)] = (0..<12).map { (UInt64($0) * second / 10, Throttle(rate: 5, burst: 3)) }
            + (12..<20).map { (UInt64($0) * second / 10, Throttle(rate: 20, burst: 2)) }
        for (now, limit) in steps {
            var request = RateLimiter.Request()
            request.gateway = limit
            let expected = general.admit(request, now: now, wallClock: 1_000)
            #expect(alone.admitGateway(limit, now: now) == expected, "at \(now)")
            decisions.append(expected)
        }
        #expect(decisions.contains { if case .throttled = $0 { return true } else { return false } },
                "the steps reach a throttled request")
        #expect(decisions.filter { if case .admitted = $0 { return true } else { return false } }.count >= 3)
    }

    @Test func aRefusedRequestTakesNothingFromTheOtherBuckets() {
        let limiter = RateLimiter()
        var request = RateLimiter.Request()
        request.gateway = .init(rate: 1, burst: 100)
        request.key = ("k1", .init(rate: 1, burst: 2))
        request.operation = ("GET /a", .init(rate: 1, burst: 100))
        request.quota = .init(keyId: "k1", limit: 1000, period: .day)
        #expect(limiter.admit(request, now: 0, wallClock: 1000).isAdmitted)
        #expect(limiter.admit(request, now: 0, wallClock: 1000).isAdmitted)
        guard case .throttled(let wait) = limiter.admit(request, now: 0, wallClock: 1000) else {
            Issue.record("third request was not throttled")
            return
        }
        #expect(wait == 1)
        // The key bucket refused: the gateway bucket still holds 98 and the quota counts 2.
        var other = RateLimiter.Request()
        other.gateway = .init(rate: 1, burst: 100)
        var admitted = 0
        while limiter.admit(other, now: 0, wallClock: 1000).isAdmitted { admitted += 1 }
        #expect(admitted == 98)
        #expect(limiter.quotaUsed(keyId: "k1", wallClock: 1000) == 2)
    }

    @Test func quotaIsCountedPerUTCWindowAndRefusedWithTheTimeToReset() {
        let limiter = RateLimiter()
        var request = RateLimiter.Request()
        request.quota = .init(keyId: "k", limit: 2, period: .day)
        let noon = 86_400.0 * 20_000 + 43_200
        #expect(limiter.admit(request, now: 0, wallClock: noon).isAdmitted)
        #expect(limiter.admit(request, now: 0, wallClock: noon).isAdmitted)
        #expect(limiter.admit(request, now: 0, wallClock: noon) == .quotaExceeded(retryAfter: 43_200))
        #expect(limiter.admit(request, now: 0, wallClock: noon + 43_200).isAdmitted, "a new day")
        #expect(limiter.drainChangedQuotas() == [.init(keyId: "k", periodStart: Int64(noon + 43_200), used: 1)])
        #expect(limiter.drainChangedQuotas().isEmpty)
    }

    @Test func aCountThatChangesAfterADrainIsDrainedAgain() {
        let limiter = RateLimiter()
        var request = RateLimiter.Request()
        request.quota = .init(keyId: "k", limit: 10, period: .day)
        let noon = 86_400.0 * 20_000 + 43_200
        #expect(limiter.admit(request, now: 0, wallClock: noon).isAdmitted)
        #expect(limiter.drainChangedQuotas() == [.init(keyId: "k", periodStart: Int64(noon - 43_200), used: 1)])
        #expect(limiter.admit(request, now: 0, wallClock: noon).isAdmitted)
        #expect(limiter.admit(request, now: 0, wallClock: noon).isAdmitted)
        #expect(limiter.drainChangedQuotas() == [.init(keyId: "k", periodStart: Int64(noon - 43_200), used: 3)])
        #expect(limiter.drainChangedQuotas().isEmpty)
    }

    @Test func bucketsMadeByARequestAndBucketsAlreadyThereAreAllTakenFrom() {
        let limiter = RateLimiter()
        var gatewayOnly = RateLimiter.Request()
        gatewayOnly.gateway = .init(rate: 1, burst: 3)
        var keyed = gatewayOnly
        keyed.key = ("k", .init(rate: 1, burst: 2))
        var keyOnly = RateLimiter.Request()
        keyOnly.key = ("k", .init(rate: 1, burst: 2))
        #expect(limiter.admit(gatewayOnly, now: 0, wallClock: 1000).isAdmitted)  // gateway 3 -> 2
        #expect(limiter.admit(keyed, now: 0, wallClock: 1000).isAdmitted)        // key bucket made: 2 -> 1, gateway 1
        #expect(limiter.admit(keyed, now: 0, wallClock: 1000).isAdmitted)        // both there: key 0, gateway 0
        #expect(!limiter.admit(gatewayOnly, now: 0, wallClock: 1000).isAdmitted)
        #expect(!limiter.admit(keyOnly, now: 0, wallClock: 1000).isAdmitted)
        #expect(limiter.bucketCount == 2)
    }

    @Test func seededCountsSurviveARestart() {
        let limiter = RateLimiter()
        let now = 1_800_000_000.0
        let start = QuotaPeriod.month.window(containing: now).start
        limiter.seed(.init(keyId: "k", periodStart: start, used: 5), period: .month)
        var request = RateLimiter.Request()
        request.quota = .init(keyId: "k", limit: 5, period: .month)
        guard case .quotaExceeded = limiter.admit(request, now: 0, wallClock: now) else {
            Issue.record("seeded quota not enforced")
            return
        }
    }

    @Test func windows() {
        // 2026-11-24T10:00:00Z is a Tuesday.
        let t = 1_795_514_400.0
        #expect(QuotaPeriod.day.window(containing: t) == (1_795_478_400, 1_795_564_800))
        #expect(QuotaPeriod.week.window(containing: t).start == 1_795_392_000)  // Monday 2026-11-23
        #expect(QuotaPeriod.week.window(containing: 1_795_392_000 - 1).start == 1_795_392_000 - 7 * 86_400)
        #expect(QuotaPeriod.month.window(containing: t) == (1_793_491_200, 1_796_083_200))  // Nov 1 .. Dec 1
    }

    @Test func concurrentRequestsNeverExceedBurstPlusRateTimesElapsed() async {
        let limiter = RateLimiter()
        var request = RateLimiter.Request()
        request.key = ("hot", .init(rate: 1_000, burst: 50))
        let hot = request
        let clock = ContinuousClock()
        let start = clock.now
        let origin = DispatchTime.now().uptimeNanoseconds
        let admitted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    var n = 0
                    for _ in 0..<5_000 {
                        let now = DispatchTime.now().uptimeNanoseconds - origin
                        if limiter.admit(hot, now: now, wallClock: 0).isAdmitted { n += 1 }
                    }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(Double(admitted) <= 50 + 1_000 * seconds + 1, "admitted \(admitted) in \(seconds)s")
        #expect(admitted >= 50, "the burst itself must pass")
    }
}

extension RateLimiter.Decision {
    var isAdmitted: Bool {
        if case .admitted = self { return true }
        return false
    }
}
