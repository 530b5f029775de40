/// One route's migration decisions (pure, injected clock in Unix milliseconds): its state, the
/// rollback window and the mismatch report, fed with outcomes; it rolls back, steps forward and
/// records transitions. The data plane asks it where a request goes; the shell persists it.
public struct MigrationController: Sendable {
    public let config: MigrationConfig
    public private(set) var state: MigrationState
    public private(set) var window = MigrationWindow()
    public var report = MismatchReport()
    /// When latency was last judged.
    private var latencyCheckedAt: Int64 = .min / 2
    public static let latencyCheckInterval: Int64 = 250
    public var counts = Counts()

    /// What happened on the route since the gateway started (the CLI's `counts`).
    public struct Counts: Sendable, Equatable, Codable {
        /// Answered by legacy, by the candidate.
        public var legacy = 0
        public var candidate = 0
        /// Copies sent to the candidate, and copies dropped at the concurrency cap.
        public var shadowed = 0
        public var dropped = 0
        /// Compared answers that matched or differed.
        public var matched = 0
        public var mismatched = 0
        /// Candidate 5xx, timeouts and connection failures; requests answered by legacy after one.
        public var candidateErrors = 0
        public var fallbacks = 0
        public init() {}
    }

    public init(config: MigrationConfig, state: MigrationState) {
        self.config = config
        self.state = state
    }

    /// Who answers a request: the candidate (canary share or primary) or legacy. `identity` is the
    /// sticky identity (nil when the request has none: then the choice is per request).
    public func candidateAnswers(identity: String?, requestId: String, route: String) -> Bool {
        switch state.stage {
        case .legacy, .shadow: return false
        case .primary: return true
        case .canary:
            return StickyChooser.toCandidate(identity: identity ?? requestId, route: route, weight: state.weight)
        }
    }

    /// Whether a request answered by legacy is also copied to the candidate: in shadow and canary,
    /// for the listed methods, `sample`% of them (`roll` in 0..<100).
    public func shadows(method: String, roll: Int) -> Bool {
        guard state.stage == .shadow || state.stage == .canary else { return false }
        return config.shadow.methods.contains(method) && roll < config.shadow.sample
    }

    /// An answer from the candidate (answering or shadowed) or legacy; may roll the route back.
    public mutating func record(candidate: Bool, latency: Int64, failed: Bool, now: Int64) -> MigrationState.Transition? {
        window.record(candidate: candidate, latency: latency, failed: failed, now: now)
        guard candidate, state.stage == .canary || state.stage == .primary else { return nil }
        // The error rate is judged on every answer; latency percentiles (a sort of the window) at
        // most every `latencyCheckInterval`.
        var checkLatency = false
        if now - latencyCheckedAt >= Self.latencyCheckInterval && window.latencyJudgeable(config.rollback) {
            checkLatency = true
            latencyCheckedAt = now
        }
        guard let reason = window.rollbackReason(config.rollback, now: now, latency: checkLatency) else { return nil }
        let t = state.set(.shadow, reason: "rollback: " + reason, by: .auto, now: now)
        window.reset()
        return t
    }

    /// Time passed: with automatic steps, a canary that spent `interval` at its step with no
    /// rollback moves to the next step, or to primary after the last.
    public mutating func tick(now: Int64) -> MigrationState.Transition? {
        guard state.stage == .canary, !config.canary.steps.isEmpty,
              now - state.since >= MigrationWindow.milliseconds(config.canary.interval) else { return nil }
        if window.rollbackReason(config.rollback, now: now) != nil { return nil }
        let t = state.promote(config: config.canary, reason: "step: \(config.canary.interval) without a rollback", by: .auto, now: now)
        if t != nil { window.reset() }
        return t
    }

    /// The rollback window's figures now.
    public mutating func figures(now: Int64) -> MigrationWindow.Figures {
        window.figures(window: config.rollback.window, now: now)
    }

    /// A change made elsewhere (CLI, admin, another instance) read from the store.
    public mutating func adopt(_ stored: MigrationState) {
        if stored.stage != state.stage || stored.weight != state.weight { window.reset() }
        state = stored
    }

    public mutating func promote(by: MigrationState.Actor, now: Int64) -> MigrationState.Transition? {
        let t = state.promote(config: config.canary, by: by, now: now)
        if t != nil { window.reset() }
        return t
    }

    public mutating func set(_ stage: MigrationConfig.Stage, weight: Int?, reason: String, by: MigrationState.Actor,
                             now: Int64) -> MigrationState.Transition? {
        let t = state.set(stage, weight: weight, reason: reason, by: by, now: now)
        if t != nil { window.reset() }
        return t
    }
}
