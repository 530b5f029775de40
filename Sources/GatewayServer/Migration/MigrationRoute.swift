import Atomics
import Foundation
import GatewayMigration
import GatewayPlan
import GatewayStore
import Logging
import NIOConcurrencyHelpers

/// One migrating route's live state for the whole process: its controller (stage, rollback window,
/// mismatch report, counts) behind a lock, and the number of shadow copies in flight. The data
/// plane asks it where each request goes and reports every answer; it logs each transition.
/// `sync` keeps it and the state store in step (the store wins: a change made by the CLI or
/// another instance is adopted; the gateway's own transitions are written when nobody else
/// changed the route meanwhile).
final class MigrationRoute: Sendable {
    /// The route's name in logs and reports: the operationId, or `METHOD /path`.
    let name: String
    let config: MigrationConfig
    private let state: NIOLockedValueBox<State>
    private let shadowsInFlight = ManagedAtomic(0)
    private let logger: Logger
    /// Shadow copies in flight per route; beyond it copies are dropped (counted), never queued.
    static let maxShadows = 64

    private struct State {
        var controller: MigrationController
        /// The stored version this state was read from or written as; nil before the first sync.
        var version: Int64?
        /// Transitions made here and not yet written.
        var unsaved: [MigrationState.Transition] = []
    }

    init(name: String, config: MigrationConfig, logger: Logger) {
        self.name = name
        self.config = config
        self.logger = logger
        let now = WallClock.nowMilliseconds()
        self.state = NIOLockedValueBox(State(controller: MigrationController(config: config, state: MigrationState(config: config, now: now))))
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
        let (decision, transition) = state.withLockedValue { s -> (Decision, MigrationState.Transition?) in
            let t = s.controller.tick(now: now)
            if let t { s.unsaved.append(t) }
            let c = s.controller
            let toCandidate = c.candidateAnswers(identity: identity, requestId: requestId, route: name)
            let shadow = !toCandidate && c.shadows(method: method, roll: Int.random(in: 0..<100))
            let noise = shadow && Int.random(in: 0..<100) < c.config.compare.noise
            if toCandidate { s.controller.counts.candidate += 1 } else { s.controller.counts.legacy += 1 }
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
            state.withLockedValue { $0.controller.counts.dropped += 1 }
            return false
        }
        state.withLockedValue { $0.controller.counts.shadowed += 1 }
        return true
    }

    func shadowEnded() { shadowsInFlight.wrappingDecrement(ordering: .relaxed) }

    /// An answer from the candidate or legacy, with its latency in microseconds; may roll back.
    func answered(candidate: Bool, latency: Int64, failed: Bool, fellBack: Bool = false) {
        let now = WallClock.nowMilliseconds()
        let transition = state.withLockedValue { s -> MigrationState.Transition? in
            if candidate && failed { s.controller.counts.candidateErrors += 1 }
            if fellBack { s.controller.counts.fallbacks += 1 }
            let t = s.controller.record(candidate: candidate, latency: latency, failed: failed, now: now)
            if let t { s.unsaved.append(t) }
            return t
        }
        if let transition { log(transition) }
    }

    /// The noise patterns learned so far (ignored by comparisons).
    var noise: [PointerPattern] { state.withLockedValue { $0.controller.report.noisePatterns } }

    /// One comparison of a shadowed request's two answers.
    func compared(_ sample: MismatchReport.Sample) {
        state.withLockedValue { s in
            s.controller.report.record(sample)
            if sample.differences.isEmpty { s.controller.counts.matched += 1 } else { s.controller.counts.mismatched += 1 }
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
        let added = state.withLockedValue { $0.controller.report.learnNoise(differences) }
        if !added.isEmpty {
            logger.notice("migration: legacy disagrees with itself; ignored from now on",
                          metadata: ["route": "\(name)", "pointers": "\(added.joined(separator: ", "))"])
        }
    }

    /// A copy of the controller (for reports and tests).
    var snapshot: MigrationController { state.withLockedValue { $0.controller } }

    // MARK: the state store

    /// One round with the store (blocking: called off the event loops). The first round adopts
    /// what the store holds (the stage survives restarts, counts and the report too), or writes
    /// the configured start.
    func sync(with store: any StateBackend) throws {
        let stored = try store.migration(name)
        let ignores = try store.migrationIgnores(name)
        let (first, known) = state.withLockedValue { ($0.version == nil, $0.version) }
        // What the store holds when it changed: its transitions, and on the first round the last
        // counts and report (they survive a restart).
        var transitions: [MigrationState.Transition] = []
        var restored: MigrationSnapshot?
        if let stored, stored.version != known {
            transitions = try store.migrationTransitions(name)
            if first {
                restored = try store.migrationReport(name).flatMap { try? JSONDecoder().decode(MigrationSnapshot.self, from: Data($0.json.utf8)) }
            }
        }
        let now = WallClock.nowMilliseconds()
        enum Write { case none, save(MigrationState, [MigrationState.Transition], Int64?) }
        let (write, adopted, json) = state.withLockedValue { s -> (Write, MigrationState?, String?) in
            var write = Write.none
            var adopted: MigrationState?
            if let stored, stored.version != s.version {
                // The store changed (the CLI, another instance) or this is the first round: it wins.
                var next = stored.state
                next.restore(transitions: transitions)
                if next.stage != s.controller.state.stage || next.weight != s.controller.state.weight { adopted = next }
                s.controller.adopt(next)
                s.version = stored.version
                s.unsaved.removeAll()
                if let snapshot = restored {
                    s.controller.counts = snapshot.counts
                    s.controller.report = snapshot.report
                }
            } else if stored == nil {
                write = .save(s.controller.state, s.controller.state.transitions, nil)
            } else if !s.unsaved.isEmpty {
                write = .save(s.controller.state, s.unsaved, s.version)
            }
            for pointer in ignores { s.controller.report.ignore(pointer) }
            let figures = s.controller.figures(now: now)
            let snapshot = MigrationSnapshot(counts: s.controller.counts, report: s.controller.report, figures: figures)
            let json = (try? JSONEncoder().encode(snapshot)).map { String(decoding: $0, as: UTF8.self) }
            return (write, adopted, json)
        }
        if let adopted, !first || adopted.stage != config.stage {
            logger.notice("migration: stage read from the state store", metadata: [
                "route": "\(name)", "stage": "\(adopted.stage.rawValue)", "weight": "\(adopted.weight)",
            ])
        }
        if case .save(let s, let transitions, let expected) = write,
           let version = try store.saveMigration(name, state: s, transitions: transitions, expected: expected) {
            state.withLockedValue { st in
                st.version = version
                st.unsaved.removeFirst(min(transitions.count, st.unsaved.count))
            }
        }
        if let json { try store.saveMigrationReport(name, json: json, now: now) }
    }

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
