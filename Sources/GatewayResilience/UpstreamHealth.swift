/// The health of one upstream's targets, from active checks and from real traffic, as a pure
/// state machine: the caller passes the time (monotonic nanoseconds) and gets back the state
/// changes to log. It answers, per request, which targets may be chosen.
///
/// - Active checks: `unhealthyThreshold` failed checks in a row make a target unhealthy,
///   `healthyThreshold` passed ones make it healthy again. Targets start healthy.
/// - Outlier detection: `consecutiveFailures` failures of real traffic in a row (5xx, timeouts,
///   connection failures) eject a target for `ejectionTime`, doubled for each repeat ejection up
///   to ten times; a target that stayed in for four ejection times starts over. Never more than
///   `maxEjectionPercent` of the targets are ejected at once (at least one may be, at least one
///   always stays).
public struct UpstreamHealth: Sendable {
    public enum State: String, Sendable, Equatable {
        case healthy, unhealthy, ejected
    }

    public struct Change: Sendable, Equatable {
        public var target: Int
        public var from: State
        public var to: State
        public var reason: String
    }

    struct Target: Sendable {
        var checkedHealthy = true
        var checkPasses = 0
        var checkFailures = 0
        var consecutiveFailures = 0
        var ejectedUntil: Int64?
        var ejections = 0
        var lastEjectionEnd: Int64?
    }

    public let healthCheck: ResilienceConfig.HealthCheck?
    public let outlier: ResilienceConfig.OutlierDetection?
    private(set) var targets: [Target]

    public init(targets: Int, healthCheck: ResilienceConfig.HealthCheck?, outlier: ResilienceConfig.OutlierDetection?) {
        self.healthCheck = healthCheck
        self.outlier = outlier
        self.targets = Array(repeating: Target(), count: targets)
    }

    public var count: Int { targets.count }

    public func state(_ index: Int) -> State {
        let t = targets[index]
        if t.ejectedUntil != nil { return .ejected }
        return t.checkedHealthy ? .healthy : .unhealthy
    }

    /// Whether target `index` may be chosen at `now` (healthy and not ejected).
    public func isAvailable(_ index: Int, now: Int64) -> Bool {
        let t = targets[index]
        if let until = t.ejectedUntil, until > now { return false }
        return t.checkedHealthy
    }

    /// The targets that may be chosen, as a bit set (bit i: target i); at most 64 targets are tracked.
    public func available(now: Int64) -> UInt64 {
        var mask: UInt64 = 0
        for i in 0..<min(targets.count, 64) where isAvailable(i, now: now) { mask |= 1 << UInt64(i) }
        return mask
    }

    // MARK: active checks

    /// One active check of target `index` passed or failed.
    public mutating func checked(_ index: Int, passed: Bool, reason: String, now: Int64) -> Change? {
        guard let hc = healthCheck else { return nil }
        let before = state(index)
        if passed {
            targets[index].checkPasses += 1
            targets[index].checkFailures = 0
            if !targets[index].checkedHealthy && targets[index].checkPasses >= hc.healthyThreshold {
                targets[index].checkedHealthy = true
            }
        } else {
            targets[index].checkFailures += 1
            targets[index].checkPasses = 0
            if targets[index].checkedHealthy && targets[index].checkFailures >= hc.unhealthyThreshold {
                targets[index].checkedHealthy = false
            }
        }
        let after = state(index)
        return before == after ? nil : Change(target: index, from: before, to: after, reason: reason)
    }

    // MARK: outlier detection

    public enum Outcome: Sendable, Equatable {
        case success
        /// A 5xx answer, a timeout, a connection failure or a reset.
        case failure
    }

    /// The outcome of one real request to target `index`.
    public mutating func record(_ index: Int, _ outcome: Outcome, reason: String, now: Int64) -> Change? {
        guard let od = outlier else { return nil }
        switch outcome {
        case .success:
            targets[index].consecutiveFailures = 0
            return nil
        case .failure:
            targets[index].consecutiveFailures += 1
            guard targets[index].consecutiveFailures >= od.consecutiveFailures, targets[index].ejectedUntil == nil else {
                return nil
            }
            guard ejectedCount < maxEjected else { return nil }
            let before = state(index)
            if let end = targets[index].lastEjectionEnd, now - end > 4 * Self.nanoseconds(od.ejectionTime) {
                targets[index].ejections = 0
            }
            targets[index].ejections += 1
            let factor = min(1 << min(targets[index].ejections - 1, 4), 10)
            targets[index].ejectedUntil = now + Int64(factor) * Self.nanoseconds(od.ejectionTime)
            targets[index].consecutiveFailures = 0
            return Change(target: index, from: before, to: .ejected,
                          reason: "\(od.consecutiveFailures) failures in a row (\(reason)); ejected for \(factor) × ejectionTime")
        }
    }

    private var ejectedCount: Int { targets.filter { $0.ejectedUntil != nil }.count }

    /// How many targets may be ejected at once: `maxEjectionPercent` of them, at least one, and
    /// never all.
    var maxEjected: Int {
        guard let od = outlier, targets.count > 1 else { return 0 }
        return min(targets.count - 1, max(1, targets.count * od.maxEjectionPercent / 100))
    }

    /// Ends the ejections that are over at `now`.
    public mutating func expire(now: Int64) -> [Change] {
        var changes: [Change] = []
        for i in targets.indices {
            guard let until = targets[i].ejectedUntil, until <= now else { continue }
            targets[i].ejectedUntil = nil
            targets[i].lastEjectionEnd = now
            changes.append(Change(target: i, from: .ejected, to: state(i), reason: "ejection time over"))
        }
        return changes
    }

    /// When the next ejection ends, if one is running.
    public var nextExpiry: Int64? { targets.compactMap(\.ejectedUntil).min() }

    public static func nanoseconds(_ d: Duration) -> Int64 {
        let c = d.components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
