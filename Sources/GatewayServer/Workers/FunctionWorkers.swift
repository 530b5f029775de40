import GatewayPlan
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The worker pools of the process functions, by name, kept across reloads: a reload whose
/// function configuration is unchanged keeps the warm workers; a changed one gets a new pool,
/// started while the old one still serves, and the old one drains (its queued and running
/// invocations finish) once the new route table is installed.
final class FunctionWorkers: Sendable {
    private struct State {
        var active: [String: ProcessFunctionPool] = [:]
        var staged: [String: ProcessFunctionPool] = [:]
        var used: Set<String> = []
        var stopped = false
    }
    private let state = NIOLockedValueBox(State())
    private let loop: any EventLoop
    private let logger: Logger

    init(loop: any EventLoop, logger: Logger) {
        self.loop = loop
        self.logger = logger
    }

    /// The pool for `config`: the running one when its workers would be the same, else a new
    /// one (staged until `commit`).
    func pool(for config: ProcessFunctionConfig) -> ProcessFunctionPool {
        state.withLockedValue { s in
            s.used.insert(config.name)
            if let pool = s.staged[config.name], pool.config.sameWorkers(as: config) { return pool }
            if let pool = s.active[config.name], pool.config.sameWorkers(as: config) { return pool }
            if let old = s.staged.removeValue(forKey: config.name) { _ = old.stop() }
            let pool = ProcessFunctionPool(config: config, loop: loop, logger: logger)
            s.staged[config.name] = pool
            return pool
        }
    }

    /// Starts the pools of every function in `config` (those not started yet).
    func prepare(_ config: GatewayConfig) -> [ProcessFunctionPool] {
        config.functions.values.sorted { $0.name < $1.name }.map { pool(for: $0) }
    }

    /// The new table is installed: staged pools become the active ones; pools no longer used drain.
    func commit() {
        let retired: [ProcessFunctionPool] = state.withLockedValue { s in
            var retired: [ProcessFunctionPool] = []
            for (name, pool) in s.staged {
                if let old = s.active[name] { retired.append(old) }
                s.active[name] = pool
            }
            s.staged = [:]
            for (name, pool) in s.active where !s.used.contains(name) {
                retired.append(pool)
                s.active[name] = nil
            }
            s.used = []
            return retired
        }
        for pool in retired {
            logger.info("retiring the workers of a changed or removed function", metadata: ["function": "\(pool.config.name)"])
            _ = pool.drain()
        }
    }

    /// The new table was refused: pools started for it stop.
    func discardStaged() {
        let staged = state.withLockedValue { s -> [ProcessFunctionPool] in
            defer { s.staged = [:]; s.used = [] }
            return Array(s.staged.values)
        }
        for pool in staged { _ = pool.stop() }
    }

    /// Every running pool has a worker that started (or there are none).
    var allWarm: Bool {
        state.withLockedValue { Array($0.active.values) }.allSatisfy(\.isWarm)
    }

    /// The running pool of `name`.
    func active(_ name: String) -> ProcessFunctionPool? { state.withLockedValue { $0.active[name] } }

    /// Waits until every pool's workers asked for work or failed to start, at most `limit`.
    func settled(limit: TimeAmount) async {
        let pools = state.withLockedValue { Array($0.active.values) + Array($0.staged.values) }
        guard !pools.isEmpty else { return }
        let all = EventLoopFuture.andAllComplete(pools.map { $0.settled() }, on: loop)
        let timeout = loop.makePromise(of: Void.self)
        let timer = loop.scheduleTask(in: limit) { timeout.succeed() }
        all.cascade(to: timeout)
        _ = try? await timeout.futureResult.get()
        timer.cancel()
    }

    /// Stops every worker (SIGTERM, then SIGKILL after a grace) and waits for them to exit.
    func stopAll() async {
        let pools = state.withLockedValue { s -> [ProcessFunctionPool] in
            s.stopped = true
            defer { s.active = [:]; s.staged = [:] }
            return Array(s.active.values) + Array(s.staged.values)
        }
        for pool in pools { _ = try? await pool.stop().get() }
    }
}
