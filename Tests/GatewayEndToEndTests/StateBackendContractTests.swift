import Foundation
import GatewayCore
import GatewayMigration
import GatewayPolicies
import GatewayRedis
import GatewayStore
import Testing

/// The same contract, asserted on both state stores: the SQLite file and Redis (a real
/// redis-server). The CLI and the gateway use either through `StateBackend`.
@Suite(.enabled(if: RedisServer.available, Comment(rawValue: RedisServer.unavailableReason)))
struct StateBackendContractTests {
    enum Kind: String, CaseIterable, Sendable { case sqlite, redis }

    /// A fresh, empty store of `kind`, and what to call when done.
    static func make(_ kind: Kind) throws -> (any StateBackend, () -> Void) {
        switch kind {
        case .sqlite:
            let folder = NSTemporaryDirectory() + "state-\(UUID().uuidString)"
            let store = try StateStore(path: folder + "/state.sqlite")
            return (store, { try? FileManager.default.removeItem(atPath: folder) })
        case .redis:
            let redis = try RedisServer()
            let store = try RedisStateStore(configuration: try RedisConfiguration(url: redis.url))
            return (store, { store.close(); redis.remove() })
        }
    }

    @Test(arguments: Kind.allCases)
    func keys(kind: Kind) throws {
        let (store, done) = try Self.make(kind)
        defer { done() }
        let empty = try store.keysFingerprint()
        let (record, secret) = try store.createKey(plan: "basic", name: "n", expiresAt: nil, now: 1000)
        #expect(try store.keysFingerprint() != empty, "a created key changes the fingerprint")
        #expect(try store.key(id: record.id) == record)
        #expect(KeySnapshot(try store.keys()).lookup(secret, at: 1001)?.id == record.id)

        let afterCreate = try store.keysFingerprint()
        let (successor, newSecret) = try store.rotate(id: record.id, overlap: 60, now: 2000)
        #expect(try store.keysFingerprint() != afterCreate)
        let old = try #require(try store.key(id: record.id))
        #expect(old.rotatedTo == successor.id)
        #expect(old.expiresAt == 2060)
        #expect(KeySnapshot(try store.keys()).lookup(newSecret, at: 2001)?.id == successor.id)
        #expect(KeySnapshot(try store.keys()).lookup(secret, at: 2061) == nil, "the old key ends with the overlap")

        let afterRotate = try store.keysFingerprint()
        try store.revoke(id: successor.id, now: 3000)
        #expect(try store.keysFingerprint() != afterRotate)
        #expect(try store.key(id: successor.id)?.revokedAt == 3000)
        #expect(throws: (any Error).self) { try store.revoke(id: "key_nope", now: 1) }
        #expect(try store.keys().map(\.id) == [record.id, successor.id], "oldest first")

        // An imported record keeps everything, and replaces one with its id.
        var imported = old
        imported.name = "renamed"
        try store.importKey(imported)
        #expect(try store.key(id: record.id)?.name == "renamed")
        #expect(try store.keys().count == 2)
    }

    @Test(arguments: Kind.allCases)
    func quotas(kind: Kind) throws {
        let (store, done) = try Self.make(kind)
        defer { done() }
        let now = Date().timeIntervalSince1970
        let start = QuotaPeriod.day.window(containing: now).start
        try store.saveQuotas([.init(keyId: "a", periodStart: start, used: 3), .init(keyId: "b", periodStart: start, used: 1)])
        try store.saveQuotas([.init(keyId: "a", periodStart: start, used: 2)])
        #expect(try store.quotaUsage(keyId: "a", period: .day, now: now).used == 3, "counts are never lowered")
        #expect(try store.quotaUsage(keyId: "c", period: .day, now: now).used == 0)
        #expect(try store.quotaUsages() == [.init(keyId: "a", periodStart: start, used: 3), .init(keyId: "b", periodStart: start, used: 1)])
    }

    @Test(arguments: Kind.allCases)
    func migrations(kind: Kind) throws {
        let (store, done) = try Self.make(kind)
        defer { done() }
        let route = "GET /bookings/{id}"
        #expect(try store.migration(route) == nil)
        let shadow = MigrationState(stage: .shadow, weight: 0, since: 10)
        let t1 = MigrationState.Transition(time: 10, from: .legacy, fromWeight: 0, to: .shadow, toWeight: 0, reason: "start", by: .cli)
        let v1 = try #require(try store.saveMigration(route, state: shadow, transitions: [t1], expected: nil))
        #expect(try store.saveMigration(route, state: shadow, transitions: [], expected: nil) == nil, "a stale writer writes nothing")
        let canary = MigrationState(stage: .canary, weight: 10, since: 20)
        let t2 = MigrationState.Transition(time: 20, from: .shadow, fromWeight: 0, to: .canary, toWeight: 10, reason: "promote", by: .cli)
        let v2 = try #require(try store.saveMigration(route, state: canary, transitions: [t2], expected: v1))
        #expect(v2 > v1)
        #expect(try store.migration(route) == StoredMigration(stage: .canary, weight: 10, since: 20, version: v2))
        #expect(try store.migrationTransitions(route) == [t1, t2])
        #expect(try store.migrationTransitions(route, limit: 1) == [t2])
        #expect(try store.migrationRoutes() == [route])

        try store.saveMigrationReport(route, json: #"{"counts":{}}"#, now: 30)
        #expect(try store.migrationReport(route)?.json == #"{"counts":{}}"#)
        #expect(try store.migrationReport(route)?.updated == 30)
        try store.saveMigrationReport("GET /nothing", json: "{}", now: 30)
        #expect(try store.migrationReport("GET /nothing") == nil, "no report for a route without a stage")

        try store.addMigrationIgnore(route, pointer: "/b")
        try store.addMigrationIgnore(route, pointer: "/a")
        try store.addMigrationIgnore(route, pointer: "/a")
        #expect(try store.migrationIgnores(route) == ["/a", "/b"])
    }
}
