import GatewayMigration
import GatewayStore
import Logging
import NIOConcurrencyHelpers

/// Every migrating route's state, across reloads: a route whose migration settings did not change
/// keeps its stage, window, report and counts; a changed one starts again from the store (or its
/// configuration). With a state store attached, every route is synced with it once a second, so
/// that the CLI sees the gateway's counts and the gateway picks up the CLI's changes.
final class MigrationRoutes: Sendable {
    private struct Routes {
        var installed: [String: MigrationRoute] = [:]
        /// Routes bound by a table being built; installed by `commit`.
        var staged: [String: MigrationRoute] = [:]
        var store: (any StateBackend)?
        var syncing: Task<Void, Never>?
    }

    private let routes = NIOLockedValueBox(Routes())
    private let logger: Logger
    static let syncInterval: Duration = .seconds(1)

    init(logger: Logger) {
        self.logger = logger
    }

    /// The route named `name` with `config` for a table being built: the installed one when its
    /// settings are unchanged, else a new one.
    func route(_ name: String, config: MigrationConfig) -> MigrationRoute {
        routes.withLockedValue { r in
            if let existing = r.installed[name], existing.config == config {
                r.staged[name] = existing
                return existing
            }
            let route = MigrationRoute(name: name, config: config, logger: logger)
            r.staged[name] = route
            return route
        }
    }

    /// The table that bound the staged routes was installed: they are the routes now.
    func commit() {
        routes.withLockedValue { r in
            r.installed = r.staged
            r.staged = [:]
        }
    }

    /// A table failed to build: its staged routes are forgotten.
    func discardStaged() {
        routes.withLockedValue { $0.staged = [:] }
    }

    var isEmpty: Bool { routes.withLockedValue { $0.installed.isEmpty } }

    /// Uses `store` from now on: syncs every route once now (blocking), then every second.
    func attach(_ store: any StateBackend) {
        let previous = routes.withLockedValue { r -> Task<Void, Never>? in
            defer {
                r.store = store
                r.syncing = nil
            }
            return r.syncing
        }
        previous?.cancel()
        syncAll()
        let task = Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.syncInterval)
                if Task.isCancelled { break }
                syncAll()
            }
        }
        routes.withLockedValue { $0.syncing = task }
    }

    /// One round with the store for every installed route.
    func syncAll() {
        let (store, all) = routes.withLockedValue { ($0.store, Array($0.installed.values)) }
        guard let store else { return }
        var failed = false
        for route in all {
            do {
                try route.sync(with: store)
            } catch {
                failed = true
                // Once per outage, not once a second.
                if !syncFailing.withLockedValue({ $0 }) {
                    logger.error("migration: cannot sync with the state store", metadata: ["route": "\(route.name)", "error": "\(error)"])
                }
            }
        }
        let was = syncFailing.withLockedValue { state in
            defer { state = failed }
            return state
        }
        if was && !failed { logger.notice("migration: syncing with the state store again") }
    }

    private let syncFailing = NIOLockedValueBox(false)

    /// Stops syncing after one last round (at shutdown).
    func stop() {
        let task = routes.withLockedValue { r in
            defer { r.syncing = nil }
            return r.syncing
        }
        task?.cancel()
        syncAll()
    }

    /// The state of route `name`, if it migrates.
    func snapshot(_ name: String) -> MigrationController? {
        routes.withLockedValue { $0.installed[name]?.snapshot }
    }
}
