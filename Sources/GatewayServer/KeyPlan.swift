import GatewayPlan

/// A plan as a running gateway applies it to keyed requests: its configuration and its
/// `RateLimit-Policy` value, made once per runtime. A validated key refers to it (one reference
/// in `RequestContext.Key`, not the plan's fields copied), and the admission step reads the
/// policy from it instead of looking it up by name again.
final class KeyPlan: Sendable {
    let name: String
    let config: GatewayConfig.Plan
    /// The plan's `RateLimit-Policy` value (`RateLimitHeaders.policy`).
    let rateLimitPolicy: String

    init(name: String, config: GatewayConfig.Plan) {
        self.name = name
        self.config = config
        self.rateLimitPolicy = RateLimitHeaders.policy(plan: name, config: config)
    }
}
