import Atomics
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
    /// Function invocations and authorizer callouts whose results have not come back to their
    /// event loop yet; shutdown waits for them before it stops the loops.
    private let outstanding = ManagedAtomic(0)

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

    /// A callout or invocation left the event loop; `calloutReturned` must follow on the loop.
    func calloutStarted() { outstanding.wrappingIncrement(ordering: .relaxed) }
    func calloutReturned() { outstanding.wrappingDecrement(ordering: .relaxed) }
    var outstandingCallouts: Int { outstanding.load(ordering: .relaxed) }

    /// Closes every loop's pooled upstream connections, on each loop.
    func closePools() async {
        let all = locals.withLockedValue { $0.values.map { $0 } }
        for box in all {
            try? await box.local.pool.eventLoop.submit { box.local.pool.closeAll() }.get()
        }
    }
}

/// Carries a loop's state across threads. The state itself is only used on its own event loop.
struct LoopLocalBox: @unchecked Sendable {
    let local: LoopLocal
}
