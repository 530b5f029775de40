import AsyncHTTPClient
import FlightExample
import Foundation
import GatewayFunctions
import GatewayPlan
import GatewayServer
import GatewayPolicies
import GatewayStore
import Logging
import NIOCore
import NIOSSL
import Testing

/// API keys, plans, throttles and quotas through the gateway over TLS, with a real SQLite file.
@Suite struct KeysEndToEndTests {
    static let api = """
    openapi: 3.1.0
    info: {title: keyed, version: '1'}
    components:
      securitySchemes:
        key: {type: apiKey, in: header, name: x-api-key}
        queryKey: {type: apiKey, in: query, name: api_key}
    paths:
      /keyed:
        get: {operationId: keyed, security: [{key: []}], x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
      /query-keyed:
        get: {security: [{queryKey: []}], x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
      /maybe-keyed:
        get: {security: [{key: []}, {}], x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
      /open:
        get: {x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
    """

    struct Gateway {
        let folder: TestFolder
        let server: GatewayServer
        let client: HTTPClient
        let store: StateStore
        var base: String { "https://localhost:\(server.httpsPort!)" }

        func get(_ path: String, key: String? = nil) async throws -> HTTPClientResponse {
            var request = HTTPClientRequest(url: base + path)
            if let key { request.headers.add(name: "x-api-key", value: key) }
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response
        }

        func stop() async {
            try? await client.shutdown()
            try? await server.shutdown()
        }
    }

    static func start(_ folder: TestFolder, plan: String = "{rate: 0.1, burst: 3}") async throws -> Gateway {
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:0}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        state: \(folder.path)/state/state.sqlite
        plans:
          basic: \(plan)
        """)
        try folder.write("api.yaml", api)
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        let plan = try PlanCompiler(functionNames: registry.names).compile(configPath: folder.config)
        var logger = Logger(label: "keys")
        logger.logLevel = .critical
        let server = try GatewayServer(runtime: try GatewayRuntime(plan: plan, functions: registry), logger: logger, threads: 2)
        try await server.start()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(folder.certs.caCertificate)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        return Gateway(folder: folder, server: server, client: client, store: try StateStore(path: plan.config.state))
    }

    @Test func keysPlansAndThrottlesEndToEnd() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let gateway = try await Self.start(folder)
        let (_, secret) = try gateway.store.createKey(plan: "basic", name: "t", expiresAt: nil)
        try gateway.server.refreshKeys()

        #expect(try await gateway.get("/keyed").status == .forbidden)
        #expect(try await gateway.get("/keyed", key: APIKeyJunk.wellFormedUnknown).status == .forbidden)
        #expect(try await gateway.get("/keyed", key: "nonsense").status == .forbidden)
        #expect(try await gateway.get("/open").status == .ok)
        #expect(try await gateway.get("/maybe-keyed").status == .ok, "`{}` in security makes the key optional")

        let first = try await gateway.get("/keyed", key: secret)
        #expect(first.status == .ok)
        #expect(first.headers["ratelimit-policy"] == [#""basic";q=3;w=30"#])
        #expect(first.headers["ratelimit"] == [#""basic";r=2;t=10"#])
        #expect(try await gateway.get("/keyed", key: secret).status == .ok)
        #expect(try await gateway.get("/keyed", key: secret).status == .ok)
        let refused = try await gateway.get("/keyed", key: secret)
        #expect(refused.status == .tooManyRequests)
        // About 10 s for the next token at 0.1/s (less when the machine took its time till here).
        #expect(refused.headers["retry-after"].first.flatMap { Int($0) }.map { (1...10).contains($0) } == true)
        #expect(refused.headers["ratelimit"].first?.contains("r=0") == true)

        // The same key in the query, on an operation that asks for it there.
        #expect(try await gateway.get("/query-keyed?api_key=\(secret)").status == .tooManyRequests, "same key, same bucket")
        await gateway.stop()
    }

    @Test func revokedAndRotatedKeysAreSeenWithinTwoSeconds() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let gateway = try await Self.start(folder, plan: "{rate: 100, burst: 100}")
        let (record, secret) = try gateway.store.createKey(plan: "basic", name: nil, expiresAt: nil)
        // No manual refresh: the running gateway picks the key up by itself.
        #expect(try await poll { try await gateway.get("/keyed", key: secret).status == .ok })

        // Rotate with the CLI: both keys work during the overlap.
        let rotated = try GatewayBinary.run(["keys", "rotate", record.id, "--overlap", "1h", "--config", folder.config])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let newSecret = try #require(rotated.stdout.split(separator: "\n").first { $0.hasPrefix("key:") }?.split(separator: " ").last.map(String.init))
        #expect(try await poll { try await gateway.get("/keyed", key: newSecret).status == .ok })
        #expect(try await gateway.get("/keyed", key: secret).status == .ok)

        // Revoke the old one with the CLI: refused within 2 seconds (the poll gives up after 2 s).
        let revoked = try GatewayBinary.run(["keys", "revoke", record.id, "--config", folder.config])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(try await poll { try await gateway.get("/keyed", key: secret).status == .forbidden })
        #expect(try await gateway.get("/keyed", key: newSecret).status == .ok)

        let list = try GatewayBinary.run(["keys", "list", "--config", folder.config])
        #expect(list.stdout.contains(record.id) && list.stdout.contains("revoked"))
        #expect(!list.stdout.contains(secret) && !list.stdout.contains(newSecret), "list never shows secrets")
        await gateway.stop()
    }

    /// One HTTP/1.1 connection remembers the key it presented last (`PresentedKeyMemo`): another
    /// key, a junk one, one with a changed character and a revocation must all be seen on it.
    @Test func oneConnectionSwitchingKeysSeesEachKeyAndARevocation() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let gateway = try await Self.start(folder, plan: "{rate: 100, burst: 100}")
        let (first, firstSecret) = try gateway.store.createKey(plan: "basic", name: nil, expiresAt: nil)
        let (_, secondSecret) = try gateway.store.createKey(plan: "basic", name: nil, expiresAt: nil)
        try gateway.server.refreshKeys()
        let connection = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate,
                                                      alpn: ["http/1.1"])
        var answered = 0
        func status(_ key: String) async throws -> Int {
            try await connection.send("GET /keyed HTTP/1.1\r\nHost: localhost\r\nx-api-key: \(key)\r\n\r\n")
            answered += 1
            let count = answered
            #expect(await connection.waitFor { String(decoding: $0, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").count > count })
            let line = connection.text.components(separatedBy: "HTTP/1.1 ")[count]
            return Int(line.prefix(3)) ?? 0
        }
        var changed = Array(firstSecret)
        changed[12] = changed[12] == "A" ? "B" : "A"
        #expect(try await status(firstSecret) == 200)
        #expect(try await status(firstSecret) == 200)
        #expect(try await status(secondSecret) == 200)
        #expect(try await status(APIKeyJunk.wellFormedUnknown) == 403)
        #expect(try await status(String(changed)) == 403)
        #expect(try await status(firstSecret) == 200)
        try gateway.store.revoke(id: first.id)
        try gateway.server.refreshKeys()
        #expect(try await status(firstSecret) == 403, "a revoked key is refused on the connection that used it")
        #expect(try await status(secondSecret) == 200)
        #expect(!connection.isClosed)
        await connection.close()
        await gateway.stop()
    }

    @Test func anExhaustedQuotaStaysExhaustedAcrossARestart() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let plan = "{rate: 100, burst: 100, quota: {limit: 4, period: day}}"
        var gateway = try await Self.start(folder, plan: plan)
        let (record, secret) = try gateway.store.createKey(plan: "basic", name: nil, expiresAt: nil)
        try gateway.server.refreshKeys()
        for _ in 0..<4 { #expect(try await gateway.get("/keyed", key: secret).status == .ok) }
        let over = try await gateway.get("/keyed", key: secret)
        #expect(over.status == .tooManyRequests)
        #expect(Int(over.headers.first(name: "retry-after") ?? "0") ?? 0 > 0)
        await gateway.stop()

        gateway = try await Self.start(folder, plan: plan)
        let after = try await gateway.get("/keyed", key: secret)
        #expect(after.status == .tooManyRequests)
        let usage = try GatewayBinary.run(["keys", "usage", record.id, "--config", folder.config])
        #expect(usage.stdout.contains("4 of 4"), "\(usage.stdout)")
        await gateway.stop()
    }

    /// Retries for up to 2 seconds.
    func poll(_ check: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<20 {
            if try await check() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await check()
    }
}

enum APIKeyJunk {
    /// Right shape and checksum, never issued.
    static let wellFormedUnknown = GatewayPolicies.APIKey.generate()
}
