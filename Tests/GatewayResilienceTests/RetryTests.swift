@testable import GatewayResilience
import Testing

@Suite struct RetryTests {
    let second: Int64 = 1_000_000_000

    @Test func theBudgetCapsRetriesAtItsShareWithAFloorPerSecond() {
        var budget = RetryBudget(fraction: 0.2, minPerSecond: 3)
        // Quiet: the floor (3/s over 10 s = 30 in the window) allows retries without traffic.
        var allowed = 0
        for _ in 0..<100 where budget.tryRetry(now: 0) { allowed += 1 }
        #expect(allowed == 30)

        // Busy: 1,000 requests in the window allow 200 retries.
        var busy = RetryBudget(fraction: 0.2, minPerSecond: 3)
        for i in 0..<1000 { busy.recordRequest(now: Int64(i) * second / 100) }
        var retries = 0
        for _ in 0..<1000 where busy.tryRetry(now: 9 * second) { retries += 1 }
        #expect(retries == 200)
    }

    @Test func theWindowSlidesAndForgetsOldSeconds() {
        var budget = RetryBudget(fraction: 0.5, minPerSecond: 0)
        for _ in 0..<10 { budget.recordRequest(now: 0) }
        var early = 0
        for _ in 0..<10 where budget.tryRetry(now: 0) { early += 1 }
        #expect(early == 5)
        #expect(budget.tryRetry(now: 9 * second) == false)
        // Ten seconds later the requests and the retries are gone: nothing is allowed without traffic.
        #expect(budget.tryRetry(now: 10 * second) == false)
        for _ in 0..<2 { budget.recordRequest(now: 10 * second) }
        #expect(budget.tryRetry(now: 10 * second) == true)
        #expect(budget.tryRetry(now: 10 * second) == false)
    }

    @Test func aRetryNeedsAListedConditionAMethodAttemptsLeftAndAReplayableBody() {
        let config = ResilienceConfig.Retries()
        #expect(RetryPolicy.mayRetry(.connectFailure, method: "GET", attempt: 1, bodyStreamed: false, config: config))
        #expect(RetryPolicy.mayRetry(.status(503), method: "GET", attempt: 2, bodyStreamed: false, config: config))
        #expect(!RetryPolicy.mayRetry(.status(503), method: "GET", attempt: 3, bodyStreamed: false, config: config),
                "two attempts beyond the first")
        #expect(!RetryPolicy.mayRetry(.status(500), method: "GET", attempt: 1, bodyStreamed: false, config: config))
        #expect(!RetryPolicy.mayRetry(.timeout, method: "GET", attempt: 1, bodyStreamed: false, config: config),
                "timeouts only when listed")
        #expect(!RetryPolicy.mayRetry(.reset, method: "POST", attempt: 1, bodyStreamed: false, config: config),
                "POST is not idempotent")
        var post = config
        post.methods.insert("POST")
        #expect(!RetryPolicy.mayRetry(.reset, method: "POST", attempt: 1, bodyStreamed: true, config: post),
                "a streamed body went out")
        #expect(RetryPolicy.mayRetry(.connectFailure, method: "POST", attempt: 1, bodyStreamed: true, config: post),
                "nothing was sent")
    }

    @Test func backoffDoublesWithJitter() {
        let base = Duration.milliseconds(100)
        #expect(RetryPolicy.backoff(base, attempt: 1, random: 0) == .milliseconds(50))
        #expect(RetryPolicy.backoff(base, attempt: 1, random: 0.999_999) <= .milliseconds(100))
        #expect(RetryPolicy.backoff(base, attempt: 3, random: 0) == .milliseconds(200))
    }
}
