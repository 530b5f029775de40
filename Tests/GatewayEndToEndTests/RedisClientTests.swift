import Foundation
import GatewayCore
import GatewayPolicies
import GatewayRedis
import GatewayStore
import NIOCore
import NIOPosix
import Testing

/// The RESP client and the admission script against a real redis-server on loopback.
@Suite(.enabled(if: RedisServer.available, Comment(rawValue: RedisServer.unavailableReason)))
struct RedisClientTests {
    static func client(_ url: String) throws -> RedisClient {
        try RedisClient(configuration: try RedisConfiguration(url: url), eventLoop: MultiThreadedEventLoopGroup.singleton.next())
    }

    @Test func pipelinedCommandsOnOneConnectionAnswerInOrder() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let client = try Self.client(redis.url)
        defer { _ = client.close() }
        // 200 INCRs issued at once on the client's loop: written together, answered in order.
        let replies = try await client.eventLoop.flatSubmit {
            EventLoopFuture.whenAllSucceed((0..<200).map { _ in client.send(RedisCommand("INCR", "n")) }, on: client.eventLoop)
        }.get()
        #expect(replies.map(\.int) == (1...200).map { Int64($0) })
        // One connection carried them all. (The PING connection that saw the server start may still
        // be listed for a moment after it closed: only connections that ran a command here count.)
        let clients = try await client.send(RedisCommand("CLIENT", "LIST")).get().string?.split(separator: "\n") ?? []
        #expect(clients.filter { $0.contains("cmd=client") }.count == 1)
        #expect(!clients.contains { $0.contains("cmd=incr") })
    }

    @Test func authSelectAndTheirRefusal() async throws {
        let redis = try await offPool { try RedisServer(password: "s3cret") }
        defer { redis.remove() }
        let good = try Self.client("redis://:s3cret@127.0.0.1:\(redis.port)/2?timeout=1s")
        defer { _ = good.close() }
        _ = try await good.send(RedisCommand("SET", "where", "db2")).get()
        let db0 = try Self.client("redis://:s3cret@127.0.0.1:\(redis.port)/0?timeout=1s")
        defer { _ = db0.close() }
        #expect(try await db0.send(RedisCommand("GET", "where")).get() == .null)
        let resp3 = try Self.client("redis://:s3cret@127.0.0.1:\(redis.port)/2?protocol=3&timeout=1s")
        defer { _ = resp3.close() }
        #expect(try await resp3.send(RedisCommand("GET", "where")).get().string == "db2")
        #expect(try await resp3.send(RedisCommand("HGETALL", "nothing")).get() == .map([]))

        let bad = try Self.client("redis://:wrong@127.0.0.1:\(redis.port)/0?timeout=1s")
        defer { _ = bad.close() }
        await #expect {
            _ = try await bad.send(RedisCommand("PING")).get()
        } throws: { error in
            "\(error)".contains("WRONGPASS") || "\(error)".contains("invalid")
        }
    }

    @Test func evalshaFallsBackToEvalOnNoscript() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let client = try Self.client(redis.url)
        defer { _ = client.close() }
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(try await client.eval(script, keys: ["s"], arguments: ["5"]).get() == .integer(5))
        #expect(try await client.send(RedisCommand("SCRIPT", "EXISTS", script.sha1)).get() == .array([.integer(1)]))
        _ = try await client.send(RedisCommand("SCRIPT", "FLUSH")).get()
        #expect(try await client.eval(script, keys: ["s"], arguments: ["2"]).get() == .integer(7))
    }

    @Test func aSlowAnswerTimesOutAndTheConnectionGoesOn() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let client = try Self.client(redis.baseURL + "?timeout=100ms")
        defer { _ = client.close() }
        await #expect(throws: RedisError.timeout) {
            _ = try await client.send(RedisCommand("DEBUG", "SLEEP", "0.4")).get()
        }
        // The late reply belongs to the timed-out command, not to the next one.
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await client.send(RedisCommand("ECHO", "next")).get().string == "next")
    }

    @Test func reconnectsWithBackoffAfterTheServerComesBack() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let client = try Self.client(redis.url)
        defer { _ = client.close() }
        #expect(try await client.send(RedisCommand("PING")).get() == .simpleString("PONG"))
        try await offPool { redis.stop() }
        await #expect(throws: RedisError.self) { _ = try await client.send(RedisCommand("PING")).get() }
        // While down, calls fail at once as unavailable (no connect attempt per call, no wait for the timeout).
        await #expect {
            _ = try await client.send(RedisCommand("PING")).get()
        } throws: { error in
            if case RedisError.unavailable = error { return true }
            return false
        }
        try await offPool { try redis.start() }
        var answered = false
        for _ in 0..<100 where !answered {
            answered = (try? await client.send(RedisCommand("PING")).get()) == .simpleString("PONG")
            if !answered { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(answered)
    }

    @Test func aRefusedRequestTakesNothingAndIsNotCountedAgainstTheQuota() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let client = try Self.client(redis.url)
        defer { _ = client.close() }
        var request = RateLimiter.Request()
        request.key = ("k1", Throttle(rate: 0.001, burst: 2))
        request.operation = ("GET /a", Throttle(rate: 0.01, burst: 1000))
        request.quota = .init(keyId: "k1", limit: 100, period: .day)
        let now = Date().timeIntervalSince1970
        func admit() async throws -> RateLimiter.Decision {
            let (keys, arguments) = RedisAdmissionScript.call(for: request, wallClock: now)
            let reply = try await client.eval(RedisAdmissionScript.script, keys: keys, arguments: arguments).get()
            return try RedisAdmissionScript.decision(reply, request: request, wallClock: now)
        }
        guard case .admitted(let remaining, _, let quotaLeft, _) = try await admit() else { Issue.record("first refused"); return }
        #expect(remaining == 1)
        #expect(quotaLeft == 99)
        guard case .admitted(0, _, 98, _) = try await admit() else { Issue.record("second not admitted with 0 left"); return }
        guard case .throttled(let wait) = try await admit() else { Issue.record("third admitted"); return }
        #expect(wait > 100)
        // The throttled request took no token from the operation's bucket and did not count.
        let window = QuotaPeriod.day.window(containing: now)
        #expect(try await client.send(RedisCommand("GET", "gateway:quota:k1:\(window.start)")).get().int == 2)
        let op = try await client.send(RedisCommand("HGET", RedisAdmissionScript.bucket(operation: "GET /a"), "t")).get()
        #expect(op.string.flatMap(Double.init).map { $0 > 997.9 && $0 < 998.1 } == true)
    }

    @Test func aQuotaRefusalNamesTheWindowEnd() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let client = try Self.client(redis.url)
        defer { _ = client.close() }
        var request = RateLimiter.Request()
        request.key = ("k2", Throttle(rate: 0.01, burst: 100))
        request.quota = .init(keyId: "k2", limit: 1, period: .day)
        let now = Date().timeIntervalSince1970
        let (keys, arguments) = RedisAdmissionScript.call(for: request, wallClock: now)
        _ = try await client.eval(RedisAdmissionScript.script, keys: keys, arguments: arguments).get()
        let reply = try await client.eval(RedisAdmissionScript.script, keys: keys, arguments: arguments).get()
        let decision = try RedisAdmissionScript.decision(reply, request: request, wallClock: now)
        #expect(decision == .quotaExceeded(retryAfter: Double(QuotaPeriod.day.window(containing: now).end) - now))
        // A quota refusal takes no token either.
        let tokens = try await client.send(RedisCommand("HGET", RedisAdmissionScript.bucket(key: "k2"), "t")).get()
        #expect(tokens.string.flatMap(Double.init).map { $0 > 98.9 && $0 < 99.1 } == true)
    }

    @Test func rediss() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let redis = try await offPool {
            try RedisServer(tls: (folder.certs.certificate, folder.certs.key, folder.certs.caCertificate))
        }
        defer { redis.remove() }
        // The development certificate names localhost and 127.0.0.1.
        let trusted = try Self.client("rediss://localhost:\(redis.port)/0?timeout=2s&ca=\(folder.certs.caCertificate)")
        defer { _ = trusted.close() }
        _ = try await trusted.send(RedisCommand("SET", "over", "tls")).get()
        #expect(try await trusted.send(RedisCommand("GET", "over")).get().string == "tls")
        // Without the CA the server's certificate is not trusted: no connection.
        let untrusted = try Self.client("rediss://localhost:\(redis.port)/0?timeout=2s")
        defer { _ = untrusted.close() }
        await #expect {
            _ = try await untrusted.send(RedisCommand("PING")).get()
        } throws: { error in
            "\(error)".contains("CERTIFICATE_VERIFY_FAILED")
        }
        // Plain RESP on the TLS port does not get an answer either.
        let plain = try Self.client("redis://127.0.0.1:\(redis.port)/0?timeout=300ms")
        defer { _ = plain.close() }
        await #expect(throws: RedisError.self) { _ = try await plain.send(RedisCommand("PING")).get() }
    }
}
