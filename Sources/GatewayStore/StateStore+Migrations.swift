import Foundation
import GatewayMigration
import GRDB

/// Route migrations in the state store: each route's stage and weight (with a version that every
/// write raises, so the gateway sees a change made by the CLI), its transitions, the pointers
/// marked as noise by hand, and the latest report the gateway wrote (counts, differences, figures).
extension StateStore {
    public typealias StoredMigration = GatewayStore.StoredMigration

    public func migration(_ route: String) throws -> StoredMigration? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT stage, weight, since, version FROM migration_state WHERE route = ?", arguments: [route])
                .flatMap(Self.stored)
        }
    }

    /// Every route with a stored migration.
    public func migrationRoutes() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT route FROM migration_state ORDER BY route") }
    }

    /// Writes the route's stage and weight and appends `transitions`, when the stored version is
    /// still `expected` (nil: no row yet). Returns the new version, or nil when another writer
    /// changed the route first (then nothing was written).
    public func saveMigration(_ route: String, state: MigrationState, transitions: [MigrationState.Transition],
                              expected: Int64?) throws -> Int64? {
        try pool.write { db -> Int64? in
            let current = try Int64.fetchOne(db, sql: "SELECT version FROM migration_state WHERE route = ?", arguments: [route])
            guard current == expected else { return nil }
            let version = (current ?? 0) + 1
            try db.execute(sql: """
                INSERT INTO migration_state (route, stage, weight, since, version) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(route) DO UPDATE SET stage = excluded.stage, weight = excluded.weight, since = excluded.since,
                  version = excluded.version
                """, arguments: [route, state.stage.rawValue, state.weight, state.since, version])
            for t in transitions {
                try db.execute(sql: """
                    INSERT INTO migration_transitions (route, time, from_stage, from_weight, to_stage, to_weight, reason, by)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [route, t.time, t.from.rawValue, t.fromWeight, t.to.rawValue, t.toWeight, t.reason, t.by.rawValue])
            }
            return version
        }
    }

    /// The route's latest transitions, oldest first.
    public func migrationTransitions(_ route: String, limit: Int) throws -> [MigrationState.Transition] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT * FROM migration_transitions WHERE route = ? ORDER BY id DESC LIMIT ?) ORDER BY id
                """, arguments: [route, limit]).compactMap { row -> MigrationState.Transition? in
                guard let from = MigrationConfig.Stage(rawValue: row["from_stage"]), let to = MigrationConfig.Stage(rawValue: row["to_stage"]),
                      let by = MigrationState.Actor(rawValue: row["by"]) else { return nil }
                return MigrationState.Transition(time: row["time"], from: from, fromWeight: row["from_weight"], to: to,
                                                 toWeight: row["to_weight"], reason: row["reason"], by: by)
            }
        }
    }

    /// The report the gateway keeps for the route (JSON), replaced whole.
    public func saveMigrationReport(_ route: String, json: String, now: Int64) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE migration_state SET report = ?, report_updated = ? WHERE route = ?", arguments: [json, now, route])
        }
    }

    public func migrationReport(_ route: String) throws -> (json: String, updated: Int64)? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT report, report_updated FROM migration_state WHERE route = ?", arguments: [route]),
                  let json: String = row["report"], let updated: Int64 = row["report_updated"] else { return nil }
            return (json, updated)
        }
    }

    /// `gateway migrations ignore`: the pointer is noise for the route from now on.
    public func addMigrationIgnore(_ route: String, pointer: String) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO migration_ignores (route, pointer) VALUES (?, ?)", arguments: [route, pointer])
        }
    }

    public func migrationIgnores(_ route: String) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT pointer FROM migration_ignores WHERE route = ? ORDER BY pointer", arguments: [route])
        }
    }

    static func stored(_ row: Row) -> StoredMigration? {
        guard let stage = MigrationConfig.Stage(rawValue: row["stage"]) else { return nil }
        return StoredMigration(stage: stage, weight: row["weight"], since: row["since"], version: row["version"])
    }
}
