import GatewayResilience
import NIOCore

/// What an upstream with resilience settings looks like now: each target's state and the circuit
/// counts (for operators' views and tests).
public struct UpstreamStatus: Sendable, Equatable {
    public var targets: [String: UpstreamHealth.State]
    public var inFlight: Int
    public var openConnections: Int
    public var pending: Int

    public init(targets: [String: UpstreamHealth.State], inFlight: Int, openConnections: Int, pending: Int) {
        self.targets = targets
        self.inFlight = inFlight
        self.openConnections = openConnections
        self.pending = pending
    }
}

extension GatewayServer {
    /// The status of upstream `name`; nil when it configures no resilience (or does not exist).
    public func upstreamStatus(_ name: String) -> UpstreamStatus? {
        guard let upstreamGuard = shared.guards.guardFor(name) else { return nil }
        let states = upstreamGuard.states(now: .now())
        let limits = upstreamGuard.limits
        return UpstreamStatus(
            targets: Dictionary(uniqueKeysWithValues: zip(upstreamGuard.upstream.targets.map(\.description), states)),
            inFlight: limits?.inFlight ?? 0, openConnections: limits?.openConnections ?? 0, pending: limits?.pending ?? 0)
    }
}
