@testable import GatewayResilience
import Testing

/// The health state machine at its edges, with an injected clock (nanoseconds).
@Suite struct UpstreamHealthTests {
    let second: Int64 = 1_000_000_000

    func checks(unhealthy: Int = 3, healthy: Int = 2) -> ResilienceConfig.HealthCheck {
        var hc = ResilienceConfig.HealthCheck()
        hc.unhealthyThreshold = unhealthy
        hc.healthyThreshold = healthy
        return hc
    }

    func outlier(failures: Int = 5, ejection: Duration = .seconds(30), percent: Int = 50) -> ResilienceConfig.OutlierDetection {
        var od = ResilienceConfig.OutlierDetection()
        od.consecutiveFailures = failures
        od.ejectionTime = ejection
        od.maxEjectionPercent = percent
        return od
    }

    @Test func activeChecksFlipAtTheirThresholdsAndNotBefore() {
        var h = UpstreamHealth(targets: 2, healthCheck: checks(), outlier: nil)
        #expect(h.available(now: 0) == 0b11, "targets start healthy")
        #expect(h.checked(0, passed: false, reason: "503", now: 0) == nil)
        #expect(h.checked(0, passed: false, reason: "503", now: 1) == nil)
        let down = h.checked(0, passed: false, reason: "503", now: 2)
        #expect(down == .init(target: 0, from: .healthy, to: .unhealthy, reason: "503"))
        #expect(h.available(now: 2) == 0b10)
        #expect(h.checked(0, passed: false, reason: "503", now: 3) == nil, "a change is reported once")
        #expect(h.checked(0, passed: true, reason: "200", now: 4) == nil)
        #expect(h.checked(0, passed: false, reason: "503", now: 5) == nil, "a failure resets the passes")
        #expect(h.checked(0, passed: true, reason: "200", now: 6) == nil)
        #expect(h.checked(0, passed: true, reason: "200", now: 7)?.to == .healthy)
        #expect(h.available(now: 7) == 0b11)
    }

    @Test func consecutiveFailuresEjectAndASuccessInBetweenStartsOver() {
        var h = UpstreamHealth(targets: 2, healthCheck: nil, outlier: outlier(failures: 3))
        _ = h.record(0, .failure, reason: "502", now: 0)
        _ = h.record(0, .failure, reason: "502", now: 0)
        _ = h.record(0, .success, reason: "", now: 0)
        _ = h.record(0, .failure, reason: "502", now: 0)
        #expect(h.record(0, .failure, reason: "502", now: 0) == nil)
        let change = h.record(0, .failure, reason: "502", now: 0)
        #expect(change?.to == .ejected)
        #expect(h.available(now: 1) == 0b10)
        #expect(h.nextExpiry == 30 * second)
        #expect(h.expire(now: 30 * second - 1).isEmpty)
        #expect(h.expire(now: 30 * second).map(\.to) == [.healthy])
        #expect(h.available(now: 30 * second) == 0b11)
    }

    @Test func repeatEjectionsDoubleUpToTenTimesAndResetAfterAQuietSpell() {
        var h = UpstreamHealth(targets: 2, healthCheck: nil, outlier: outlier(failures: 1, ejection: .seconds(1)))
        var now: Int64 = 0
        var lengths: [Int64] = []
        for _ in 0..<6 {
            _ = h.record(0, .failure, reason: "reset", now: now)
            let until = h.nextExpiry!
            lengths.append((until - now) / second)
            now = until
            _ = h.expire(now: now)
        }
        #expect(lengths == [1, 2, 4, 8, 10, 10])
        now += 41 * second // more than four ejection times... of the base; the count starts over
        _ = h.record(0, .failure, reason: "reset", now: now)
        #expect((h.nextExpiry! - now) / second == 1)
    }

    @Test func ejectionsNeverExceedThePercentageAndOneTargetAlwaysStays() {
        var h = UpstreamHealth(targets: 4, healthCheck: nil, outlier: outlier(failures: 1, percent: 50))
        for i in 0..<4 { _ = h.record(i, .failure, reason: "timeout", now: 0) }
        #expect(h.available(now: 1).nonzeroBitCount == 2)

        var one = UpstreamHealth(targets: 1, healthCheck: nil, outlier: outlier(failures: 1, percent: 100))
        #expect(one.record(0, .failure, reason: "timeout", now: 0) == nil, "a single target is never ejected")

        var all = UpstreamHealth(targets: 3, healthCheck: nil, outlier: outlier(failures: 1, percent: 100))
        for i in 0..<3 { _ = all.record(i, .failure, reason: "timeout", now: 0) }
        #expect(all.available(now: 1).nonzeroBitCount == 1, "100% still leaves one")

        var small = UpstreamHealth(targets: 2, healthCheck: nil, outlier: outlier(failures: 1, percent: 10))
        #expect(small.record(0, .failure, reason: "timeout", now: 0)?.to == .ejected, "at least one may be ejected")
    }

    @Test func withoutConfigurationNothingChanges() {
        var h = UpstreamHealth(targets: 2, healthCheck: nil, outlier: nil)
        for _ in 0..<100 { #expect(h.record(0, .failure, reason: "502", now: 0) == nil) }
        #expect(h.checked(0, passed: false, reason: "x", now: 0) == nil)
        #expect(h.available(now: 0) == 0b11)
    }
}
