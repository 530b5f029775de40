/// The stage of one route's migration and how it got there (pure, injected clock in Unix
/// milliseconds): the stage and canary weight, automatic steps, rollback on the candidate's error
/// rate or latency over a sliding window, and the history of transitions.
public struct MigrationState: Sendable, Equatable {
    public typealias Stage = MigrationConfig.Stage

    public enum Actor: String, Sendable, Equatable, Codable {
        case cli, auto, admin
    }

    public struct Transition: Sendable, Equatable, Codable {
        public var time: Int64
        public var from: Stage
        public var fromWeight: Int
        public var to: Stage
        public var toWeight: Int
        public var reason: String
        public var by: Actor

        public init(time: Int64, from: Stage, fromWeight: Int, to: Stage, toWeight: Int, reason: String, by: Actor) {
            self.time = time
            self.from = from
            self.fromWeight = fromWeight
            self.to = to
            self.toWeight = toWeight
            self.reason = reason
            self.by = by
        }
    }

    public private(set) var stage: Stage
    /// Percent answered by the candidate in canary (100 in primary, 0 before canary).
    public private(set) var weight: Int
    /// When the current stage or step began.
    public private(set) var since: Int64
    public private(set) var transitions: [Transition] = []
    public static let keptTransitions = 100

    public init(stage: Stage, weight: Int, since: Int64) {
        self.stage = stage
        self.weight = stage == .canary ? weight : (stage == .primary ? 100 : 0)
        self.since = since
    }

    /// The state a fresh store starts with, from the configuration.
    public init(config: MigrationConfig, now: Int64) {
        let weight = config.canary.steps.first ?? config.canary.weight
        self.init(stage: config.stage, weight: weight, since: now)
    }

    /// Puts the stage and weight as given; returns the transition (nil when nothing changed).
    @discardableResult
    public mutating func set(_ stage: Stage, weight: Int? = nil, reason: String, by: Actor, now: Int64) -> Transition? {
        let newWeight: Int
        switch stage {
        case .legacy, .shadow: newWeight = 0
        case .canary: newWeight = min(100, max(0, weight ?? (self.stage == .canary ? self.weight : 5)))
        case .primary: newWeight = 100
        }
        guard stage != self.stage || newWeight != self.weight else { return nil }
        let t = Transition(time: now, from: self.stage, fromWeight: self.weight, to: stage, toWeight: newWeight, reason: reason, by: by)
        self.stage = stage
        self.weight = newWeight
        self.since = now
        transitions.append(t)
        if transitions.count > Self.keptTransitions { transitions.removeFirst(transitions.count - Self.keptTransitions) }
        return t
    }

    /// One stage or step forward: legacy → shadow → canary (first step, or the configured weight)
    /// → next steps → primary.
    @discardableResult
    public mutating func promote(config: MigrationConfig.Canary, reason: String = "promoted", by: Actor, now: Int64) -> Transition? {
        switch stage {
        case .legacy: return set(.shadow, reason: reason, by: by, now: now)
        case .shadow: return set(.canary, weight: config.steps.first ?? config.weight, reason: reason, by: by, now: now)
        case .canary:
            if let next = config.steps.first(where: { $0 > weight }) {
                return set(.canary, weight: next, reason: reason, by: by, now: now)
            }
            return set(.primary, reason: reason, by: by, now: now)
        case .primary: return nil
        }
    }

    /// Restores transitions read from the store (oldest first).
    public mutating func restore(transitions: [Transition]) {
        self.transitions = Array(transitions.suffix(Self.keptTransitions))
    }
}

/// The candidate's and legacy's recent outcomes over the rollback window (pure), and the decision
/// they lead to.
public struct MigrationWindow: Sendable, Equatable {
    struct Sample: Sendable, Equatable {
        var time: Int64
        var latency: Int64
        var failed: Bool
    }

    public static let maxSamples = 20_000
    private var candidate: [Sample] = []
    private var legacy: [Sample] = []

    public init() {}

    /// An answer of the candidate (failed: 5xx, timeout, connection failure) or of legacy, with its
    /// latency in microseconds.
    public mutating func record(candidate isCandidate: Bool, latency: Int64, failed: Bool, now: Int64) {
        let sample = Sample(time: now, latency: latency, failed: failed)
        if isCandidate {
            candidate.append(sample)
            if candidate.count > Self.maxSamples { candidate.removeFirst(candidate.count - Self.maxSamples) }
        } else {
            legacy.append(sample)
            if legacy.count > Self.maxSamples { legacy.removeFirst(legacy.count - Self.maxSamples) }
        }
    }

    private mutating func prune(window: Int64, now: Int64) {
        let from = now - window
        if let i = candidate.firstIndex(where: { $0.time > from }) { candidate.removeFirst(i) } else { candidate.removeAll() }
        if let i = legacy.firstIndex(where: { $0.time > from }) { legacy.removeFirst(i) } else { legacy.removeAll() }
    }

    /// Latencies in microseconds.
    public struct Figures: Sendable, Equatable, Codable {
        public var candidateRequests: Int
        public var candidateErrorRate: Double
        public var candidateP50: Int64?
        public var candidateP99: Int64?
        public var legacyRequests: Int
        public var legacyP50: Int64?
        public var legacyP99: Int64?
    }

    /// The window's figures at `now`.
    public mutating func figures(window: Duration, now: Int64) -> Figures {
        prune(window: Self.milliseconds(window), now: now)
        let failures = candidate.filter(\.failed).count
        return Figures(candidateRequests: candidate.count,
                       candidateErrorRate: candidate.isEmpty ? 0 : Double(failures) * 100 / Double(candidate.count),
                       candidateP50: Self.percentile(candidate, 0.5), candidateP99: Self.percentile(candidate, 0.99),
                       legacyRequests: legacy.count,
                       legacyP50: Self.percentile(legacy, 0.5), legacyP99: Self.percentile(legacy, 0.99))
    }

    /// Why the candidate must be rolled back now, or nil: its error rate over the threshold, or
    /// its p99 over `latency` times legacy's, each with at least `minRequests` answers in the
    /// window (legacy's too, for latency).
    public mutating func rollbackReason(_ config: MigrationConfig.Rollback, now: Int64) -> String? {
        let f = figures(window: config.window, now: now)
        guard f.candidateRequests >= config.minRequests else { return nil }
        if f.candidateErrorRate > config.errorRate {
            return "candidate error rate \(Self.format(f.candidateErrorRate))% over \(f.candidateRequests) requests in \(Self.format(Double(Self.milliseconds(config.window)) / 1000))s (threshold \(Self.format(config.errorRate))%)"
        }
        if f.legacyRequests >= config.minRequests, let c = f.candidateP99, let l = f.legacyP99, l > 0 {
            let factor = Double(c) / Double(l)
            if factor > config.latency {
                return "candidate p99 \(Self.format(Double(c) / 1000)) ms is \(Self.format(factor))x legacy's \(Self.format(Double(l) / 1000)) ms (threshold \(Self.format(config.latency))x)"
            }
        }
        return nil
    }

    /// Forgets everything (after a transition: the next stage is judged on its own traffic).
    public mutating func reset() {
        candidate.removeAll()
        legacy.removeAll()
    }

    /// The nearest-rank percentile.
    static func percentile(_ samples: [Sample], _ p: Double) -> Int64? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.map(\.latency).sorted()
        let rank = Int((Double(sorted.count) * p).rounded(.up)) - 1
        return sorted[max(0, min(sorted.count - 1, rank))]
    }

    public static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
