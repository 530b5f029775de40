import Foundation
import GatewayCore
import GatewayMigration
import GatewayPolicies
import GatewayRedis

/// Where a gateway keeps what outlives a request: API keys (digests only), quota counts and route
/// migrations. `StateStore` is the embedded SQLite file (one instance); `RedisStateStore` is shared
/// by every instance that names the same Redis (`state: redis://…`). The CLI and the gateway use
/// either through this protocol. Calls block: they run on the CLI's thread or the gateway's
/// once-a-second work, never on an event loop.
public protocol StateBackend: Sendable {
    /// The file path, or the Redis URL without its password.
    var location: String { get }

    // keys
    func createKey(plan: String, name: String?, expiresAt: Double?, now: Double) throws -> (KeyRecord, String)
    func keys() throws -> [KeyRecord]
    func key(id: String) throws -> KeyRecord?
    func revoke(id: String, now: Double) throws
    func rotate(id: String, overlap: Double, now: Double) throws -> (KeyRecord, String)
    /// Changes whenever a key is created, revoked or rotated (read once a second by every gateway).
    func keysFingerprint() throws -> String
    /// Stores a record as it is (`gateway state copy`); an existing key with the id is replaced.
    func importKey(_ record: KeyRecord) throws

    // quotas
    /// Raises stored counts to at least these (never lowers one).
    func saveQuotas(_ usages: [RateLimiter.QuotaUsage]) throws
    func quotaUsage(keyId: String, period: QuotaPeriod, now: Double) throws -> RateLimiter.QuotaUsage
    /// Every stored count (`gateway state copy`).
    func quotaUsages() throws -> [RateLimiter.QuotaUsage]

    // migrations
    func migration(_ route: String) throws -> StoredMigration?
    func migrationRoutes() throws -> [String]
    func saveMigration(_ route: String, state: MigrationState, transitions: [MigrationState.Transition], expected: Int64?) throws -> Int64?
    func migrationTransitions(_ route: String, limit: Int) throws -> [MigrationState.Transition]
    func saveMigrationReport(_ route: String, json: String, now: Int64) throws
    func migrationReport(_ route: String) throws -> (json: String, updated: Int64)?
    func addMigrationIgnore(_ route: String, pointer: String) throws
    func migrationIgnores(_ route: String) throws -> [String]
}

extension StateBackend {
    public func createKey(plan: String, name: String?, expiresAt: Double?) throws -> (KeyRecord, String) {
        try createKey(plan: plan, name: name, expiresAt: expiresAt, now: Date().timeIntervalSince1970)
    }
    public func revoke(id: String) throws { try revoke(id: id, now: Date().timeIntervalSince1970) }
    public func rotate(id: String, overlap: Double) throws -> (KeyRecord, String) {
        try rotate(id: id, overlap: overlap, now: Date().timeIntervalSince1970)
    }
    public func quotaUsage(keyId: String, period: QuotaPeriod) throws -> RateLimiter.QuotaUsage {
        try quotaUsage(keyId: keyId, period: period, now: Date().timeIntervalSince1970)
    }
    public func migrationTransitions(_ route: String) throws -> [MigrationState.Transition] {
        try migrationTransitions(route, limit: MigrationState.keptTransitions)
    }
}

/// A route's stored stage and weight, with the version every write raises.
public struct StoredMigration: Sendable, Equatable {
    public var stage: MigrationConfig.Stage
    public var weight: Int
    public var since: Int64
    public var version: Int64

    public init(stage: MigrationConfig.Stage, weight: Int, since: Int64, version: Int64) {
        self.stage = stage
        self.weight = weight
        self.since = since
        self.version = version
    }

    public var state: MigrationState { MigrationState(stage: stage, weight: weight, since: since) }
}

/// Opens the store that `state:` names: a Redis URL, or else an SQLite file path.
public enum StateBackends {
    public static func open(_ state: String) throws -> any StateBackend {
        if RedisConfiguration.isRedisURL(state) {
            return try RedisStateStore(configuration: try RedisConfiguration(url: state))
        }
        return try StateStore(path: state)
    }
}
