import FlightExample
import Foundation
import GatewayFunctions
import GatewayMigration
import NIOCore
import NIOHTTP1
import Testing

/// A route moving from a legacy upstream to a candidate, through the real server on loopback
/// (issue: migrate a route safely), with two backends that differ on purpose: each answers with
/// its own name in `/backend`.
@Suite struct MigrationEndToEndTests {
    func withGateway(migration: String, _ body: (InProcessGateway, FakeBackend, FakeBackend) async throws -> Void) async throws {
        let legacy = try await FakeBackend.start(name: "legacy")
        let candidate = try await FakeBackend.start(name: "candidate")
        let folder = try TestFolder()
        try folder.writeGateway("""
        upstreams:
          legacy: {targets: ['http://127.0.0.1:\(legacy.port)']}
          candidate: {targets: ['http://127.0.0.1:\(candidate.port)']}
        """)
        try folder.write("orders.yaml", """
        openapi: 3.1.0
        info: {title: orders, version: '1'}
        paths:
          /orders/{id}:
            parameters: [{name: id, in: path, required: true, schema: {type: string}}]
            get:
              operationId: getOrder
              x-gateway:
                upstream: candidate
                migration: \(migration)
              responses: {'200': {description: ok}}
            post:
              operationId: updateOrder
              x-gateway:
                upstream: candidate
                migration: \(migration)
              responses: {'200': {description: ok}}
        """)
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        let gateway = try await InProcessGateway.start(folder, registry: registry)
        do {
            try await body(gateway, legacy, candidate)
        } catch {
            await gateway.stop(); await legacy.stop(); await candidate.stop(); folder.remove()
            throw error
        }
        await gateway.stop(); await legacy.stop(); await candidate.stop(); folder.remove()
    }

    func eventually(_ condition: () -> Bool) async throws { try await TestFolder.eventually(condition) }

    @Test func shadowAnswersFromLegacyAndReportsWhereTheCandidateDiffers() async throws {
        try await withGateway(migration: "{from: legacy, stage: shadow, compare: {ignore: [/headers]}}") { gateway, legacy, candidate in
            for i in 0..<10 {
                let response = try await gateway.send(.GET, "/orders/\(i)?token=secret")
                #expect(response.status == .ok)
                #expect(response.headers["x-backend"] == ["legacy"], "the client's answer comes from legacy")
            }
            try await eventually { gateway.server.migration("getOrder")?.counts.mismatched == 10 }
            let state = try #require(gateway.server.migration("getOrder"))
            #expect(state.state.stage == .shadow)
            #expect(legacy.requests == 10)
            #expect(candidate.requests == 10)
            #expect(state.counts.legacy == 10 && state.counts.candidate == 0 && state.counts.shadowed == 10)
            #expect(state.report.byPointer == ["/backend": 10], "ignored /headers, differing /backend")
            let sample = try #require(state.report.samples.last)
            #expect(sample.differences == [.init(pointer: "/backend", legacy: #""legacy""#, candidate: #""candidate""#)])
            #expect(sample.path.hasPrefix("/orders/") && sample.path.hasSuffix("?token=…"), "query values are not kept: \(sample.path)")
            #expect(state.report.samples.allSatisfy { !$0.path.contains("secret") })

            // Unsafe methods are not copied by default.
            #expect(try await gateway.send(.POST, "/orders/1", body: "{}").headers["x-backend"] == ["legacy"])
            try await Task.sleep(for: .milliseconds(200))
            #expect(candidate.requests == 10)
        }
    }

    @Test func theCopyCarriesTheShadowHeaderAndTheClientDoesNotWaitForIt() async throws {
        try await withGateway(migration: "{from: legacy, stage: shadow}") { gateway, legacy, candidate in
            candidate.control.withLockedValue { $0.delay = .seconds(3) }
            let start = ContinuousClock.now
            let response = try await gateway.send(.GET, "/orders/1")
            let took = ContinuousClock.now - start
            #expect(response.headers["x-backend"] == ["legacy"])
            #expect(response.json?["headers"]?["x-gateway-shadow"] == nil, "legacy sees no shadow header")
            #expect(took < .seconds(3), "the client waited for the shadow copy (\(took))")
            // The copy is sent as the client's answer goes out; it may reach the candidate a little later.
            try await eventually { candidate.requests == 1 }
            #expect(candidate.requests == 1, "the copy went out")
            #expect(gateway.server.migration("getOrder")?.counts.mismatched == 0, "not compared before the copy answered")
            try await eventually { gateway.server.migration("getOrder")?.counts.mismatched == 1 }
            let sample = try #require(gateway.server.migration("getOrder")?.report.samples.last)
            #expect(sample.differences.contains { $0.pointer == "/headers/x-gateway-shadow" && $0.candidate == #"["1"]"# })
        }
    }

    @Test func aStickyCanarySplitsClientsByWeightAndKeepsEachOnItsSide() async throws {
        // Loopback latencies are too noisy for the p99 rollback here; this test is about the split.
        let migration = "{from: legacy, stage: canary, canary: {weight: 30, sticky: header.x-user}, rollback: {latency: 1000}}"
        try await withGateway(migration: migration) { gateway, _, _ in
            var toCandidate = 0
            var sides: [String: String] = [:]
            for user in 0..<200 {
                let response = try await gateway.send(.GET, "/orders/1", headers: [("x-user", "user-\(user)")])
                let side = response.headers["x-backend"].first ?? "?"
                sides["user-\(user)"] = side
                if side == "candidate" { toCandidate += 1 }
            }
            // 30% of 200 clients is 60, binomial standard deviation about 6.5: within 30 (4.6 of them).
            #expect(gateway.server.migration("getOrder")?.state.transitions.isEmpty == true)
            #expect((30...90).contains(toCandidate), "\(toCandidate) of 200")
            for user in 0..<20 {
                let response = try await gateway.send(.GET, "/orders/2", headers: [("x-user", "user-\(user)")])
                #expect(response.headers["x-backend"].first == sides["user-\(user)"], "user-\(user) changed sides")
            }
        }
    }

    @Test func aFailingCandidateFallsBackToLegacyAndRollsTheRouteBack() async throws {
        let migration = "{from: legacy, stage: primary, rollback: {errorRate: 2, minRequests: 5, window: 60s}}"
        try await withGateway(migration: migration) { gateway, legacy, candidate in
            #expect(try await gateway.send(.GET, "/orders/1").headers["x-backend"] == ["candidate"], "primary: the candidate answers")
            candidate.control.withLockedValue { $0.status = 503 }
            for i in 0..<4 {
                let response = try await gateway.send(.GET, "/orders/\(i)")
                #expect(response.status == .ok, "the client saw the candidate's failure")
                #expect(response.headers["x-backend"] == ["legacy"])
            }
            let state = try #require(gateway.server.migration("getOrder"))
            #expect(state.counts.fallbacks == 4)
            #expect(state.counts.candidateErrors == 4)
            #expect(state.state.stage == .shadow, "four failures in five answers is over 2%: rolled back")
            let rollback = try #require(state.state.transitions.last)
            #expect(rollback.from == .primary && rollback.to == .shadow && rollback.by == .auto)
            #expect(rollback.reason.contains("error rate"), "\(rollback.reason)")
            // Back in shadow: legacy answers, the candidate gets copies.
            let before = candidate.requests
            #expect(try await gateway.send(.GET, "/orders/9").headers["x-backend"] == ["legacy"])
            try await eventually { candidate.requests == before + 1 }
            #expect(legacy.requests == 5)
        }
    }

    @Test func noiseIsLearnedFromLegacyDisagreeingWithItself() async throws {
        try await withGateway(migration: "{from: legacy, stage: shadow, compare: {ignore: [/headers], noise: 100}}") { gateway, legacy, _ in
            legacy.control.withLockedValue { $0.nonce = true }
            for i in 0..<5 { #expect(try await gateway.send(.GET, "/orders/\(i)").status == .ok) }
            try await eventually { gateway.server.migration("getOrder")?.counts.mismatched == 5 }
            let state = try #require(gateway.server.migration("getOrder"))
            #expect(legacy.requests == 10, "noise: 100 asks legacy twice per shadowed request")
            #expect(state.report.noise == ["/nonce"])
            #expect(state.report.byPointer == ["/backend": 5], "the noisy pointer was not ignored: \(state.report.byPointer)")
        }
    }
}
