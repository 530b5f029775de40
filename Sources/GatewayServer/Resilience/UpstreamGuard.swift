import Atomics
import GatewayPlan
import GatewayResilience
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One upstream's resilience state for the whole process (every event loop): its targets'
/// health from active checks and real traffic, the round-robin position, requests in flight per
/// target, the retry budget and the circuit limits. Exchanges ask it for a target and tell it
/// how each attempt went; the pure machines in GatewayResilience decide, this class only locks
/// and logs. Kept across reloads while the upstream's configuration is unchanged, so a reload
/// does not forget which targets are down.
final class UpstreamGuard: Sendable {
    let upstream: Upstream
    var config: ResilienceConfig { upstream.resilience }
    let limits: UpstreamLimits?
    private let state: NIOLockedValueBox<State>
    private let inFlight: [ManagedAtomic<Int>]
    private let logger: Logger

    private struct State {
        var health: UpstreamHealth
        var budget: RetryBudget?
        var cursor = 0
        var panic = false
        var random = SystemRandomNumberGenerator()
    }

    init(upstream: Upstream, logger: Logger) {
        self.upstream = upstream
        self.logger = logger
        let config = upstream.resilience
        self.limits = config.limits.map(UpstreamLimits.init)
        self.inFlight = upstream.targets.map { _ in ManagedAtomic(0) }
        self.state = NIOLockedValueBox(State(
            health: UpstreamHealth(targets: upstream.targets.count, healthCheck: config.healthCheck,
                                   outlier: config.outlierDetection),
            budget: config.retries.map { RetryBudget(fraction: $0.budget) }))
    }

    /// Whether anything beyond plain round-robin is configured (else the dispatcher does not use a guard).
    static func isNeeded(for upstream: Upstream) -> Bool {
        let r = upstream.resilience
        return r.healthCheck != nil || r.outlierDetection != nil || r.retries != nil || r.limits != nil
            || r.balance != .roundRobin
    }

    static func clock(_ deadline: NIODeadline) -> Int64 { Int64(deadline.uptimeNanoseconds) }

    // MARK: choosing

    /// The target for an attempt: an available one this request has not tried, else (panic) any.
    /// The chosen target's in-flight count is raised; `finished` lowers it.
    func choose(tried: UInt64, now: NIODeadline) -> Int {
        let clock = Self.clock(now)
        let (choice, changes, panicChanged) = state.withLockedValue { s -> (TargetChooser.Choice, [UpstreamHealth.Change], Bool?) in
            var changes: [UpstreamHealth.Change] = []
            if let expiry = s.health.nextExpiry, expiry <= clock { changes = s.health.expire(now: clock) }
            let inFlight = self.inFlight
            var random = s.random
            let choice = TargetChooser.choose(
                count: s.health.count, available: s.health.available(now: clock), tried: tried, balance: config.balance,
                cursor: &s.cursor, inFlight: { inFlight[$0].load(ordering: .relaxed) },
                random: { Int.random(in: 0..<$0, using: &random) })
            s.random = random
            var panicChanged: Bool?
            if choice.panic != s.panic && tried == 0 {
                s.panic = choice.panic
                panicChanged = choice.panic
            }
            return (choice, changes, panicChanged)
        }
        log(changes)
        if let panicChanged {
            if panicChanged {
                logger.warning("no healthy target left: trying all of them (panic)", metadata: ["upstream": "\(upstream.name)"])
            } else {
                logger.notice("a healthy target is back: panic over", metadata: ["upstream": "\(upstream.name)"])
            }
        }
        inFlight[choice.index].wrappingIncrement(ordering: .relaxed)
        return choice.index
    }

    /// An attempt on target `index` ended (answered, failed or cancelled).
    func finished(_ index: Int) {
        inFlight[index].wrappingDecrement(ordering: .relaxed)
    }

    // MARK: outcomes

    /// How an attempt on target `index` went, from real traffic (outlier detection).
    func record(_ index: Int, success: Bool, reason: String, now: NIODeadline) {
        guard config.outlierDetection != nil else { return }
        let change = state.withLockedValue { s in
            s.health.record(index, success ? .success : .failure, reason: reason, now: Self.clock(now))
        }
        if let change { log([change]) }
    }

    /// How an active check of target `index` went.
    func checked(_ index: Int, passed: Bool, reason: String, now: NIODeadline) {
        let change = state.withLockedValue { s in
            s.health.checked(index, passed: passed, reason: reason, now: Self.clock(now))
        }
        if let change { log([change]) }
    }

    /// Each target's state now (for tests and logs).
    func states(now: NIODeadline) -> [UpstreamHealth.State] {
        state.withLockedValue { s in
            let clock = Self.clock(now)
            return (0..<s.health.count).map { s.health.isAvailable($0, now: clock) ? .healthy : s.health.state($0) }
        }
    }

    // MARK: retries

    /// A request's first attempt (counted by the retry budget).
    func requestStarted(now: NIODeadline) {
        guard config.retries != nil else { return }
        state.withLockedValue { $0.budget?.recordRequest(now: Self.clock(now)) }
    }

    /// Whether the budget allows one more retry now (counted when it does).
    func tryRetry(now: NIODeadline) -> Bool {
        state.withLockedValue { $0.budget?.tryRetry(now: Self.clock(now)) ?? false }
    }

    // MARK: logs

    private func log(_ changes: [UpstreamHealth.Change]) {
        for change in changes {
            logger.notice("upstream target state changed", metadata: [
                "upstream": "\(upstream.name)", "target": "\(upstream.targets[change.target])",
                "from": "\(change.from.rawValue)", "to": "\(change.to.rawValue)", "reason": "\(change.reason)",
            ])
        }
    }
}
