import GatewayCore
import GatewayPlan
import GatewayPolicies
import NIOCore

/// Step 3: identifies the consumer by the gateway-issued API key the operation asks for, from
/// the in-memory key snapshot (no database read). A missing, malformed, unknown, revoked or
/// expired key on an operation that requires one is a 403.
struct APIKeyFilter: RequestFilter {
    let requirement: OperationPlan.APIKeyRequirement
    let policies: PolicyState
    /// The plans as this runtime knows them, by name (the key's entry carries its plan's name
    /// hashed).
    let plans: [HashedName: KeyPlan]

    func run(_ request: RequestContext, on loop: any EventLoop) -> FilterStatus {
        guard let presented = request.value(of: requirement) else {
            return requirement.optional ? .next : .respond(.forbidden)
        }
        let wallClock = Double(request.startWallClock) / 1000
        let found = request.keyMemo.map { policies.keys.entry(presented, at: wallClock, memo: $0) }
            ?? policies.keys.entry(presented, at: wallClock)
        guard let entry = found, let plan = plans[entry.plan] else {
            return .respond(.forbidden)
        }
        request.key = RequestContext.Key(name: entry.id, plan: plan)
        return .next
    }
}
