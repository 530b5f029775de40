/// The candidate's and legacy's recent outcomes over the rollback window (pure), and the decision
/// they lead to. Recording and the error rate are amortized O(1) per answer; latency percentiles
/// sort the window, so the controller asks for them at most a few times a second.
public struct MigrationWindow: Sendable, Equatable {
    struct Sample: Sendable, Equatable {
        var time: Int64
        var latency: Int64
        var failed: Bool
    }

    /// Samples oldest first; those before `head` have left the window (dropped in batches).
    struct Samples: Sendable, Equatable {
        private(set) var items: [Sample] = []
        private(set) var head = 0
        private(set) var failures = 0

        var count: Int { items.count - head }
        var live: ArraySlice<Sample> { items[head...] }

        mutating func append(_ sample: Sample, max: Int) {
            items.append(sample)
            if sample.failed { failures += 1 }
            while count > max { dropFirst() }
            compact()
        }

        /// Drops the samples at or before `time`.
        mutating func drop(through time: Int64) {
            while head < items.count && items[head].time <= time { dropFirst() }
            compact()
        }

        private mutating func dropFirst() {
            if items[head].failed { failures -= 1 }
            head += 1
        }

        private mutating func compact() {
            if head >= 1024 && head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
        }

        mutating func removeAll() {
            items.removeAll()
            head = 0
            failures = 0
        }

        /// The nearest-rank percentile of the latencies.
        func percentile(_ p: Double) -> Int64? {
            guard count > 0 else { return nil }
            let sorted = live.map(\.latency).sorted()
            let rank = Int((Double(sorted.count) * p).rounded(.up)) - 1
            return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank))]
        }
    }

    public static let maxSamples = 20_000
    private var candidate = Samples()
    private var legacy = Samples()

    public init() {}

    /// An answer of the candidate (failed: 5xx, timeout, connection failure) or of legacy, with its
    /// latency in microseconds.
    public mutating func record(candidate isCandidate: Bool, latency: Int64, failed: Bool, now: Int64) {
        let sample = Sample(time: now, latency: latency, failed: failed)
        if isCandidate {
            candidate.append(sample, max: Self.maxSamples)
        } else {
            legacy.append(sample, max: Self.maxSamples)
        }
    }

    private mutating func prune(window: Duration, now: Int64) {
        let from = now - Self.milliseconds(window)
        candidate.drop(through: from)
        legacy.drop(through: from)
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
        prune(window: window, now: now)
        return Figures(candidateRequests: candidate.count, candidateErrorRate: errorRate,
                       candidateP50: candidate.percentile(0.5), candidateP99: candidate.percentile(0.99),
                       legacyRequests: legacy.count, legacyP50: legacy.percentile(0.5), legacyP99: legacy.percentile(0.99))
    }

    private var errorRate: Double {
        candidate.count == 0 ? 0 : Double(candidate.failures) * 100 / Double(candidate.count)
    }

    /// Why the candidate must be rolled back now, or nil: its error rate over the threshold, or
    /// (when `latency` is true) its p99 over `latency` times legacy's — each with at least
    /// `minRequests` answers in the window (legacy's too, for latency).
    public mutating func rollbackReason(_ config: MigrationConfig.Rollback, now: Int64, latency: Bool = true) -> String? {
        prune(window: config.window, now: now)
        guard candidate.count >= config.minRequests else { return nil }
        let rate = errorRate
        if rate > config.errorRate {
            return "candidate error rate \(Self.format(rate))% over \(candidate.count) requests in \(Self.format(Double(Self.milliseconds(config.window)) / 1000))s (threshold \(Self.format(config.errorRate))%)"
        }
        if latency, legacy.count >= config.minRequests, let c = candidate.percentile(0.99), let l = legacy.percentile(0.99), l > 0 {
            let factor = Double(c) / Double(l)
            if factor > config.latency {
                return "candidate p99 \(Self.format(Double(c) / 1000)) ms is \(Self.format(factor))x legacy's \(Self.format(Double(l) / 1000)) ms (threshold \(Self.format(config.latency))x)"
            }
        }
        return nil
    }

    /// Whether the latency rule can be judged now (enough answers on both sides).
    func latencyJudgeable(_ config: MigrationConfig.Rollback) -> Bool {
        candidate.count >= config.minRequests && legacy.count >= config.minRequests
    }

    /// Forgets everything (after a transition: the next stage is judged on its own traffic).
    public mutating func reset() {
        candidate.removeAll()
        legacy.removeAll()
    }

    public static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
