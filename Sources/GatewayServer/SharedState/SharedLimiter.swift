import Atomics
import GatewayPlan
import GatewayPolicies
import GatewayRedis
import GatewayStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Admission decisions shared by every gateway instance on one Redis (`state: redis://…`): one
/// `EVALSHA` of `RedisAdmissionScript` per limited request, on the request's own event loop's
/// Redis connection (pipelined with the loop's other requests; no thread hop, no connection per
/// request). When Redis cannot answer, `stateFailure` decides, and the requests that went through
/// that way are counted and logged once a second.
final class SharedLimiter: Sendable {
    let configuration: RedisConfiguration
    /// One client per event loop of the server, built at start (looked up without a lock).
    private let clients: [ObjectIdentifier: RedisClient]
    /// Clients for loops outside the server's group (tests' own loops), made on first use.
    private let others = NIOLockedValueBox<[ObjectIdentifier: RedisClient]>([:])
    private let passed = ManagedAtomic<Int>(0)
    private let refused = ManagedAtomic<Int>(0)
    private let lastError = NIOLockedValueBox<String>("")
    private let failing = ManagedAtomic<Bool>(false)
    private let recovered = ManagedAtomic<Bool>(false)

    init(configuration: RedisConfiguration, loops: [any EventLoop]) throws {
        self.configuration = configuration
        var clients: [ObjectIdentifier: RedisClient] = [:]
        for loop in loops { clients[ObjectIdentifier(loop)] = try RedisClient(configuration: configuration, eventLoop: loop) }
        // With no loops given, one client still proves the TLS settings now (others are made on use).
        if loops.isEmpty { _ = try RedisClient(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next()) }
        self.clients = clients
    }

    private func client(for loop: any EventLoop) -> RedisClient {
        if let client = clients[ObjectIdentifier(loop)] { return client }
        return others.withLockedValue { others in
            if let client = others[ObjectIdentifier(loop)] { return client }
            // Same configuration as the others, which were built without error.
            let client = try! RedisClient(configuration: configuration, eventLoop: loop)
            others[ObjectIdentifier(loop)] = client
            return client
        }
    }

    /// Sends `request`'s admission script on `loop`'s own connection; the reply comes on `loop`.
    func admit(_ request: RateLimiter.Request, wallClock: Double, on loop: any EventLoop) -> EventLoopFuture<RESPValue> {
        let (keys, arguments) = RedisAdmissionScript.call(for: request, wallClock: wallClock)
        return client(for: loop).eval(RedisAdmissionScript.script, keys: keys, arguments: arguments).hop(to: loop)
    }

    /// Notes that Redis answered (after an outage: logged as recovered at the next report).
    func answered() {
        if failing.load(ordering: .relaxed) {
            failing.store(false, ordering: .relaxed)
            recovered.store(true, ordering: .relaxed)
        }
    }

    /// Counts a request decided by `stateFailure` because Redis did not answer, and decides it.
    func unavailable(_ error: any Error, failure: StateFailure) -> FilterStatus {
        (failure == .open ? passed : refused).wrappingIncrement(ordering: .relaxed)
        failing.store(true, ordering: .relaxed)
        lastError.withLockedValue { $0 = "\(error)" }
        return failure == .open ? .next : .respond(.serviceUnavailable)
    }

    /// Logs and counts what happened since the last call (once a second, from the policy loop).
    func report(_ logger: Logger, metrics: GatewayMetrics?) {
        let p = passed.exchange(0, ordering: .relaxed)
        let r = refused.exchange(0, ordering: .relaxed)
        if p > 0 || r > 0 {
            metrics?.stateUnavailable(passed: p, refused: r)
            logger.warning("shared state unreachable: limits not applied", metadata: [
                "state": "\(configuration.redacted)", "passedWithoutLimits": "\(p)", "refused": "\(r)",
                "error": "\(lastError.withLockedValue { $0 })",
            ])
        }
        if recovered.exchange(false, ordering: .relaxed) {
            logger.notice("shared state reachable again", metadata: ["state": "\(configuration.redacted)"])
        }
    }

    func close() {
        for client in clients.values { _ = client.close() }
        for client in others.withLockedValue({ Array($0.values) }) { _ = client.close() }
    }
}
