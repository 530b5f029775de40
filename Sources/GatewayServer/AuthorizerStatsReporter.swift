import GatewayCallouts
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Logs each authorizer's cache counts (hits, misses, waits on a callout in flight, errors,
/// evictions) once a minute when they changed, and once more at shutdown.
final class AuthorizerStatsReporter: Sendable {
    static let interval: TimeAmount = .seconds(60)

    private let shared: ServerShared
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)
    private let lastReported = NIOLockedValueBox<[String: String]>([:])

    init(shared: ServerShared) {
        self.shared = shared
    }

    func start(on loop: any EventLoop) {
        let repeated = loop.scheduleRepeatedTask(initialDelay: Self.interval, delay: Self.interval) { [self] _ in
            report()
        }
        task.withLockedValue { $0 = repeated }
    }

    func stop() {
        task.withLockedValue { $0?.cancel() }
        report()
    }

    func report() {
        for authorizer in shared.runtime.authorizers.all {
            let s = authorizer.stats
            let line = "hits=\(s.hits) misses=\(s.misses) waits=\(s.coalesced) errors=\(s.errors) evictions=\(s.evictions)"
            let changed = lastReported.withLockedValue { last in
                defer { last[authorizer.config.id] = line }
                return last[authorizer.config.id] != line
            }
            guard changed, s.hits + s.misses > 0 else { continue }
            shared.logger.info("authorizer cache", metadata: [
                "authorizer": "\(authorizer.config.id)", "hits": "\(s.hits)", "misses": "\(s.misses)",
                "waits": "\(s.coalesced)", "errors": "\(s.errors)", "evictions": "\(s.evictions)",
            ])
        }
    }
}
