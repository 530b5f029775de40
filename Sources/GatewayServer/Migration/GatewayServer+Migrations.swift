import GatewayMigration

extension GatewayServer {
    /// A migrating route's state now — stage, weight, transitions, counts and mismatch report — by
    /// its operationId (or `METHOD /path`); nil when the route does not migrate.
    public func migration(_ route: String) -> MigrationController? {
        shared.migrations.snapshot(route)
    }
}
