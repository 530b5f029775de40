import Foundation
import GatewayCore
import GatewayMigration
import GatewayPolicies
import GatewayRedis
import NIOCore
import NIOPosix

/// The shared state store on Redis (`state: redis://…`), for several gateway instances. Layout,
/// every key under `gateway:`:
///
/// - `gateway:keys` hash id → key record (JSON, the digest in hex; never the secret),
///   `gateway:keys:digests` hash digest → id, `gateway:keys:version` raised by every change (the
///   gateways' once-a-second refresh reads only it, and the records when it moved);
/// - `gateway:quota:{key id}:{window start}` a count, expiring 33 days after its window starts;
/// - `gateway:bucket:…` token buckets (written by the gateway's admission script only);
/// - `gateway:migrations` set of routes, `gateway:migration:{route}` hash (stage, weight, since,
///   version, report, report_updated), `…:transitions` list (the last 1,000), `…:ignores` set.
///
/// Every change that must not race is one Lua script (compare and set).
public final class RedisStateStore: StateBackend {
    public let client: RedisClient
    public let configuration: RedisConfiguration
    public var location: String { configuration.redacted }
    /// Control-plane calls read whole tables: they get longer than the data plane's timeout.
    let timeout: TimeAmount

    static let records = "gateway:keys"
    static let digests = "gateway:keys:digests"
    static let version = "gateway:keys:version"
    static let routes = "gateway:migrations"
    static func quota(_ keyId: String, _ start: Int64) -> String { "gateway:quota:\(keyId):\(start)" }
    static func migration(_ route: String) -> String { "gateway:migration:\(route)" }
    /// Quota counts outlive their window (a month at most) by two days.
    public static let quotaLifetime: Int64 = 33 * 86_400

    public init(configuration: RedisConfiguration, eventLoop: (any EventLoop)? = nil) throws {
        self.configuration = configuration
        self.timeout = max(configuration.timeout, .seconds(2))
        self.client = try RedisClient(configuration: configuration, eventLoop: eventLoop ?? MultiThreadedEventLoopGroup.singleton.next())
    }

    /// Fails with the reason when the server cannot be reached or refuses the credentials.
    public func ping() throws {
        _ = try call(["PING"])
    }

    public func close() {
        try? client.close().wait()
    }

    func call(_ arguments: [String]) throws -> RESPValue {
        try client.send(RedisCommand(arguments), timeout: timeout).wait()
    }

    func eval(_ script: RedisScript, keys: [String], arguments: [String]) throws -> RESPValue {
        try client.eval(script, keys: keys, arguments: arguments, timeout: timeout).wait()
    }

    // MARK: keys

    struct StoredKey: Codable {
        var id: String
        var name: String?
        var plan: String
        var digest: String
        var createdAt: Double
        var expiresAt: Double?
        var revokedAt: Double?
        var rotatedTo: String?

        init(_ r: KeyRecord) {
            id = r.id; name = r.name; plan = r.plan; digest = Self.hex(r.digest.bytes)
            createdAt = r.createdAt; expiresAt = r.expiresAt; revokedAt = r.revokedAt; rotatedTo = r.rotatedTo
        }

        var record: KeyRecord? {
            guard digest.utf8.count == 64 else { return nil }
            var bytes: [UInt8] = []
            var i = digest.startIndex
            while i < digest.endIndex {
                let j = digest.index(i, offsetBy: 2)
                guard let b = UInt8(digest[i..<j], radix: 16) else { return nil }
                bytes.append(b)
                i = j
            }
            guard let d = KeyDigest(bytes: bytes) else { return nil }
            return KeyRecord(id: id, name: name, plan: plan, digest: d, createdAt: createdAt, expiresAt: expiresAt,
                             revokedAt: revokedAt, rotatedTo: rotatedTo)
        }

        static func hex(_ bytes: [UInt8]) -> String {
            bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        }

        var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return String(decoding: try! encoder.encode(self), as: UTF8.self)
        }
    }

    /// Writes records when each still holds what the caller read (`expected`, "" for none) and no
    /// digest belongs to another key; raises the version. 1 written, 0 raced, -1 digest taken.
    static let writeKeys = RedisScript("""
        local n = tonumber(ARGV[1])
        for i = 0, n - 1 do
          local current = redis.call('HGET', KEYS[1], ARGV[2 + i * 3]) or ''
          if current ~= ARGV[3 + i * 3] then return 0 end
        end
        local base = 2 + n * 3
        for j = base, #ARGV, 2 do
          local owner = redis.call('HGET', KEYS[2], ARGV[j])
          if owner and owner ~= ARGV[j + 1] then return -1 end
        end
        for i = 0, n - 1 do redis.call('HSET', KEYS[1], ARGV[2 + i * 3], ARGV[4 + i * 3]) end
        for j = base, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[j], ARGV[j + 1]) end
        redis.call('INCR', KEYS[3])
        return 1
        """)

    struct Write {
        var id: String
        var expected: String
        var new: StoredKey
    }

    /// Runs the compare-and-set script; false when another writer changed a record first.
    private func write(_ writes: [Write], registering: [StoredKey]) throws -> Bool {
        var arguments = [String(writes.count)]
        for w in writes { arguments += [w.id, w.expected, w.new.json] }
        for r in registering { arguments += [r.digest, r.id] }
        let result = try eval(Self.writeKeys, keys: [Self.records, Self.digests, Self.version], arguments: arguments)
        switch result.int {
        case 1: return true
        case 0: return false
        default: throw RedisError.server("a key with the same digest exists")
        }
    }

    private func storedJSON(_ id: String) throws -> String? {
        try call(["HGET", Self.records, id]).string
    }

    private static func decode(_ json: String) -> StoredKey? {
        try? JSONDecoder().decode(StoredKey.self, from: Data(json.utf8))
    }

    public func createKey(plan: String, name: String?, expiresAt: Double?, now: Double) throws -> (KeyRecord, String) {
        let secret = APIKey.generate()
        let record = KeyRecord(id: StateStore.newId(), name: name, plan: plan, digest: APIKey.digest(secret),
                               createdAt: now, expiresAt: expiresAt)
        let stored = StoredKey(record)
        guard try write([Write(id: record.id, expected: "", new: stored)], registering: [stored]) else {
            throw RedisError.server("key id \(record.id) already taken")
        }
        return (record, secret)
    }

    public func keys() throws -> [KeyRecord] {
        let all = try call(["HGETALL", Self.records]).array ?? []
        var out: [KeyRecord] = []
        var i = 1
        while i < all.count {
            if let json = all[i].string, let record = Self.decode(json)?.record { out.append(record) }
            i += 2
        }
        return out.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func key(id: String) throws -> KeyRecord? {
        try storedJSON(id).flatMap(Self.decode)?.record
    }

    public func revoke(id: String, now: Double) throws {
        for _ in 0..<10 {
            guard let json = try storedJSON(id), var stored = Self.decode(json) else { throw StateStore.StoreError.noSuchKey(id) }
            if stored.revokedAt != nil { return }
            stored.revokedAt = now
            if try write([Write(id: id, expected: json, new: stored)], registering: []) { return }
        }
        throw RedisError.server("key \(id) kept changing; try again")
    }

    public func rotate(id: String, overlap: Double, now: Double) throws -> (KeyRecord, String) {
        for _ in 0..<10 {
            guard let json = try storedJSON(id), var old = Self.decode(json) else { throw StateStore.StoreError.noSuchKey(id) }
            let secret = APIKey.generate()
            let record = KeyRecord(id: StateStore.newId(), name: old.name, plan: old.plan, digest: APIKey.digest(secret),
                                   createdAt: now, expiresAt: old.expiresAt)
            let new = StoredKey(record)
            old.expiresAt = min(old.expiresAt ?? .infinity, now + overlap)
            old.rotatedTo = record.id
            if try write([Write(id: id, expected: json, new: old), Write(id: record.id, expected: "", new: new)], registering: [new]) {
                return (record, secret)
            }
        }
        throw RedisError.server("key \(id) kept changing; try again")
    }

    public func keysFingerprint() throws -> String {
        try call(["GET", Self.version]).string ?? "0"
    }

    public func importKey(_ record: KeyRecord) throws {
        let stored = StoredKey(record)
        for _ in 0..<10 {
            let current = try storedJSON(record.id) ?? ""
            if try write([Write(id: record.id, expected: current, new: stored)], registering: [stored]) { return }
        }
        throw RedisError.server("key \(record.id) kept changing; try again")
    }

    // MARK: quotas

    static let raiseQuota = RedisScript("""
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
        redis.call('EXPIREAT', KEYS[1], ARGV[2])
        return 1
        """)

    public func saveQuotas(_ usages: [RateLimiter.QuotaUsage]) throws {
        for u in usages {
            _ = try eval(Self.raiseQuota, keys: [Self.quota(u.keyId, u.periodStart)],
                         arguments: [String(u.used), String(u.periodStart + Self.quotaLifetime)])
        }
    }

    public func quotaUsage(keyId: String, period: QuotaPeriod, now: Double) throws -> RateLimiter.QuotaUsage {
        let start = period.window(containing: now).start
        let used = try call(["GET", Self.quota(keyId, start)]).int ?? 0
        return RateLimiter.QuotaUsage(keyId: keyId, periodStart: start, used: Int(used))
    }

    public func quotaUsages() throws -> [RateLimiter.QuotaUsage] {
        var cursor = "0"
        var names: [String] = []
        repeat {
            let reply = try call(["SCAN", cursor, "MATCH", "gateway:quota:*", "COUNT", "1000"]).array ?? []
            guard reply.count == 2 else { throw RedisError.protocolError("SCAN reply of \(reply.count) elements") }
            cursor = reply[0].string ?? "0"
            names += (reply[1].array ?? []).compactMap(\.string)
        } while cursor != "0"
        var out: [RateLimiter.QuotaUsage] = []
        for name in names.sorted() {
            let rest = name.dropFirst("gateway:quota:".count)
            guard let colon = rest.lastIndex(of: ":"), let start = Int64(rest[rest.index(after: colon)...]),
                  let used = try call(["GET", name]).int else { continue }
            out.append(RateLimiter.QuotaUsage(keyId: String(rest[..<colon]), periodStart: start, used: Int(used)))
        }
        return out
    }

    // MARK: migrations

    static let saveState = RedisScript("""
        local current = redis.call('HGET', KEYS[1], 'version')
        if (current or '') ~= ARGV[1] then return -1 end
        local version = tonumber(current or '0') + 1
        redis.call('HSET', KEYS[1], 'stage', ARGV[3], 'weight', ARGV[4], 'since', ARGV[5], 'version', version)
        redis.call('SADD', KEYS[3], ARGV[2])
        for i = 6, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
        redis.call('LTRIM', KEYS[2], -1000, -1)
        return version
        """)

    static let saveReport = RedisScript("""
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'report', ARGV[1], 'report_updated', ARGV[2])
        return 1
        """)

    public func migration(_ route: String) throws -> StoredMigration? {
        let fields = try call(["HMGET", Self.migration(route), "stage", "weight", "since", "version"]).array ?? []
        guard fields.count == 4, let stage = fields[0].string.flatMap(MigrationConfig.Stage.init(rawValue:)),
              let weight = fields[1].int, let since = fields[2].int, let version = fields[3].int else { return nil }
        return StoredMigration(stage: stage, weight: Int(weight), since: since, version: version)
    }

    public func migrationRoutes() throws -> [String] {
        (try call(["SMEMBERS", Self.routes]).array ?? []).compactMap(\.string).sorted()
    }

    public func saveMigration(_ route: String, state: MigrationState, transitions: [MigrationState.Transition],
                              expected: Int64?) throws -> Int64? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let lines = try transitions.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let key = Self.migration(route)
        let result = try eval(Self.saveState, keys: [key, key + ":transitions", Self.routes],
                              arguments: [expected.map(String.init) ?? "", route, state.stage.rawValue, String(state.weight),
                                          String(state.since)] + lines)
        guard let version = result.int, version > 0 else { return nil }
        return version
    }

    public func migrationTransitions(_ route: String, limit: Int) throws -> [MigrationState.Transition] {
        let lines = try call(["LRANGE", Self.migration(route) + ":transitions", String(-max(1, limit)), "-1"]).array ?? []
        return lines.compactMap { $0.string.flatMap { try? JSONDecoder().decode(MigrationState.Transition.self, from: Data($0.utf8)) } }
    }

    public func saveMigrationReport(_ route: String, json: String, now: Int64) throws {
        _ = try eval(Self.saveReport, keys: [Self.migration(route)], arguments: [json, String(now)])
    }

    public func migrationReport(_ route: String) throws -> (json: String, updated: Int64)? {
        let fields = try call(["HMGET", Self.migration(route), "report", "report_updated"]).array ?? []
        guard fields.count == 2, let json = fields[0].string, let updated = fields[1].int else { return nil }
        return (json, updated)
    }

    public func addMigrationIgnore(_ route: String, pointer: String) throws {
        _ = try call(["SADD", Self.migration(route) + ":ignores", pointer])
    }

    public func migrationIgnores(_ route: String) throws -> [String] {
        (try call(["SMEMBERS", Self.migration(route) + ":ignores"]).array ?? []).compactMap(\.string).sorted()
    }
}
