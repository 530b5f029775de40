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
