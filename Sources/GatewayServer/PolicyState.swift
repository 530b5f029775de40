import Foundation
import GatewayCore
import GatewayPlan
import GatewayPolicies
import GatewayStore
import Logging
import NIOConcurrencyHelpers

/// The API keys and limits a running gateway enforces: an in-memory key snapshot refreshed from
/// the state store every second (no database read per request), and the rate limiter whose quota
/// counts are written behind to the store in one batch per second.
final class PolicyState: Sendable {
    let limiter = RateLimiter()
    private let snapshot = NIOLockedValueBox(KeySnapshot.empty)
    private let storeBox = NIOLockedValueBox<(store: StateStore?, path: String, fingerprint: String)>((nil, "", ""))
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    let logger: Logger

    /// How often keys are refreshed and quota counts written.
    static let interval: Duration = .seconds(1)

    init(logger: Logger) {
        self.logger = logger
    }

    var keys: KeySnapshot { snapshot.withLockedValue { $0 } }

    /// Opens the store and loads keys and this period's quota counts. Called at start and on
    /// reload, only when some operation asks for an API key. A reload that names another `state`
    /// file writes the last counts to the old one and moves to the new one; the same file stays open.
    func open(path: String, plans: [String: GatewayConfig.Plan]) throws {
        let current = storeBox.withLockedValue { $0 }
        if current.store != nil && current.path == path { return }
        let store = try StateStore(path: path)
        if current.store != nil { flush() }
        storeBox.withLockedValue { $0 = (store, path, "") }
        try refresh()
        for key in keys.records {
            guard let period = plans[key.plan]?.quota?.period else { continue }
            limiter.seed(try store.quotaUsage(keyId: key.id, period: period), period: period)
        }
        if current.store == nil { startLoop() }
        if current.store != nil { logger.notice("state store moved", metadata: ["from": "\(current.path)", "to": "\(path)"]) }
    }

    /// The path of the open store, if one is open.
    var storePath: String? { storeBox.withLockedValue { $0.store == nil ? nil : $0.path } }

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

    /// Reloads the snapshot when the keys table changed.
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

    /// Writes the quota counts that changed.
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
                do { try refresh() } catch { logger.error("cannot refresh keys", metadata: ["error": "\(error)"]) }
                flush()
            }
        }
        task.withLockedValue { $0 = loop }
    }

    /// Stops the loop and writes the last counts.
    func stop() {
        task.withLockedValue { $0?.cancel() }
        flush()
    }
}
