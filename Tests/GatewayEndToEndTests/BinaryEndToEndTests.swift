import AsyncHTTPClient
import Foundation
import GatewayCore
import NIOCore
import Testing
import X509

/// Tests that drive the real `gateway` executable.
@Suite struct BinaryEndToEndTests {
    /// Runs `gateway check` on a configuration with a plain listener and one API document.
    static func check(api: String) throws -> GatewayBinary.Output {
        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.write("gateway.yaml", "listen: {http: 127.0.0.1:0}\n")
        try folder.write("api.yaml", api)
        return try GatewayBinary.run(["check", "--config", folder.config])
    }

    @Test func checkPrintsTheRouteTableForTheExampleConfiguration() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let result = try GatewayBinary.run(["check", "--config", "routes/gateway.yaml"], cwd: root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("POST    /flights "))
        #expect(result.stdout.contains("function flights.create"))
        #expect(result.stdout.contains("(anything else)"))
        #expect(result.stdout.contains("authorizer airlineDesk (token, function airlines.authorize)"))
    }

    @Test(arguments: [
        ("x-gateway-cors: {allowOrigins: ['*'], allowCredentials: true}", "allowCredentials cannot be used with allowOrigins '*'"),
        ("x-gateway-cors: {allowOrigins: ['https://a.test/path']}", "is not an origin"),
        ("x-gateway-cors: {allowMethods: [GET]}", "allowOrigins must list"),
        ("x-gateway-cors: {allowOrigins: ['*'], maxAge: 100000}", "maxAge must be from 0 to 86400"),
    ])
    func checkRefusesBrokenCORS(cors: String, reason: String) throws {
        let result = try Self.check(api: """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        \(cors)
        paths:
          /a:
            get: {x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
        """)
        #expect(result.status == 1)
        #expect(result.stderr.contains("api.yaml:3"), "\(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
    }

    @Test(arguments: [
        ("x-gateway-authorizer: {function: nobody.knows}", "authorizer function 'nobody.knows' is not registered"),
        ("x-gateway-authorizer: {url: 'http://127.0.0.1:9/a', ttl: 2h}", "ttl must be at most 3600s"),
        ("x-gateway-authorizer: {url: 'http://127.0.0.1:9/a', cache: yes}", "unknown key 'cache'"),
        ("x-gateway-authorizer: {url: 'ftp://x/a'}", "must be an http:// or https:// URL"),
        ("x-gateway-authorizer: {url: 'http://127.0.0.1:9/a', type: token, identitySources: [query.t]}", "exactly one header identity source"),
        ("x-gateway-jwt: {issuer: 'https://i', jwks: /nonexistent/jwks.json}", "cannot read the file"),
    ])
    func checkRefusesBrokenAuthorizers(scheme: String, reason: String) throws {
        let result = try Self.check(api: """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        components:
          securitySchemes:
            auth:
              type: http
              scheme: bearer
              \(scheme)
        paths:
          /a:
            get: {security: [{auth: []}], x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
        """)
        #expect(result.status == 1)
        #expect(result.stderr.contains("api.yaml:"), "\(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
    }

    @Test(arguments: [
        ("paths:\n  /a:\n    get:\n      x-gateway: {function: flights.create, retries: 3}\n      responses: {'200': {description: ok}}\n",
         "api.yaml:6", "unknown key 'retries'"),
        ("paths:\n  /a:\n    get:\n      x-gateway: {function: flights.missing}\n      responses: {'200': {description: ok}}\n",
         "api.yaml:6", "function 'flights.missing' is not registered"),
        ("paths:\n  /a:\n    get:\n      x-gateway: {upstream: nowhere}\n      responses: {'200': {description: ok}}\n",
         "api.yaml:6", "upstream 'nowhere' is not defined"),
        ("paths:\n  /a:\n    get:\n      responses: [oops\n", "api.yaml:", "invalid YAML"),
    ])
    func checkRefusesBrokenDocuments(body: String, location: String, reason: String) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.write("gateway.yaml", "listen: {http: 127.0.0.1:0}\nupstreams: {legacy: {targets: [http://127.0.0.1:9]}}\n")
        try folder.write("api.yaml", "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n" + body)
        let result = try GatewayBinary.run(["check", "--config", folder.config])
        #expect(result.status == 1)
        #expect(result.stderr.contains(location), "\(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
        // `serve` refuses the same configuration and starts nothing.
        let serve = try GatewayBinary.run(["serve", "--config", folder.config])
        #expect(serve.status == 1)
        #expect(serve.stderr.contains(reason))
    }

    @Test func aCertificateThatDoesNotLoadIsRefused() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try "not a certificate".write(toFile: folder.path + "/bad.crt", atomically: true, encoding: .utf8)
        try folder.write("gateway.yaml", "listen: {https: 127.0.0.1:0}\ntls: {certificate: \(folder.path)/bad.crt, key: \(folder.certs.key)}\n")
        for command in ["check", "serve"] {
            let result = try GatewayBinary.run([command, "--config", folder.config])
            #expect(result.status == 1)
            #expect(result.stderr.contains("bad.crt"), "\(result.stderr)")
        }
    }

    @Test func certsDevWritesWhereTheConfigurationSays() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.write("gateway.yaml", "listen: {https: 127.0.0.1:0}\ntls: {certificate: \(folder.path)/out/site.crt, key: \(folder.path)/out/site.key}\n")
        let result = try GatewayBinary.run(["certs", "dev", "--config", folder.config])
        #expect(result.status == 0, "\(result.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.path + "/out/site.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let chain = try String(contentsOfFile: folder.path + "/out/site.crt", encoding: .utf8)
        #expect(chain.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
        #expect(result.stdout.contains("dev-ca.crt"))
        // The server certificate (first in the chain) is valid for 365 days at most.
        let server = try Certificate(pemEncoded: String(chain[..<chain.range(of: "-----END CERTIFICATE-----")!.upperBound]))
        #expect(server.notValidAfter.timeIntervalSince(server.notValidBefore) <= 365 * 86_400)
        #expect(server.notValidAfter.timeIntervalSince(server.notValidBefore) > 364 * 86_400)
    }

    @Test func invokeRunsAFunctionOnAnEventFile() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let event = #"{"rawPath":"/flights","routeKey":"POST /flights","headers":{"content-type":"application/json"},"body":"{\"flightNumber\":\"AF1\",\"origin\":\"CDG\",\"destination\":\"NRT\",\"departure\":\"2026-12-01T10:00:00Z\",\"passengers\":[]}"}"#
        try event.write(toFile: folder.path + "/event.json", atomically: true, encoding: .utf8)
        let result = try GatewayBinary.run(["invoke", "flights.create", "--event", folder.path + "/event.json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""statusCode" : 201"#))
        #expect(result.stdout.contains("AF1-"))
        let unknown = try GatewayBinary.run(["invoke", "nope", "--event", folder.path + "/event.json"])
        #expect(unknown.status == 1)
    }

    @Test(arguments: [
        ("{type: string, pattern: '(unclosed'}", "/paths/~1a/post/requestBody/content/application~1json/schema"),
        ("{$ref: '#/components/schemas/Missing'}", "'Missing' was not found in schemas"),
    ])
    func checkNamesTheSchemaThatCannotBeCompiled(schema: String, reason: String) throws {
        let result = try Self.check(api: """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /a:
            post:
              x-gateway: {function: alerts.list}
              requestBody:
                content:
                  application/json:
                    schema: \(schema)
              responses: {'200': {description: ok}}
        """)
        #expect(result.status == 1)
        #expect(result.stderr.contains("api.yaml:"), "\(result.stderr)")
        #expect(result.stderr.contains("api.yaml:10:"), "the schema's line: \(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
    }

    @Test func invokeRunsAnAuthorizerFunction() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let event = #"{"type":"TOKEN","authorizationToken":"Bearer demo-LH","methodArn":"arn:aws:execute-api:gateway:local:flights/$default/GET/alerts"}"#
        try event.write(toFile: folder.path + "/event.json", atomically: true, encoding: .utf8)
        let result = try GatewayBinary.run(["invoke", "airlines.authorize", "--event", folder.path + "/event.json"])
        #expect(result.status == 0, "\(result.stderr)")
        let answer = try JSONValue.parse(Data(result.stdout.utf8))
        #expect(answer["principalId"] == "LH")
        #expect(answer["context"]?["airline"] == "LH")
    }

    @Test func streams100MBEachWayWithBoundedMemory() async throws {
        let backend = try await FakeBackend.start()
        let folder = try TestFolder()
        let port = try TestFolder.closedPort()
        try folder.write("gateway.yaml", """
        listen: {http: 127.0.0.1:\(port)}
        upstreams: {legacy: {targets: [http://127.0.0.1:\(backend.port)], timeout: 60s}}
        default: {upstream: legacy}
        """)
        let process = try GatewayBinary.serve(config: folder.config)
        defer { GatewayBinary.stop(process); folder.remove() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await waitUntilListening(client, "http://127.0.0.1:\(port)/ready")
        let size = 100 * 1024 * 1024

        // Upload: the backend reads slowly, so the gateway must hold the client back, not buffer.
        var upload = HTTPClientRequest(url: "http://127.0.0.1:\(port)/upload-slow")
        upload.method = .POST
        upload.body = .stream(ChunkSequence(total: size), length: .known(Int64(size)))
        let uploaded = try await client.execute(upload, timeout: .seconds(120))
        let answerBytes = try await uploaded.body.collect(upTo: 1 << 20)
        let answer = try JSONValue.parse(Data(answerBytes.readableBytesView))
        #expect(uploaded.status == .ok)
        #expect(answer["bodyBytes"] == .int(Int64(size)))

        // Download: the client reads slowly, so the gateway must hold the backend back.
        let downloaded = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/download?bytes=\(size)"), timeout: .seconds(120))
        let received = try await readSlowly(downloaded.body, pause: .milliseconds(2))
        #expect(received == size)
        let peak = try #require(GatewayBinary.peakRSS(process.processIdentifier))
        print("streamed \(2 * size / 1_048_576) MiB through the gateway; its peak RSS: \(peak / 1_048_576) MiB")
        #expect(peak < 64 * 1024 * 1024, "gateway peak RSS \(peak / 1_048_576) MiB while streaming 200 MiB")
        try await client.shutdown()
        await backend.stop()
    }

    @Test func reloadOnSIGHUPKeepsTheLastGoodConfiguration() async throws {
        let folder = try TestFolder()
        let port = try TestFolder.closedPort()
        try folder.write("gateway.yaml", "listen: {http: 127.0.0.1:\(port)}\n")
        func api(_ path: String) -> String {
            "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  \(path): {get: {x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}}\n"
        }
        try folder.write("api.yaml", api("/v1/alerts"))
        let process = try GatewayBinary.serve(config: folder.config)
        defer { GatewayBinary.stop(process); folder.remove() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let base = "http://127.0.0.1:\(port)"
        try await waitUntilListening(client, base + "/v1/alerts")
        func status(_ path: String) async throws -> UInt {
            let response = try await client.execute(HTTPClientRequest(url: base + path), timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.status.code
        }
        #expect(try await status("/v1/alerts") == 200)

        // A broken document: the reload is refused and the running routes stay.
        try folder.write("api.yaml", api("/v2/alerts") + "    x-gateway: [broken\n")
        kill(process.processIdentifier, SIGHUP)
        try await Task.sleep(for: .milliseconds(500))
        #expect(process.isRunning)
        #expect(try await status("/v1/alerts") == 200)
        #expect(try await status("/v2/alerts") == 404)

        // A good one: swapped in whole.
        try folder.write("api.yaml", api("/v2/alerts"))
        kill(process.processIdentifier, SIGHUP)
        var swapped = false
        for _ in 0..<50 where !swapped {
            try await Task.sleep(for: .milliseconds(100))
            swapped = try await status("/v2/alerts") == 200
        }
        #expect(swapped)
        #expect(try await status("/v1/alerts") == 404)
        try await client.shutdown()
    }

    func waitUntilListening(_ client: HTTPClient, _ url: String) async throws {
        for _ in 0..<100 {
            if let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(2)) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CancellationError()
    }
}

/// `total` bytes in 64 KiB buffers, produced on demand.
/// Reads a response body as a slow client does, pausing after each MiB; the bytes read.
func readSlowly(_ body: HTTPClientResponse.Body, pause: Duration) async throws -> Int {
    var received = 0, sinceNap = 0
    for try await chunk in body {
        received += chunk.readableBytes
        sinceNap += chunk.readableBytes
        if sinceNap >= 1 << 20 {
            sinceNap = 0
            try await Task.sleep(for: pause)
        }
    }
    return received
}

struct ChunkSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let total: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: Int
        let chunk = ByteBuffer(repeating: 0x62, count: 65_536)

        mutating func next() async -> ByteBuffer? {
            guard remaining > 0 else { return nil }
            let n = Swift.min(remaining, 65_536)
            remaining -= n
            return n == 65_536 ? chunk : chunk.getSlice(at: 0, length: n)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: total) }
}
