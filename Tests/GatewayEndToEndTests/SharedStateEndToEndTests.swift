import FlightExample
import Foundation
import GatewayFunctions
import GatewayPolicies
import GatewayRedis
import GatewayServer
import GatewayStore
import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// Two gateway servers sharing one real redis-server (`state: redis://…`): keys, revocations,
/// plan limits, quotas, what happens while Redis is away, and that it comes back.
@Suite(.enabled(if: RedisServer.available, Comment(rawValue: RedisServer.unavailableReason)))
struct SharedStateEndToEndTests {
    static let api = """
    openapi: 3.1.0
    info: {title: shared, version: '1'}
    components:
      securitySchemes:
        key: {type: apiKey, in: header, name: x-api-key}
    paths:
      /keyed:
        get: {operationId: keyed, security: [{key: []}], x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
      /limited:
        get: {operationId: limited, x-gateway: {function: alerts.list, throttle: {rate: 1, burst: 1}}, responses: {'200': {description: ok}}}
      /open:
        get: {x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
    """

    /// - Parameter state: the state URL (default: the server's, with its 1 s timeout per call).
    static func prepare(_ folder: TestFolder, redis: RedisServer, plan: String, failure: String? = nil, state: String? = nil) throws {
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:0}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        state: \(state ?? redis.url)
        \(failure.map { "stateFailure: \($0)" } ?? "")
        plans:
          basic: \(plan)
        """)
        try folder.write("api.yaml", api)
    }

    static func start(_ folder: TestFolder) async throws -> InProcessGateway {
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        return try await InProcessGateway.start(folder, registry: registry)
    }

    /// How many admission scripts Redis ran (`EVALSHA` and `EVAL` calls, from `INFO commandstats`).
    static func admissionScriptCalls(_ store: RedisStateStore) throws -> Int {
        let info = try store.client.call("INFO", "commandstats").string ?? ""
        var total = 0
        for line in info.split(whereSeparator: \.isNewline)
        where line.hasPrefix("cmdstat_evalsha:") || line.hasPrefix("cmdstat_eval:") {
            let calls = line.split(separator: ",").first?.split(separator: "=").last.flatMap { Int($0) }
            total += calls ?? 0
        }
        return total
    }

    static func store(_ redis: RedisServer) throws -> RedisStateStore {
        try RedisStateStore(configuration: try RedisConfiguration(url: redis.url))
    }

    static func get(_ gateway: InProcessGateway, _ path: String, key: String? = nil) async throws -> InProcessGateway.Response {
        try await gateway.send(.GET, path, headers: key.map { [("x-api-key", $0)] } ?? [])
    }

    static func within(_ seconds: Double, _ check: () async throws -> Bool) async throws -> Bool {
        try await TestFolder.within(seconds, check)
    }

    /// One gateway on `redis` with a key of plan `plan` that it already knows.
    static func startWithKey(_ folder: TestFolder, redis: RedisServer, plan: String,
                             failure: String) async throws -> (InProcessGateway, RedisStateStore, String) {
        try prepare(folder, redis: redis, plan: plan, failure: failure)
        let gateway = try await start(folder)
        let store = try store(redis)
        let (_, secret) = try store.createKey(plan: "basic", name: nil, expiresAt: nil)
        try gateway.server.refreshKeys()
        return (gateway, store, secret)
    }

    @Test func aKeyCreatedOrRevokedThroughOneInstanceIsHonouredByTheOtherWithinTwoSeconds() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let folder = try TestFolder()
        defer { folder.remove() }
        try Self.prepare(folder, redis: redis, plan: "{rate: 100, burst: 100}")
        let a = try await Self.start(folder), b = try await Self.start(folder)
        let store = try Self.store(redis)
        defer { store.close() }

        let (record, secret) = try store.createKey(plan: "basic", name: "shared", expiresAt: nil)
        // Each instance refreshes once a second by itself: 2 s is the promise.
        #expect(try await Self.within(2.2) { try await Self.get(a, "/keyed", key: secret).status == .ok })
        #expect(try await Self.within(2.2) { try await Self.get(b, "/keyed", key: secret).status == .ok })

        // Revoked through the CLI (which reads `state:` from the same configuration).
        let revoked = try await offPool { try GatewayBinary.run(["keys", "revoke", record.id, "--config", folder.config]) }
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(try await Self.within(2.2) { try await Self.get(a, "/keyed", key: secret).status == .forbidden })
        #expect(try await Self.within(2.2) { try await Self.get(b, "/keyed", key: secret).status == .forbidden })
        let list = try await offPool { try GatewayBinary.run(["keys", "list", "--config", folder.config]) }
        #expect(list.stdout.contains(record.id) && list.stdout.contains("revoked"), "\(list.stdout)\(list.stderr)")
        await a.stop()
        await b.stop()
    }

    @Test func aPlansLimitHoldsAcrossBothInstancesWithinTwoPercent() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let folder = try TestFolder()
        defer { folder.remove() }
        // A bucket large enough that no token is lost to its cap in the 10 s. With a bucket of 10,
        // two loaded full runs (one of them CI's) counted 111 and 112 admissions where Redis had
        // earned 200 tokens, with every answer a 200 or a 429: tokens a full bucket could not
        // hold, earned while the requests (on the test process's shared event loops) stalled for
        // more than burst/rate = 0.5 s. Now the tokens it hands out are exactly rate·T minus what
        // it still holds.
        let rate = 20.0, burst = 1000.0
        // Each Redis call gets 10 s: the test measures the limit, not Redis's speed.
        try Self.prepare(folder, redis: redis, plan: "{rate: \(Int(rate)), burst: \(Int(burst))}",
                         state: redis.baseURL + "?timeout=10s")
        let a = try await Self.start(folder), b = try await Self.start(folder)
        let store = try Self.store(redis)
        defer { store.close() }
        let (record, secret) = try store.createKey(plan: "basic", name: nil, expiresAt: nil)
        try a.server.refreshKeys()
        try b.server.refreshKeys()

        // Connections first (TLS handshakes are not part of the window): 3 per instance.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for gateway in [a, b] { for _ in 0..<3 { group.addTask { _ = try await Self.get(gateway, "/open") } } }
            try await group.waitForAll()
        }
        // T is measured on Redis's clock (the one the buckets use): from just before the first
        // request to the last admission, which the key's bucket records. Client-side timing would
        // add the requests' latency at both ends. The bucket is set empty at t0, so by the last
        // admission it has handed out rate·T tokens minus those it still holds. The two
        // instances together must have admitted exactly those (each admission is one token of
        // the shared bucket), give or take 2%, and never more than rate·T.
        let time = try store.client.call("TIME").array?.compactMap(\.int) ?? []
        #expect(time.count == 2)
        let t0 = Double(time[0]) + Double(time[1]) / 1e6
        let bucketKey = RedisAdmissionScript.bucket(key: record.id)
        _ = try store.client.call("HSET", bucketKey, "t", "0", "ts", String(time[0] * 1_000_000 + time[1]))
        _ = try store.client.call("PEXPIRE", bucketKey, "60000")
        let scriptsBefore = try Self.admissionScriptCalls(store)
        // Demand far above the rate (20/s): 3 request chains on each instance for 10 seconds, each
        // sending its next request when the last one is answered, with a 5 ms pause (still hundreds
        // a second, without saturating the machine for the tests running beside this one). The
        // chains run on the HTTP client's event loops, not on Swift's cooperative threads, which
        // other tests' blocking calls can hold up.
        let end = NIODeadline.now() + .seconds(10)
        let counts = NIOLockedValueBox((ok: 0, refused: 0, other: [UInt: Int](), failed: 0))
        var chains: [EventLoopFuture<Void>] = []
        for gateway in [a, b] {
            for _ in 0..<3 {
                let loop = MultiThreadedEventLoopGroup.singleton.next()
                let done = loop.makePromise(of: Void.self)
                let request = try HTTPClient.Request(url: gateway.base + "/keyed", method: .GET, headers: ["x-api-key": secret])
                @Sendable func next() {
                    guard NIODeadline.now() < end else { return done.succeed() }
                    gateway.client.execute(request: request, eventLoop: .delegate(on: loop)).whenComplete { result in
                        counts.withLockedValue { c in
                            switch result {
                            case .success(let response) where response.status == .ok: c.ok += 1
                            case .success(let response) where response.status == .tooManyRequests: c.refused += 1
                            case .success(let response): c.other[response.status.code, default: 0] += 1
                            case .failure: c.failed += 1
                            }
                        }
                        loop.scheduleTask(in: .milliseconds(5)) { next() }
                    }
                }
                next()
                chains.append(done.futureResult)
            }
        }
        for chain in chains { try await chain.get() }
        let counted = counts.withLockedValue { $0 }
        let state = try store.client.call("HMGET", bucketKey, "t", "ts").array ?? []
        let left = try #require(state.first?.string.flatMap(Double.init))
        let last = try #require(state.last?.int.map { Double($0) / 1e6 })
        let seconds = last - t0
        let allowed = rate * seconds
        let handedOut = allowed - left
        let decided = try Self.admissionScriptCalls(store) - scriptsBefore
        print("shared plan limit: admitted \(counted.ok), refused \(counted.refused) in \(seconds) s from an empty bucket; rate·T = \(allowed), of which the bucket still holds \(left); \(decided) admission scripts ran; other answers \(counted.other), failed requests \(counted.failed)")
        #expect(counted.refused > counted.ok, "demand must be far above the rate")
        #expect(Double(counted.ok) <= allowed * 1.02)
        #expect(abs(Double(counted.ok) - handedOut) <= handedOut * 0.02,
                "other answers \(counted.other), failed requests \(counted.failed)")
        // Every answer was the shared bucket's decision: an instance that refused on its own
        // would leave tokens in the bucket that the comparison above could not see.
        #expect(decided >= counted.ok + counted.refused, "\(decided) admission scripts for \(counted.ok + counted.refused) answers")
        await a.stop()
        await b.stop()
    }

    @Test func aQuotaOfFiveHoldsAcrossInstancesAndRestarts() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let folder = try TestFolder()
        defer { folder.remove() }
        try Self.prepare(folder, redis: redis, plan: "{rate: 100, burst: 100, quota: {limit: 5, period: day}}")
        let a = try await Self.start(folder), b = try await Self.start(folder)
        let store = try Self.store(redis)
        defer { store.close() }
        let (record, secret) = try store.createKey(plan: "basic", name: nil, expiresAt: nil)
        try a.server.refreshKeys()
        try b.server.refreshKeys()
        var statuses: [UInt] = []
        for i in 0..<8 { statuses.append(try await Self.get(i % 2 == 0 ? a : b, "/keyed", key: secret).status.code) }
        #expect(statuses == [200, 200, 200, 200, 200, 429, 429, 429])
        #expect(try store.quotaUsage(keyId: record.id, period: .day).used == 5, "refusals are not counted")
        await a.stop()
        await b.stop()

        // A new instance (a restart) finds the quota used up.
        let c = try await Self.start(folder)
        try c.server.refreshKeys()
        let refused = try await Self.get(c, "/keyed", key: secret)
        #expect(refused.status == .tooManyRequests)
        #expect(refused.text.contains("Limit Exceeded"))
        let usage = try await offPool { try GatewayBinary.run(["keys", "usage", record.id, "--config", folder.config]) }
        #expect(usage.stdout.contains("5 of 5"), "\(usage.stdout)\(usage.stderr)")
        await c.stop()
    }

    @Test func whileRedisIsAwayOpenPassesKeyedRequestsAndLimitsComeBackWithoutARestart() async throws {
        let redis = try await offPool { try RedisServer(keepData: true) }
        defer { redis.remove() }
        let folder = try TestFolder()
        defer { folder.remove() }
        let (gateway, store, secret) = try await Self.startWithKey(folder, redis: redis, plan: "{rate: 0.2, burst: 2}", failure: "open")
        defer { store.close() }
        #expect(try await Self.get(gateway, "/keyed", key: secret).status == .ok)
        #expect(try await Self.get(gateway, "/keyed", key: secret).status == .ok)
        #expect(try await Self.get(gateway, "/keyed", key: secret).status == .tooManyRequests)

        try await offPool { redis.stop() }
        // Open: the known key passes without limits; routes without keys or limits never notice.
        for _ in 0..<4 { #expect(try await Self.get(gateway, "/keyed", key: secret).status == .ok) }
        #expect(try await Self.get(gateway, "/keyed", key: APIKeyJunk.wellFormedUnknown).status == .forbidden)
        #expect(try await Self.get(gateway, "/open").status == .ok)
        // Counted (and logged) once a second.
        #expect(try await Self.within(3) {
            await gateway.server.metricsText().contains(#"gateway_state_unavailable_total{outcome="passed"} 4"#)
        })

        try await offPool { try redis.start() }
        // Back: limits apply again (the saved bucket, or a new one emptied at once), no restart.
        #expect(try await Self.within(5) {
            try await Self.get(gateway, "/keyed", key: secret).status == .tooManyRequests
        })
        await gateway.stop()
    }

    @Test func whileRedisIsAwayClosedRefusesWhatNeedsALimitDecision() async throws {
        let redis = try await offPool { try RedisServer(keepData: true) }
        defer { redis.remove() }
        let folder = try TestFolder()
        defer { folder.remove() }
        let (gateway, store, secret) = try await Self.startWithKey(folder, redis: redis, plan: "{rate: 100, burst: 100}", failure: "closed")
        defer { store.close() }
        #expect(try await Self.get(gateway, "/keyed", key: secret).status == .ok)

        try await offPool { redis.stop() }
        let refused = try await Self.get(gateway, "/keyed", key: secret)
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.text.contains("Service Unavailable"))
        #expect(try await Self.get(gateway, "/limited").status == .serviceUnavailable, "an operation's bucket needs Redis too")
        #expect(try await Self.get(gateway, "/open").status == .ok)
        #expect(try await Self.within(3) {
            await gateway.server.metricsText().contains(#"gateway_state_unavailable_total{outcome="refused"} 2"#)
        })

        try await offPool { try redis.start() }
        #expect(try await Self.within(5) { try await Self.get(gateway, "/keyed", key: secret).status == .ok })
        await gateway.stop()
    }
}
