import GatewayCore
import GatewayPlan
import GatewayPolicies

/// Phase 2: identifies the consumer by the gateway-issued API key the operation asks for, from the
/// in-memory key snapshot (no database read). A missing, malformed, unknown, revoked or expired key
/// on an operation that requires one is a 403.
enum APIKeyPhase {
    static func run(_ request: inout RequestContext, runtime: GatewayRuntime, policies: PolicyState) -> PhaseOutcome {
        guard let requirement = request.operation?.apiKey else { return .proceed }
        guard let presented = request.value(of: requirement) else {
            return requirement.optional ? .proceed : .answer(.forbidden)
        }
        let wallClock = Double(request.startWallClock) / 1000
        guard let record = policies.keys.lookup(presented, at: wallClock), let plan = runtime.plan.config.plans[record.plan] else {
            return .answer(.forbidden)
        }
        request.key = RequestContext.Key(id: record.id, planName: record.plan, plan: plan)
        return .proceed
    }
}
