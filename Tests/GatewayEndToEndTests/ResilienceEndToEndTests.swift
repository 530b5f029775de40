import AsyncHTTPClient
import FlightExample
import Foundation
import GatewayFunctions
import GatewayPlan
import GatewayResilience
import GatewayServer
import NIOCore
import NIOHTTP1
import Testing

/// Upstream resilience through the real server on loopback (issue: upstream resilience): dead
/// and unhealthy targets left out, retries on another target under the policy and the budget,
/// a streamed body never sent twice, and the circuit limits answering 503 at once.
@Suite struct ResilienceEndToEndTests {
    /// The gateway in process with `legacy` as the default upstream over `targets`, configured by
    /// `settings` (YAML flow-map entries added to the upstream).
    func withGateway(targets: [String], settings: String,
                     _ body: (InProcessGateway) async throws -> Void) async throws {
        try await withGateway(targets: targets, settings: settings) { gateway, _ in try await body(gateway) }
    }

    func withGateway(targets: [String], settings: String,
                     _ body: (InProcessGateway, TestFolder) async throws -> Void) async throws {
        let folder = try TestFolder()
        try folder.writeGateway("""
        upstreams:
          legacy: {targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))], \(settings)}
        default: {upstream: legacy}
        """)
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        let gateway = try await InProcessGateway.start(folder, registry: registry)
        do {
            try await body(gateway, folder)
        } catch {
            await gateway.stop()
            folder.remove()
            throw error
        }
        await gateway.stop()
        folder.remove()
    }

    func url(_ backend: FakeBackend) -> String { "http://127.0.0.1:\(backend.port)" }

    func eventually(_ condition: () -> Bool) async throws { try await TestFolder.eventually(condition) }

    @Test func aDeadTargetCostsNoFailedRequest() async throws {
        let live = try await FakeBackend.start()
        let dead = "http://127.0.0.1:\(TestFolder.deadPort(2))"
        try await withGateway(targets: [url(live), dead], settings: """
            retries: {attempts: 2}, outlierDetection: {consecutiveFailures: 1, ejectionTime: 30s, maxEjectionPercent: 50}
            """) { gateway in
            for i in 0..<40 {
                let response = try await gateway.send(.GET, "/orders/\(i)")
                #expect(response.status == .ok, "request \(i)")
            }
            #expect(live.requests == 40)
        }
        await live.stop()
    }

    @Test func healthChecksTakeATargetOutAndBringItBack() async throws {
        let a = try await FakeBackend.start(name: "a")
        let b = try await FakeBackend.start(name: "b")
        try await withGateway(targets: [url(a), url(b)], settings: """
            healthCheck: {path: /health, interval: 500ms, timeout: 500ms, unhealthyThreshold: 2, healthyThreshold: 2}
            """) { gateway in
            try await eventually { a.healthChecks >= 1 && b.healthChecks >= 1 }
            #expect(a.control.withLockedValue { $0.healthUserAgent } == "gateway-health-check")
            for i in 0..<10 { #expect(try await gateway.send(.GET, "/x/\(i)").status == .ok) }
            #expect(a.requests == 5 && b.requests == 5, "both healthy: round-robin")

            // /health answers 503: after two failed checks, no traffic goes to a.
            let checks = a.healthChecks
            a.control.withLockedValue { $0.health = 503 }
            try await eventually { gateway.server.upstreamStatus("legacy")?.targets[url(a)] == .unhealthy }
            #expect(a.healthChecks >= checks + 2, "unhealthy before unhealthyThreshold checks failed")
            let before = a.requests
            for i in 0..<20 { #expect(try await gateway.send(.GET, "/y/\(i)").status == .ok) }
            #expect(a.requests == before, "an unhealthy target got traffic")
            #expect(b.requests == 25)

            // Healthy again after two passed checks: traffic comes back.
            let failing = a.healthChecks
            a.control.withLockedValue { $0.health = 200 }
            try await eventually { gateway.server.upstreamStatus("legacy")?.targets[url(a)] == .healthy }
            #expect(a.healthChecks >= failing + 2, "healthy before healthyThreshold checks passed")
            for i in 0..<10 { #expect(try await gateway.send(.GET, "/z/\(i)").status == .ok) }
            #expect(a.requests == before + 5)
        }
        await a.stop()
        await b.stop()
    }

    @Test func withEveryTargetDeadTheAnswerIs502AfterTheRetries() async throws {
        let dead = (0..<2).map { "http://127.0.0.1:\(TestFolder.deadPort(3 + $0))" }
        // connectTimeout is far longer than the client waits: refused connections end at once.
        try await withGateway(targets: dead, settings: "connectTimeout: 60s, retries: {attempts: 2}") { gateway in
            let response = try await gateway.send(.GET, "/orders/1")
            #expect(response.status == .badGateway)
            #expect(response.json?["message"] == "Bad Gateway")
        }
    }

    @Test func aResetIsRetriedForAGETButAStreamedPOSTIsNeverSentTwice() async throws {
        let a = try await FakeBackend.start(name: "a")
        let b = try await FakeBackend.start(name: "b")
        a.control.withLockedValue { $0.reset = true }
        b.control.withLockedValue { $0.reset = true }
        try await withGateway(targets: [url(a), url(b)], settings: "retries: {attempts: 2, methods: [GET, POST]}") { gateway in
            #expect(try await gateway.send(.GET, "/orders/1").status == .badGateway)
            #expect(a.requests + b.requests == 3, "one try and two retries")

            // A POST whose body is streamed (it is still coming when the upstream breaks): not retried.
            var request = HTTPClientRequest(url: gateway.base + "/orders")
            request.method = .POST
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            let feeder = Task {
                for _ in 0..<3 {
                    try await Task.sleep(for: .milliseconds(200))
                    continuation.yield(ByteBuffer(repeating: 0x61, count: 16_384))
                }
                continuation.finish()
            }
            request.body = .stream(stream, length: .unknown)
            let response = try await gateway.client.execute(request, timeout: .seconds(10))
            #expect(response.status == .badGateway)
            #expect(a.requests + b.requests == 4, "the streamed POST was sent twice")
            feeder.cancel()
            continuation.finish()
        }
        await a.stop()
        await b.stop()
    }

    /// A pooled connection the upstream closed as the next request came is retried once on a
    /// fresh one when nothing of a body came yet — also for an HTTP/2 GET whose END_STREAM comes
    /// in a DATA frame of its own (its head carries `transfer-encoding: chunked` for the upstream,
    /// as a body might follow).
    @Test func aRequestOnAStalePooledConnectionIsRetriedWhenNoBodyCameYet() async throws {
        let backend = try await OneAnswerBackend.start()
        try await withGateway(targets: ["http://127.0.0.1:\(backend.port)"], settings: "timeout: 5s") { gateway, folder in
            let connection = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate, alpn: ["h2"])
            defer { Task { await connection.close() } }
            func ended(_ stream: UInt32) async -> Bool {
                await connection.waitFor { H2.frames($0).contains { $0.stream == stream && $0.flags & H2.endStream != 0 } }
            }
            try await connection.send(H2.start + H2.request("GET", "/old/one", stream: 1))
            #expect(await ended(1))
            try await connection.send(H2.request("GET", "/old/two", stream: 3, endStream: false)
                + H2.frame(H2.data, flags: H2.endStream, stream: 3))
            #expect(await ended(3))
            let responses = H2.responses(connection.received)
            #expect(responses[1]?.status == 200)
            #expect(responses[3]?.status == 200, "retried on a fresh connection, not 502")
            let counts = backend.counts.withLockedValue { $0 }
            #expect(counts.dropped == 1 && counts.answered == 2 && counts.connections == 2, "\(counts)")
        }
        await backend.stop()
    }

    @Test func theRetryBudgetCapsAttemptsDuringAnOutage() async throws {
        let a = try await FakeBackend.start(name: "a")
        let b = try await FakeBackend.start(name: "b")
        a.control.withLockedValue { $0.status = 503 }
        b.control.withLockedValue { $0.status = 503 }
        try await withGateway(targets: [url(a), url(b)], settings: "retries: {attempts: 2, budget: 20%, backoff: 1ms}") { gateway in
            let start = ContinuousClock.now
            for i in 0..<100 {
                let response = try await gateway.send(.GET, "/orders/\(i)")
                #expect(response.status == .serviceUnavailable, "the last attempt's answer goes to the client")
            }
            // Without a budget: 300 attempts. With it, any 10 s window holds at most max(20% of
            // its requests, 3/s) = 30 retries: 130 when the 100 requests fit in one window. On a
            // machine so loaded that they span more windows (the floor may be spent in a burst at
            // the start of each), 30 more for each further window.
            let seconds = Int((ContinuousClock.now - start).components.seconds) + 1
            let windows = seconds / 10 + 1
            let attempts = a.requests + b.requests
            #expect(attempts > 100, "no retry was made")
            #expect(attempts <= 100 + 30 * windows, "\(attempts) attempts in \(seconds) s")
        }
        await a.stop()
        await b.stop()
    }

    @Test func overMaxRequestsTheAnswerIs503AtOnce() async throws {
        let backend = try await FakeBackend.start()
        try await withGateway(targets: [url(backend)], settings: "limits: {maxRequests: 2}") { gateway in
            async let slow1 = gateway.send(.GET, "/slow/1")
            async let slow2 = gateway.send(.GET, "/slow/2")
            try await eventually { backend.requests == 2 }
            let refused = try await gateway.send(.GET, "/fast")
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers["retry-after"] == ["1"])
            #expect(refused.json?["message"] == "Service Unavailable")
            #expect(backend.requests == 2, "the refused request reached the backend")
            #expect(try await slow1.status == .ok)
            #expect(try await slow2.status == .ok)
            // The slots are free again.
            #expect(try await gateway.send(.GET, "/fast").status == .ok)
            #expect(backend.requests == 3)
        }
        await backend.stop()
    }

    @Test func overMaxConnectionsRequestsWaitUpToMaxPendingThenGet503() async throws {
        let backend = try await FakeBackend.start()
        try await withGateway(targets: [url(backend)], settings: "limits: {maxConnections: 1, maxPending: 1}") { gateway in
            async let slow = gateway.send(.GET, "/slow/1")
            try await eventually { backend.requests == 1 }
            // The only connection is busy: this one waits for it...
            async let waiting = gateway.send(.GET, "/after")
            try await eventually { gateway.server.upstreamStatus("legacy")?.pending == 1 }
            #expect(gateway.server.upstreamStatus("legacy") == UpstreamStatus(
                targets: [url(backend): .healthy], inFlight: 2, openConnections: 1, pending: 1))
            // ...and with one waiting already, the next is refused at once.
            let refused = try await gateway.send(.GET, "/refused")
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers["retry-after"] == ["1"])
            #expect(try await slow.status == .ok)
            let after = try await waiting
            #expect(after.status == .ok)
            #expect(after.json?["uri"] == "/after")
            #expect(backend.requests == 2)
            #expect(backend.connections == 1, "maxConnections: 1 opened more")
        }
        await backend.stop()
    }

    @Test func anEjectedTargetStaysOutAcrossAReload() async throws {
        let a = try await FakeBackend.start(name: "a")
        let b = try await FakeBackend.start(name: "b")
        a.control.withLockedValue { $0.status = 503 }
        try await withGateway(targets: [url(a), url(b)], settings: """
            outlierDetection: {consecutiveFailures: 1, ejectionTime: 60s, maxEjectionPercent: 50}
            """) { gateway, folder in
            #expect(try await gateway.send(.GET, "/1").status == .serviceUnavailable, "a answers first (round-robin)")
            #expect(try await gateway.send(.GET, "/2").status == .ok)
            // The same configuration again: the upstream's state (a is ejected) survives.
            var registry = FunctionRegistry()
            FlightFunctions.register(into: &registry)
            let plan = try PlanCompiler(functionNames: registry.names, authorizerFunctionNames: registry.authorizerNames)
                .compile(configPath: folder.config)
            try gateway.server.reload(try GatewayRuntime(plan: plan, functions: registry))
            for i in 0..<6 { #expect(try await gateway.send(.GET, "/after/\(i)").status == .ok) }
            #expect(a.requests == 1, "an ejected target got traffic after the reload")
            #expect(b.requests == 7)
        }
        await a.stop()
        await b.stop()
    }
}
