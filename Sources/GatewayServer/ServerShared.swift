import Logging
import NIOConcurrencyHelpers
import NIOCore

/// State shared by every connection of one server: the current runtime (swapped whole on reload),
/// the per-event-loop upstream pools, and the logger.
final class ServerShared: Sendable {
    private let current: NIOLockedValueBox<GatewayRuntime>
    private let pools = NIOLockedValueBox<[ObjectIdentifier: UpstreamPoolBox]>([:])
    let logger: Logger
    let policies: PolicyState

    init(runtime: GatewayRuntime, logger: Logger) {
        self.current = NIOLockedValueBox(runtime)
        self.logger = logger
        self.policies = PolicyState(logger: logger)
    }

    var runtime: GatewayRuntime {
        get { current.withLockedValue { $0 } }
        set { current.withLockedValue { $0 = newValue } }
    }

    /// The pool of `eventLoop`; created on first use. Looked up once per connection or stream.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        pools.withLockedValue { pools in
            let key = ObjectIdentifier(eventLoop)
            if let box = pools[key] { return box.pool }
            let box = UpstreamPoolBox(pool: UpstreamPool(eventLoop: eventLoop))
            pools[key] = box
            return box.pool
        }
    }

    func closePools() {
        let all = pools.withLockedValue { $0.values.map { $0 } }
        for box in all {
            box.pool.eventLoop.execute { box.pool.closeAll() }
        }
    }
}

/// Carries a pool across threads. The pool itself is only used on its own event loop.
struct UpstreamPoolBox: @unchecked Sendable {
    let pool: UpstreamPool
}
