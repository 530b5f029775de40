import Atomics
import GatewayMigration
import GatewayPlan
import Logging
import NIOConcurrencyHelpers

/// One migrating route's live state for the whole process: its controller (stage, rollback window,
/// mismatch report, counts) behind a lock, and the number of shadow copies in flight. The data
/// plane asks it where each request goes and reports every answer; it logs each transition.
final class MigrationRoute: Sendable {
    /// The route's name in logs and reports: the operationId, or `METHOD /path`.
    let name: String
    let config: MigrationConfig
    private let controller: NIOLockedValueBox<MigrationController>
    private let shadowsInFlight = ManagedAtomic(0)
    private let logger: Logger
    /// Shadow copies in flight per route; beyond it copies are dropped (counted), never queued.
    static let maxShadows = 64

    init(name: String, config: MigrationConfig, logger: Logger) {
        self.name = name
        self.config = config
        self.logger = logger
        let now = WallClock.nowMilliseconds()
        self.controller = NIOLockedValueBox(MigrationController(config: config, state: MigrationState(config: config, now: now)))
    }

    struct Decision {
        var toCandidate: Bool
        var shadow: Bool
        var noise: Bool
    }

    /// Where one request goes: answered by the candidate or legacy, copied to the candidate or
    /// not, and whether legacy is asked twice (noise learning).
    func decide(method: String, identity: String?, requestId: String) -> Decision {
        let now = WallClock.nowMilliseconds()
        let (decision, transition) = controller.withLockedValue { c -> (Decision, MigrationState.Transition?) in
            let t = c.tick(now: now)
            let toCandidate = c.candidateAnswers(identity: identity, requestId: requestId, route: name)
            let shadow = !toCandidate && c.shadows(method: method, roll: Int.random(in: 0..<100))
            let noise = shadow && Int.random(in: 0..<100) < c.config.compare.noise
            if toCandidate { c.counts.candidate += 1 } else { c.counts.legacy += 1 }
            return (Decision(toCandidate: toCandidate, shadow: shadow, noise: noise), t)
        }
        if let transition { log(transition) }
        return decision
    }

    /// A shadow copy may start (under the cap); false: dropped and counted.
    func startShadow() -> Bool {
        let now = shadowsInFlight.wrappingIncrementThenLoad(ordering: .relaxed)
        if now > Self.maxShadows {
            shadowsInFlight.wrappingDecrement(ordering: .relaxed)
            controller.withLockedValue { $0.counts.dropped += 1 }
            return false
        }
        controller.withLockedValue { $0.counts.shadowed += 1 }
        return true
    }

    func shadowEnded() { shadowsInFlight.wrappingDecrement(ordering: .relaxed) }

    /// An answer from the candidate or legacy, with its latency in microseconds; may roll back.
    func answered(candidate: Bool, latency: Int64, failed: Bool, fellBack: Bool = false) {
        let now = WallClock.nowMilliseconds()
        let transition = controller.withLockedValue { c -> MigrationState.Transition? in
            if candidate && failed { c.counts.candidateErrors += 1 }
            if fellBack { c.counts.fallbacks += 1 }
            return c.record(candidate: candidate, latency: latency, failed: failed, now: now)
        }
        if let transition { log(transition) }
    }

    /// The noise patterns learned so far (ignored by comparisons).
    var noise: [PointerPattern] { controller.withLockedValue { $0.report.noisePatterns } }

    /// One comparison of a shadowed request's two answers.
    func compared(_ sample: MismatchReport.Sample) {
        controller.withLockedValue { c in
            c.report.record(sample)
            if sample.differences.isEmpty { c.counts.matched += 1 } else { c.counts.mismatched += 1 }
        }
        guard !sample.differences.isEmpty else { return }
        let shown = sample.differences.prefix(5).map { "\($0.pointer): \($0.legacy) → \($0.candidate)" }
        logger.info("migration: the candidate answered differently", metadata: [
            "route": "\(name)", "request_id": "\(sample.requestId)", "path": "\(sample.path)",
            "differences": "\(shown.joined(separator: "; "))\(sample.differences.count > 5 ? "; …" : "")",
        ])
    }

    /// Legacy answered the same request twice, differently at these pointers.
    func learnedNoise(_ differences: [ResponseComparer.Difference]) {
        let added = controller.withLockedValue { $0.report.learnNoise(differences) }
        if !added.isEmpty {
            logger.notice("migration: legacy disagrees with itself; ignored from now on",
                          metadata: ["route": "\(name)", "pointers": "\(added.joined(separator: ", "))"])
        }
    }

    /// A copy of the controller (for reports and tests).
    var snapshot: MigrationController { controller.withLockedValue { $0 } }

    private func log(_ t: MigrationState.Transition) {
        let metadata: Logger.Metadata = [
            "route": "\(name)", "from": "\(t.from.rawValue)", "to": "\(t.to.rawValue)", "weight": "\(t.toWeight)",
            "reason": "\(t.reason)", "by": "\(t.by.rawValue)",
        ]
        if t.to < t.from {
            logger.warning("migration rolled back", metadata: metadata)
        } else {
            logger.notice("migration moved", metadata: metadata)
        }
    }
}
