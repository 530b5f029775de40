@testable import GatewayMigration
import Testing

@Suite struct MigrationStateTests {
    func config(steps: [Int] = [], errorRate: Double = 2, minRequests: Int = 50) -> MigrationConfig {
        var c = MigrationConfig(from: "legacy")
        c.stage = .canary
        c.canary.weight = 10
        c.canary.steps = steps
        c.canary.interval = .seconds(600)
        c.rollback.errorRate = errorRate
        c.rollback.minRequests = minRequests
        c.rollback.window = .seconds(60)
        return c
    }

    @Test func rollbackNeedsMinRequestsAndAnErrorRateOverTheThreshold() {
        var c = MigrationController(config: config(), state: MigrationState(config: config(), now: 0))
        // 49 answers, all failed: below minRequests, no rollback.
        for i in 0..<49 { #expect(c.record(candidate: true, latency: 1000, failed: true, now: Int64(i)) == nil) }
        #expect(c.state.stage == .canary)
        // The 50th: 100% failed over 50 requests.
        let t = c.record(candidate: true, latency: 1000, failed: false, now: 100)
        #expect(t?.to == .shadow)
        #expect(t?.by == .auto)
        #expect(t?.reason.hasPrefix("rollback: candidate error rate 98% over 50 requests in 60s") == true, "\(t?.reason ?? "")")
        #expect(c.state.stage == .shadow)
        #expect(c.state.weight == 0)
    }

    @Test func exactlyAtTheErrorThresholdStays() {
        var c = MigrationController(config: config(errorRate: 2), state: MigrationState(config: config(), now: 0))
        // 2 failures in 100 (the last two): exactly 2%.
        for i in 0..<100 {
            #expect(c.record(candidate: true, latency: 1000, failed: i >= 98, now: Int64(i)) == nil)
        }
        #expect(c.state.stage == .canary)
        // A third failure: 3 / 101 > 2%.
        #expect(c.record(candidate: true, latency: 1000, failed: true, now: 200)?.to == .shadow)
    }

    @Test func oldAnswersLeaveTheWindow() {
        var c = MigrationController(config: config(minRequests: 10), state: MigrationState(config: config(), now: 0))
        for i in 0..<9 { _ = c.record(candidate: true, latency: 1000, failed: true, now: Int64(i)) }
        // 61 s later the nine failures are gone; ten good answers do not roll back.
        for i in 0..<10 { #expect(c.record(candidate: true, latency: 1000, failed: false, now: 61_000 + Int64(i)) == nil) }
        #expect(c.state.stage == .canary)
    }

    @Test func latencyRollbackComparesP99s() {
        var cfg = config(minRequests: 10)
        cfg.rollback.latency = 2.0
        var c = MigrationController(config: cfg, state: MigrationState(config: cfg, now: 0))
        for i in 0..<100 { _ = c.record(candidate: false, latency: 1000, failed: false, now: Int64(i)) }
        for i in 0..<10 { #expect(c.record(candidate: true, latency: 2000, failed: false, now: 100 + Int64(i)) == nil, "2.0x is not over 2.0x") }
        // Latency is judged at most every 250 ms.
        #expect(c.record(candidate: true, latency: 5000, failed: false, now: 200) == nil)
        let t = c.record(candidate: true, latency: 5000, failed: false, now: 400)
        #expect(t?.reason.contains("p99 5 ms is 5x legacy's 1 ms") == true, "\(t?.reason ?? "")")
    }

    @Test func aFullWindowKeepsItsNewestAnswersAndItsErrorCount() {
        var w = MigrationWindow()
        var rollback = MigrationConfig.Rollback()
        rollback.window = .seconds(3600)
        rollback.minRequests = 1
        rollback.errorRate = 50
        // 30,000 answers, the first 10,000 failed: only the newest 20,000 (all good) remain.
        for i in 0..<30_000 { w.record(candidate: true, latency: 10, failed: i < 10_000, now: Int64(i)) }
        let f = w.figures(window: rollback.window, now: 30_000)
        #expect(f.candidateRequests == 20_000)
        #expect(f.candidateErrorRate == 0)
        #expect(w.rollbackReason(rollback, now: 30_000) == nil)
    }

    @Test func stepsAdvanceAfterTheIntervalThenPrimary() {
        let cfg = config(steps: [5, 25, 50])
        var c = MigrationController(config: cfg, state: MigrationState(config: cfg, now: 0))
        #expect(c.state.weight == 5, "a canary with steps starts at the first")
        #expect(c.tick(now: 599_999) == nil)
        #expect(c.tick(now: 600_000)?.toWeight == 25)
        #expect(c.tick(now: 1_199_999) == nil, "the interval starts again at each step")
        #expect(c.tick(now: 1_200_000)?.toWeight == 50)
        let last = c.tick(now: 1_800_000)
        #expect(last?.to == .primary)
        #expect(c.state.weight == 100)
        #expect(c.tick(now: 9_000_000) == nil)
        #expect(c.state.transitions.map(\.by) == [.auto, .auto, .auto])
    }

    @Test func promoteAndSetByHand() {
        var s = MigrationState(stage: .legacy, weight: 0, since: 0)
        var canary = MigrationConfig.Canary()
        canary.weight = 7
        #expect(s.promote(config: canary, by: .cli, now: 1)?.to == .shadow)
        #expect(s.promote(config: canary, by: .cli, now: 2)?.toWeight == 7)
        #expect(s.promote(config: canary, by: .cli, now: 3)?.to == .primary, "no steps: canary → primary")
        #expect(s.promote(config: canary, by: .cli, now: 4) == nil)
        #expect(s.set(.canary, weight: 30, reason: "by hand", by: .admin, now: 5)?.fromWeight == 100)
        #expect(s.set(.canary, weight: 30, reason: "again", by: .admin, now: 6) == nil, "no change, no transition")
        #expect(s.transitions.count == 4)
    }

    @Test func stickyChoiceIsStableAndNearItsWeight() {
        var chosen = 0
        for i in 0..<10_000 where StickyChooser.toCandidate(identity: "client-\(i)", route: "getOrder", weight: 25) { chosen += 1 }
        // 25% of 10,000, binomial standard deviation about 43: within five of them.
        #expect(abs(chosen - 2500) < 215, "\(chosen)")
        for i in 0..<100 {
            let id = "client-\(i)"
            let at25 = StickyChooser.toCandidate(identity: id, route: "getOrder", weight: 25)
            #expect(at25 == StickyChooser.toCandidate(identity: id, route: "getOrder", weight: 25), "stable")
            if at25 { #expect(StickyChooser.toCandidate(identity: id, route: "getOrder", weight: 50), "kept when the weight grows") }
        }
        #expect(StickyChooser.bucket(identity: "abc", route: "r") == StickyChooser.bucket(identity: "abc", route: "r"))
    }

    @Test func whoAnswersAndWhatIsCopied() {
        var cfg = config()
        cfg.stage = .shadow
        let c = MigrationController(config: cfg, state: MigrationState(config: cfg, now: 0))
        #expect(!c.candidateAnswers(identity: "k", requestId: "r", route: "getOrder"))
        #expect(c.shadows(method: "GET", roll: 99))
        #expect(!c.shadows(method: "POST", roll: 0), "unsafe methods only when listed")
        var primary = cfg
        primary.stage = .primary
        let p = MigrationController(config: primary, state: MigrationState(config: primary, now: 0))
        #expect(p.candidateAnswers(identity: nil, requestId: "r", route: "getOrder"))
        #expect(!p.shadows(method: "GET", roll: 0))
    }
}
