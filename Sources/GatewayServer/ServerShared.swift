import Logging
import NIOConcurrencyHelpers
import NIOCore

/// State shared by every connection of one server: the current runtime (swapped whole on reload),
/// each event loop's own state (upstream pool, request ids), and the logger.
final class ServerShared: Sendable {
    private let current: NIOLockedValueBox<GatewayRuntime>
    private let locals = NIOLockedValueBox<[ObjectIdentifier: LoopLocalBox]>([:])
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

    /// The state of `eventLoop`; created on first use. Looked up once per connection or stream.
    func local(for eventLoop: any EventLoop) -> LoopLocal {
        locals.withLockedValue { locals in
            let key = ObjectIdentifier(eventLoop)
            if let box = locals[key] { return box.local }
            let box = LoopLocalBox(local: LoopLocal(eventLoop: eventLoop))
            locals[key] = box
            return box.local
        }
    }

    func closePools() {
        let all = locals.withLockedValue { $0.values.map { $0 } }
        for box in all {
            box.local.pool.eventLoop.execute { box.local.pool.closeAll() }
        }
    }
}

/// Carries a loop's state across threads. The state itself is only used on its own event loop.
struct LoopLocalBox: @unchecked Sendable {
    let local: LoopLocal
}
