import GatewayMigration
import Logging
import NIOConcurrencyHelpers

/// Every migrating route's state, across reloads: a route whose migration settings did not change
/// keeps its stage, window, report and counts; a changed one starts again from its configuration.
final class MigrationRoutes: Sendable {
    private let routes = NIOLockedValueBox<[String: MigrationRoute]>([:])
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// The route named `name` with `config`, kept from the previous runtime when unchanged.
    func route(_ name: String, config: MigrationConfig) -> MigrationRoute {
        routes.withLockedValue { routes in
            if let existing = routes[name], existing.config == config { return existing }
            let route = MigrationRoute(name: name, config: config, logger: logger)
            routes[name] = route
            return route
        }
    }

    /// The state of route `name`, if it migrates.
    func snapshot(_ name: String) -> MigrationController? {
        routes.withLockedValue { $0[name]?.snapshot }
    }
}
