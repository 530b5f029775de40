import AsyncHTTPClient
import Foundation
import GatewayCore
import NIOCore
import NIOSSL
import Testing

/// A migration driven from the CLI against the real `gateway` binary: the evidence in
/// `gateway migrations show`, a change picked up by the running gateway within 2 seconds, and the
/// stage surviving a restart.
@Suite(.serialized) struct MigrationBinaryTests {
    @Test func theCLIShowsTheEvidenceAndMovesTheRunningGateway() async throws {
        let legacy = try await FakeBackend.start(name: "legacy")
        let candidate = try await FakeBackend.start(name: "candidate")
        let folder = try TestFolder()
        let https = try TestFolder.closedPort()
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:\(https)}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        state: \(folder.path)/state.sqlite
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
                migration: {from: legacy, stage: shadow, compare: {ignore: [/headers]}}
              responses: {'200': {description: ok}}
        """)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(folder.certs.caCertificate)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        func backendOf(_ path: String) async throws -> String? {
            let response = try await client.execute(HTTPClientRequest(url: "https://localhost:\(https)\(path)"), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.headers.first(name: "x-backend")
        }
        func cli(_ arguments: [String]) throws -> GatewayBinary.Output {
            try GatewayBinary.run(["migrations"] + arguments + ["--config", folder.config])
        }
        func show() throws -> JSONValue {
            let out = try cli(["show", "getOrder", "--json"])
            #expect(out.status == 0, "\(out.stderr)")
            return try JSONValue.parse(Data(out.stdout.utf8))
        }

        var gateway = try GatewayBinary.serve(config: folder.config, log: folder.path + "/gateway.log", logLevel: "info")
        do {
            try await GatewayBinary.waitForPort(https)
            for i in 0..<4 { #expect(try await backendOf("/orders/\(i)") == "legacy") }
            // The gateway writes its report every second.
            var report = try show()
            for _ in 0..<50 where report["counts"]?["mismatched"] != 4 {
                try await Task.sleep(for: .milliseconds(100))
                report = try show()
            }
            #expect(report["stage"] == "shadow")
            #expect(report["counts"]?["shadowed"] == 4)
            #expect(report["counts"]?["mismatched"] == 4)
            #expect(report["differences"]?.arrayValue?.first?["pointer"] == "/backend")
            #expect(report["differences"]?.arrayValue?.first?["percent"] == 100)
            let list = try cli(["list"])
            #expect(list.stdout.contains("getOrder") && list.stdout.contains("shadow"), "\(list.stdout)")
            let text = try cli(["show", "getOrder"])
            #expect(text.stdout.contains("/backend"), "\(text.stdout)")

            // Promoted by hand to primary: the running gateway follows within 2 seconds.
            let set = try cli(["set", "getOrder", "--stage", "primary"])
            #expect(set.status == 0, "\(set.stderr)")
            #expect(set.stdout.contains("shadow → primary"), "\(set.stdout)")
            let changedAt = ContinuousClock.now
            var answeredBy = try await backendOf("/orders/9")
            while answeredBy != "candidate" && ContinuousClock.now - changedAt < .seconds(5) {
                try await Task.sleep(for: .milliseconds(100))
                answeredBy = try await backendOf("/orders/9")
            }
            #expect(answeredBy == "candidate")

            // The stage survives a restart.
            GatewayBinary.stop(gateway)
            gateway = try GatewayBinary.serve(config: folder.config, log: folder.path + "/gateway2.log", logLevel: "info")
            try await GatewayBinary.waitForPort(https)
            #expect(try await backendOf("/orders/10") == "candidate", "the stage did not survive the restart")
            let after = try show()
            #expect(after["stage"] == "primary")
            #expect(after["transitions"]?.arrayValue?.last?["by"] == "cli")

            // Rolled back by hand, and a pointer marked as noise.
            #expect(try cli(["rollback", "getOrder"]).status == 0)
            #expect(try cli(["ignore", "getOrder", "/backend"]).status == 0)
            #expect(try cli(["ignore", "getOrder", "backend"]).status != 0, "not a pointer")
            #expect(try cli(["show", "nope"]).stderr.contains("not a route under migration"))
            let rolledAt = ContinuousClock.now
            answeredBy = try await backendOf("/orders/11")
            while answeredBy != "legacy" && ContinuousClock.now - rolledAt < .seconds(5) {
                try await Task.sleep(for: .milliseconds(100))
                answeredBy = try await backendOf("/orders/11")
            }
            #expect(answeredBy == "legacy")
            let promoted = try cli(["promote", "getOrder", "--json"])
            let transition = try JSONValue.parse(Data(promoted.stdout.utf8)).arrayValue?.first
            #expect(transition?["from"] == "shadow" && transition?["to"] == "canary" && transition?["by"] == "cli", "\(promoted.stdout)")
        } catch {
            GatewayBinary.stop(gateway)
            try? await client.shutdown()
            await legacy.stop(); await candidate.stop(); folder.remove()
            throw error
        }
        GatewayBinary.stop(gateway)
        try? await client.shutdown()
        await legacy.stop(); await candidate.stop(); folder.remove()
    }
}
