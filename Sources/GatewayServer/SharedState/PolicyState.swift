import Foundation
import GatewayCore
import GatewayPlan
import GatewayPolicies
import GatewayRedis
import GatewayStore
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The API keys and limits a running gateway enforces: an in-memory key snapshot refreshed from
/// the state store every second (no store read per request), and the limits. With an SQLite
/// `state` the rate limiter is in process and its quota counts are written behind to the file in
/// one batch per second; with `state: redis://…` the keyed buckets, operation buckets and quotas
/// are decided in Redis (`shared`), and only the gateway-wide throttle stays in process.
final class PolicyState: Sendable {
    let limiter = RateLimiter()
    /// Set when the state is shared (Redis), for the server's lifetime.
    let shared: SharedLimiter?
    /// The `state` the server started with; a reload may not move to another shared state.
    let startState: String
    private let snapshot = NIOLockedValueBox(KeySnapshot.empty)
    private let storeBox = NIOLockedValueBox<(store: (any StateBackend)?, location: String, fingerprint: String)>((nil, "", ""))
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let refreshFailing = NIOLockedValueBox(false)
    let logger: Logger
    let metrics: GatewayMetrics?

    /// How often keys are refreshed and quota counts written.
    static let interval: Duration = .seconds(1)

    init(logger: Logger, metrics: GatewayMetrics? = nil, state: String = "", loops: [any EventLoop] = []) throws {
        self.logger = logger
        self.metrics = metrics
        self.startState = state
        if RedisConfiguration.isRedisURL(state) {
            shared = try SharedLimiter(configuration: try RedisConfiguration(url: state), loops: loops)
        } else {
            shared = nil
        }
    }

    var keys: KeySnapshot { snapshot.withLockedValue { $0 } }

    /// Refuses a reload that would move to or from a shared state, or to another Redis: buckets
    /// and connections are set up for the state the server started with.
    func checkReload(state: String) -> String? {
        let wasShared = RedisConfiguration.isRedisURL(startState)
        let isShared = RedisConfiguration.isRedisURL(state)
        guard wasShared || isShared else { return nil }
        guard state != startState else { return nil }
        return "state: the gateway started with \(wasShared ? "a shared state (Redis)" : "an SQLite file"); moving to \(isShared ? "another shared state" : "an SQLite file") needs a restart"
    }

    /// The store that `location` names: the open one when it is the same, else one opened for it
    /// and kept (a reload does not open another connection to the same Redis).
    func backend(_ location: String) throws -> any StateBackend {
        let current = storeBox.withLockedValue { $0 }
        if let store = current.store, current.location == location { return store }
        return try other.withLockedValue { other in
            if let store = other.store, other.location == location { return store }
            (other.store as? RedisStateStore)?.close()
            let store = try StateBackends.open(location)
            other = (store, location)
            return store
        }
    }

    /// A store opened by `backend` for a location the key snapshot does not use (migrations only).
    private let other = NIOLockedValueBox<(store: (any StateBackend)?, location: String)>((nil, ""))

    /// Opens the store and loads keys and (SQLite) this period's quota counts. Called at start and
    /// on reload, when some operation asks for an API key or has a shared limit. A reload that
    /// names another SQLite file writes the last counts to the old one and moves to the new one;
    /// the same store stays open. A shared store that cannot be reached at start is retried every
    /// second (its keys are unknown until then).
    func open(location: String, plans: [String: GatewayConfig.Plan]) throws {
        let current = storeBox.withLockedValue { $0 }
        if current.store != nil && current.location == location { return }
        let store = try StateBackends.open(location)
        if current.store != nil { flush() }
        storeBox.withLockedValue { $0 = (store, location, "") }
        if shared != nil {
            do { try refresh() } catch { refreshFailed(error) }
        } else {
            try refresh()
            for key in keys.records {
                guard let period = plans[key.plan]?.quota?.period else { continue }
                limiter.seed(try store.quotaUsage(keyId: key.id, period: period), period: period)
            }
        }
        if current.store == nil { startLoop() }
        if current.store != nil { logger.notice("state store moved", metadata: ["from": "\(current.location)", "to": "\(store.location)"]) }
    }

    /// The location of the open store, if one is open.
    var storePath: String? { storeBox.withLockedValue { $0.store == nil ? nil : $0.location } }

    /// The route keys of the installed plan's operations and whether it has a gateway throttle:
    /// buckets of anything else are dropped (at install and whenever the keys change).
    private let live = NIOLockedValueBox<(operations: Set<String>, gateway: Bool)>(([], true))

    func prune(operations: Set<String>, gateway: Bool) {
        live.withLockedValue { $0 = (operations, gateway) }
        pruneBuckets()
    }

    private func pruneBuckets() {
        let now = Date().timeIntervalSince1970
        let keys = Set(keys.records.filter { $0.isValid(at: now) }.map(\.id))
        let (operations, gateway) = live.withLockedValue { $0 }
        limiter.prune(operations: operations, keys: keys, gateway: gateway)
    }

    /// Reloads the snapshot when the keys changed (SQLite: a fingerprint of the table; Redis: the
    /// version counter every change raises).
    func refresh() throws {
        guard let store = storeBox.withLockedValue({ $0.store }) else { return }
        let fingerprint = try store.keysFingerprint()
        guard fingerprint != storeBox.withLockedValue({ $0.fingerprint }) else { return }
        let fresh = KeySnapshot(try store.keys())
        snapshot.withLockedValue { $0 = fresh }
        storeBox.withLockedValue { $0.fingerprint = fingerprint }
        pruneBuckets()
        logger.debug("keys refreshed", metadata: ["keys": "\(fresh.count)"])
    }

    /// Logs a failed refresh once until one succeeds again; the last snapshot stays in use.
    private func refreshFailed(_ error: any Error) {
        let first = refreshFailing.withLockedValue { failing in
            defer { failing = true }
            return !failing
        }
        if first {
            logger.error("cannot refresh keys; the last ones stay in use", metadata: ["error": "\(error)", "keys": "\(keys.count)"])
        }
    }

    private func refreshed() {
        let was = refreshFailing.withLockedValue { failing in
            defer { failing = false }
            return failing
        }
        if was { logger.notice("keys refresh works again", metadata: ["keys": "\(keys.count)"]) }
    }

    /// Writes the quota counts that changed (SQLite; Redis counts as it admits).
    func flush() {
        guard let store = storeBox.withLockedValue({ $0.store }) else { return }
        let changed = limiter.drainChangedQuotas()
        do {
            try store.saveQuotas(changed)
        } catch {
            logger.error("cannot write quota counts", metadata: ["error": "\(error)", "counts": "\(changed.count)"])
        }
    }

    private func startLoop() {
        let loop = Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: PolicyState.interval)
                do {
                    try refresh()
                    refreshed()
                } catch {
                    refreshFailed(error)
                }
                flush()
                if let shared { shared.report(logger, metrics: metrics) }
            }
        }
        task.withLockedValue { $0 = loop }
    }

    /// Stops the loop and writes the last counts.
    func stop() {
        task.withLockedValue { $0?.cancel() }
        flush()
        shared?.close()
        if let redis = storeBox.withLockedValue({ $0.store }) as? RedisStateStore { redis.close() }
        if let redis = other.withLockedValue({ $0.store }) as? RedisStateStore { redis.close() }
    }
}
