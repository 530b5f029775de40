import Foundation
import GatewayCore
import GatewayPolicies
import GRDB

/// The embedded state store: an SQLite file holding hashed API keys, quota counters and route
/// migrations (StateStore+Migrations.swift). Created
/// on first use. The CLI and a running gateway may use it at the same time (WAL mode).
public final class StateStore: StateBackend {
    public enum StoreError: Error, CustomStringConvertible {
        case noSuchKey(String)
        case unknownPlan(String, known: [String])

        public var description: String {
            switch self {
            case .noSuchKey(let id): return "no key with id \(id)"
            case .unknownPlan(let plan, let known):
                return "no plan named '\(plan)' in the configuration (plans: \(known.joined(separator: ", ")))"
            }
        }
    }

    let pool: DatabasePool
    public let path: String
    public var location: String { path }

    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: configuration)
        try StateStore.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE api_keys (
                  id TEXT PRIMARY KEY NOT NULL,
                  name TEXT,
                  plan TEXT NOT NULL,
                  digest BLOB NOT NULL UNIQUE,
                  created_at DOUBLE NOT NULL,
                  expires_at DOUBLE,
                  revoked_at DOUBLE,
                  rotated_to TEXT
                );
                CREATE TABLE quota_usage (
                  key_id TEXT NOT NULL,
                  period_start INTEGER NOT NULL,
                  used INTEGER NOT NULL,
                  PRIMARY KEY (key_id, period_start)
                );
                """)
        }
        migrator.registerMigration("v2-migrations") { db in
            try db.execute(sql: """
                CREATE TABLE migration_state (
                  route TEXT PRIMARY KEY NOT NULL,
                  stage TEXT NOT NULL,
                  weight INTEGER NOT NULL,
                  since INTEGER NOT NULL,
                  version INTEGER NOT NULL,
                  report TEXT,
                  report_updated INTEGER
                );
                CREATE TABLE migration_transitions (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  route TEXT NOT NULL,
                  time INTEGER NOT NULL,
                  from_stage TEXT NOT NULL,
                  from_weight INTEGER NOT NULL,
                  to_stage TEXT NOT NULL,
                  to_weight INTEGER NOT NULL,
                  reason TEXT NOT NULL,
                  by TEXT NOT NULL
                );
                CREATE INDEX migration_transitions_route ON migration_transitions (route, id);
                CREATE TABLE migration_ignores (
                  route TEXT NOT NULL,
                  pointer TEXT NOT NULL,
                  PRIMARY KEY (route, pointer)
                );
                """)
        }
        return migrator
    }

    // MARK: keys

    /// Creates a key; returns its record and the secret, which is not stored and cannot be shown again.
    public func createKey(plan: String, name: String?, expiresAt: Double?, now: Double) throws -> (KeyRecord, String) {
        let secret = APIKey.generate()
        let record = KeyRecord(id: StateStore.newId(), name: name, plan: plan, digest: APIKey.digest(secret),
                               createdAt: now, expiresAt: expiresAt)
        try pool.write { db in try insert(record, db) }
        return (record, secret)
    }

    private func insert(_ r: KeyRecord, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO api_keys (id, name, plan, digest, created_at, expires_at, revoked_at, rotated_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [r.id, r.name, r.plan, Data(r.digest.bytes), r.createdAt, r.expiresAt, r.revokedAt, r.rotatedTo])
    }

    public func keys() throws -> [KeyRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, id").compactMap(StateStore.record)
        }
    }

    public func key(id: String) throws -> KeyRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).flatMap(StateStore.record)
        }
    }

    public func revoke(id: String, now: Double) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [now, id])
            if db.changesCount == 0, try Row.fetchOne(db, sql: "SELECT id FROM api_keys WHERE id = ?", arguments: [id]) == nil {
                throw StoreError.noSuchKey(id)
            }
        }
    }

    /// Issues a successor with the same plan and name; the old key stays valid for `overlap` seconds.
    public func rotate(id: String, overlap: Double, now: Double) throws -> (KeyRecord, String) {
        let secret = APIKey.generate()
        let record = try pool.write { db -> KeyRecord in
            guard let old = try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).flatMap(StateStore.record) else {
                throw StoreError.noSuchKey(id)
            }
            let new = KeyRecord(id: StateStore.newId(), name: old.name, plan: old.plan, digest: APIKey.digest(secret),
                                createdAt: now, expiresAt: old.expiresAt)
            try insert(new, db)
            let end = min(old.expiresAt ?? .infinity, now + overlap)
            try db.execute(sql: "UPDATE api_keys SET expires_at = ?, rotated_to = ? WHERE id = ?", arguments: [end, new.id, id])
            return new
        }
        return (record, secret)
    }

    /// A cheap fingerprint of the keys table: it changes when a key is created, revoked or rotated.
    public func keysFingerprint() throws -> String {
        try pool.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COUNT(*), TOTAL(created_at), TOTAL(revoked_at), TOTAL(expires_at), COUNT(rotated_to) FROM api_keys
                """)
            return row.map { "\($0[0] as Int64? ?? 0)/\($0[1] as Double? ?? 0)/\($0[2] as Double? ?? 0)/\($0[3] as Double? ?? 0)/\($0[4] as Int64? ?? 0)" } ?? ""
        }
    }

    // MARK: quotas

    /// Writes quota counts in one transaction (the gateway calls this about once a second).
    public func saveQuotas(_ usages: [RateLimiter.QuotaUsage]) throws {
        guard !usages.isEmpty else { return }
        try pool.write { db in
            for u in usages {
                try db.execute(sql: """
                    INSERT INTO quota_usage (key_id, period_start, used) VALUES (?, ?, ?)
                    ON CONFLICT (key_id, period_start) DO UPDATE SET used = max(used, excluded.used)
                    """, arguments: [u.keyId, u.periodStart, u.used])
            }
        }
    }

    /// The stored count of each key for the window that contains `now`.
    public func quotaUsage(keyId: String, period: QuotaPeriod, now: Double) throws -> RateLimiter.QuotaUsage {
        let start = period.window(containing: now).start
        let used = try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT used FROM quota_usage WHERE key_id = ? AND period_start = ?", arguments: [keyId, start])
        }
        return RateLimiter.QuotaUsage(keyId: keyId, periodStart: start, used: used ?? 0)
    }

    public func importKey(_ record: KeyRecord) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM api_keys WHERE id = ? OR digest = ?", arguments: [record.id, Data(record.digest.bytes)])
            try insert(record, db)
        }
    }

    public func quotaUsages() throws -> [RateLimiter.QuotaUsage] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT key_id, period_start, used FROM quota_usage ORDER BY key_id, period_start").map {
                RateLimiter.QuotaUsage(keyId: $0["key_id"], periodStart: $0["period_start"], used: $0["used"])
            }
        }
    }

    // MARK: helpers

    static func newId() -> String {
        var generator = SystemRandomNumberGenerator()
        let n = generator.next() as UInt64
        let s = String(n, radix: 36)
        return "key_" + String(repeating: "0", count: max(0, 12 - s.count)) + s
    }

    static func record(_ row: Row) -> KeyRecord? {
        guard let data: Data = row["digest"], let digest = KeyDigest(bytes: Array(data)) else { return nil }
        return KeyRecord(id: row["id"], name: row["name"], plan: row["plan"], digest: digest,
                         createdAt: row["created_at"], expiresAt: row["expires_at"], revokedAt: row["revoked_at"],
                         rotatedTo: row["rotated_to"])
    }
}
