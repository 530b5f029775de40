import Atomics

/// The circuit breaker of one upstream, for the whole process (every event loop): requests in
/// flight, open connections, and requests waiting for a connection. Over a limit the request is
/// refused at once (503) without touching the upstream.
public final class UpstreamLimits: Sendable {
    public let config: ResilienceConfig.Limits
    private let requests = ManagedAtomic(0)
    private let connections = ManagedAtomic(0)
    private let waiting = ManagedAtomic(0)

    public init(_ config: ResilienceConfig.Limits) {
        self.config = config
    }

    /// A request starts; false (and nothing counted) when `maxRequests` are in flight.
    public func startRequest() -> Bool {
        Self.acquire(requests, below: config.maxRequests)
    }

    public func endRequest() { requests.wrappingDecrement(ordering: .relaxed) }

    /// A connection is about to be opened; false when `maxConnections` are open.
    public func openConnection() -> Bool {
        Self.acquire(connections, below: config.maxConnections)
    }

    public func connectionClosed() { connections.wrappingDecrement(ordering: .relaxed) }

    /// A request waits for a connection; false when `maxPending` wait already.
    public func startWaiting() -> Bool {
        Self.acquire(waiting, below: config.maxPending)
    }

    public func endWaiting() { waiting.wrappingDecrement(ordering: .relaxed) }

    public var inFlight: Int { requests.load(ordering: .relaxed) }
    public var openConnections: Int { connections.load(ordering: .relaxed) }
    public var pending: Int { waiting.load(ordering: .relaxed) }

    private static func acquire(_ counter: ManagedAtomic<Int>, below limit: Int) -> Bool {
        var current = counter.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = counter.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }
}
