import GatewayPlan
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Every upstream's guard and health checker, across reloads: an upstream whose configuration
/// did not change keeps its guard (its targets' health, budget and limits) and its checks; a
/// changed or removed one has its checks stopped and a new guard made.
final class UpstreamGuards: Sendable {
    private struct Entry {
        let upstreamGuard: UpstreamGuard
        let checker: HealthChecker?
        /// The TLS settings the checks were made with (a changed CA file makes new checks).
        let tlsSettings: String?
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    private let loop: any EventLoop
    private let logger: Logger

    init(loop: any EventLoop, logger: Logger) {
        self.loop = loop
        self.logger = logger
    }

    /// The guards for `runtime`'s upstreams (only those that configure resilience), reusing
    /// unchanged ones.
    func update(for runtime: GatewayRuntime) -> [String: UpstreamGuard] {
        let (result, stopped) = entries.withLockedValue { entries -> ([String: UpstreamGuard], [Entry]) in
            var next: [String: Entry] = [:]
            for (name, upstream) in runtime.plan.config.upstreams where UpstreamGuard.isNeeded(for: upstream) {
                let tls = runtime.upstreamTLS[name]
                if let old = entries[name], old.upstreamGuard.upstream == upstream, old.tlsSettings == tls?.settings {
                    next[name] = old
                    continue
                }
                let upstreamGuard = UpstreamGuard(upstream: upstream, logger: logger)
                let checker = upstream.resilience.healthCheck.map {
                    HealthChecker(guard: upstreamGuard, check: $0, tls: tls?.context, loop: loop)
                }
                next[name] = Entry(upstreamGuard: upstreamGuard, checker: checker, tlsSettings: tls?.settings)
            }
            let stopped = entries.filter { next[$0.key]?.upstreamGuard !== $0.value.upstreamGuard }.map(\.value)
            entries = next
            return (next.mapValues(\.upstreamGuard), stopped)
        }
        for entry in stopped { entry.checker?.stop() }
        return result
    }

    /// The guard of upstream `name`, when it has one.
    func guardFor(_ name: String) -> UpstreamGuard? {
        entries.withLockedValue { $0[name]?.upstreamGuard }
    }

    /// Stops every health check (at shutdown, before the event loops stop).
    func stopAll() {
        let all = entries.withLockedValue { entries in
            defer { entries = [:] }
            return Array(entries.values)
        }
        for entry in all { entry.checker?.stop() }
    }
}
