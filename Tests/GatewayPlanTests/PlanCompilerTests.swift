import Foundation
import GatewayCore
import GatewayPlan
import GatewayMigration
import GatewayResilience
import Testing

/// A temporary routes folder with a gateway.yaml and API documents.
struct RoutesFolder {
    let path: String

    init(gateway: String = RoutesFolder.defaultGateway, documents: [String: String]) throws {
        path = NSTemporaryDirectory() + "routes-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try gateway.write(toFile: path + "/gateway.yaml", atomically: true, encoding: .utf8)
        for (name, text) in documents {
            try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    var config: String { path + "/gateway.yaml" }

    static let defaultGateway = """
    listen: {http: 127.0.0.1:0}
    upstreams:
      legacy: {targets: [http://127.0.0.1:9000], timeout: 5s}
      other: {targets: ["http://127.0.0.1:9001/base", "http://127.0.0.1:9002"]}
    default: {upstream: legacy}
    """

    func compile(functions: Set<String> = ["f.one", "f.two"]) throws(ConfigErrors) -> GatewayPlan {
        try PlanCompiler(functionNames: functions).compile(configPath: config)
    }

    func errors(functions: Set<String> = ["f.one", "f.two"]) -> [ConfigError] {
        do {
            _ = try compile(functions: functions)
            return []
        } catch {
            return error.errors
        }
    }
}

@Suite struct PlanCompilerTests {
    @Test func compiles31DocumentWithRefsServersAndAnyMethod() throws {
        let folder = try RoutesFolder(documents: ["api.yaml": """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        servers: [{url: 'https://api.example.com/v1'}]
        paths:
          /items/{id}:
            parameters: [{$ref: '#/components/parameters/Id'}]
            get:
              operationId: getItem
              x-gateway: {function: f.one, timeout: 2s}
              responses: {'200': {description: ok}}
            x-gateway-any-method:
              x-gateway: {upstream: other}
              responses: {'200': {description: ok}}
          /files/{path+}:
            get:
              responses: {'200': {description: ok}}
        components:
          parameters:
            Id: {name: id, in: path, required: true, schema: {type: string}}
        """])
        let plan = try folder.compile()
        #expect(plan.operations.count == 3)
        guard case .operation(let i, let params) = plan.router.match(method: "GET", path: "/v1/items/42") else {
            Issue.record("no match")
            return
        }
        #expect(plan.operations[i].target == .function("f.one"))
        #expect(plan.operations[i].operationId == "getItem")
        #expect(plan.operations[i].timeout == .seconds(2))
        #expect(plan.operations[i].parameterNames == ["id"])
        #expect(params == ["42"])
        guard case .operation(let any, _) = plan.router.match(method: "DELETE", path: "/v1/items/42") else {
            Issue.record("any-method did not match")
            return
        }
        #expect(plan.operations[any].target == .upstream("other"))
        #expect(plan.operations[any].routeKey == "ANY /v1/items/{id}")
        guard case .operation(let files, let tail) = plan.router.match(method: "GET", path: "/v1/files/a/b.txt") else {
            Issue.record("greedy did not match")
            return
        }
        #expect(plan.operations[files].target == .upstream("legacy"))
        #expect(plan.operations[files].timeout == .seconds(5))
        #expect(tail == ["a/b.txt"])
        #expect(plan.router.match(method: "GET", path: "/items/42") == .notFound)
        #expect(plan.routeTable().contains("function f.one"))
    }

    @Test func compiles30DocumentInJSON() throws {
        let folder = try RoutesFolder(documents: ["legacy.json": """
        {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
         "paths": {"/orders": {"post": {"x-gateway": {"function": "f.two"},
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "nullable": true}}}},
            "responses": {"201": {"description": "made"}}}}}}
        """])
        let plan = try folder.compile()
        #expect(plan.operations.map(\.routeKey) == ["POST /orders"])
        #expect(plan.operations[0].target == .function("f.two"))
    }

    @Test func filesWithoutOpenAPIFieldAreNotAPIs() throws {
        let folder = try RoutesFolder(documents: ["notes.yaml": "hello: world\n"])
        #expect(try folder.compile().operations.isEmpty)
    }

    @Test func unknownXGatewayKeyNamesFileAndLine() throws {
        let folder = try RoutesFolder(documents: ["api.yaml": """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /a:
            get:
              x-gateway:
                function: f.one
                funtcion: typo
              responses: {'200': {description: ok}}
        """])
        let errors = folder.errors()
        #expect(errors.count == 1)
        #expect(errors.first?.file.hasSuffix("api.yaml") == true)
        #expect(errors.first?.line == 8)
        #expect(errors.first?.message.contains("unknown key 'funtcion'") == true)
    }

    @Test func unregisteredFunctionAndUndefinedUpstreamAreRefused() throws {
        let folder = try RoutesFolder(documents: [
            "a.yaml": """
            openapi: 3.1.0
            info: {title: t, version: '1'}
            paths:
              /a: {get: {x-gateway: {function: nope}, responses: {'200': {description: ok}}}}
            """,
            "b.yaml": """
            openapi: 3.1.0
            info: {title: t, version: '1'}
            paths:
              /b: {get: {x-gateway: {upstream: missing}, responses: {'200': {description: ok}}}}
            """,
        ])
        let messages = folder.errors().map(\.description)
        #expect(messages.count == 2)
        #expect(messages.contains { $0.contains("a.yaml:4") && $0.contains("function 'nope' is not registered") })
        #expect(messages.contains { $0.contains("b.yaml:4") && $0.contains("upstream 'missing' is not defined") })
    }

    @Test func unsupportedSecuritySchemesAreRefusedRatherThanServedOpen() throws {
        let folder = try RoutesFolder(documents: ["api.yaml": """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        components:
          securitySchemes:
            bearer: {type: http, scheme: bearer}
        security: [{bearer: []}]
        paths:
          /a: {get: {x-gateway: {function: f.one}, responses: {'200': {description: ok}}}}
        """])
        let errors = folder.errors()
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("'bearer'") == true)
        #expect(errors.first?.message.contains("refusing to serve it unprotected") == true)
    }

    @Test func apiKeySchemesFromTheDocumentOrTheOperation() throws {
        let folder = try RoutesFolder(documents: ["api.yaml": """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        components:
          securitySchemes:
            key: {type: apiKey, in: header, name: X-API-Key}
            q: {type: apiKey, in: query, name: api_key}
        security: [{key: []}]
        paths:
          /a: {get: {operationId: a, x-gateway: {function: f.one}, responses: {'200': {description: ok}}}}
          /b: {get: {security: [{q: []}, {}], x-gateway: {function: f.one}, responses: {'200': {description: ok}}}}
          /c: {get: {security: [], x-gateway: {function: f.one}, responses: {'200': {description: ok}}}}
        """])
        let plan = try folder.compile()
        let byPath = Dictionary(uniqueKeysWithValues: plan.operations.map { ($0.path, $0) })
        #expect(byPath["/a"]?.apiKey == .init(scheme: "key", location: .header, name: "x-api-key", optional: false))
        #expect(byPath["/b"]?.apiKey == .init(scheme: "q", location: .query, name: "api_key", optional: true))
        #expect(byPath["/c"]?.apiKey == nil, "an empty security list opts out")
    }

    @Test func planOverridesMustNameExistingOperations() throws {
        let folder = try RoutesFolder(
            gateway: RoutesFolder.defaultGateway + "\nplans:\n  basic: {rate: 1, burst: 1, operations: {ghost: {rate: 1, burst: 1}}}\n",
            documents: [:])
        #expect(folder.errors().first?.message.contains("operationId 'ghost'") == true)
    }

    @Test func conflictingOperationsAcrossDocumentsAreRefused() throws {
        let doc = """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /a/{X}: {get: {x-gateway: {function: f.one}, responses: {'200': {description: ok}}}}
        """
        let folder = try RoutesFolder(documents: ["one.yaml": doc, "two.yaml": doc.replacingOccurrences(of: "{X}", with: "{Y}")])
        let errors = folder.errors()
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("conflicts with GET /a/{X}") == true)
    }

    @Test func malformedYAMLAndBadOpenAPIAreReportedWithLines() throws {
        let folder = try RoutesFolder(documents: [
            "broken.yaml": "openapi: 3.1.0\ninfo: {title: t\npaths: {}\n",
            "wrong.yaml": "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: 12\n",
        ])
        let errors = folder.errors()
        #expect(errors.count == 2)
        #expect(errors.contains { $0.file.hasSuffix("broken.yaml") && $0.line != nil && $0.message.contains("invalid YAML") })
        #expect(errors.contains { $0.file.hasSuffix("wrong.yaml") && $0.line == 6 && $0.message.contains("invalid OpenAPI document") })
    }

    func migrationDocument(_ gateway: String) -> String {
        """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /orders/{id}:
            get:
              operationId: getOrder
              parameters: [{name: id, in: path, required: true, schema: {type: string}}]
              x-gateway:
        \(gateway.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
              responses: {'200': {description: ok}}
        """
    }

    @Test func aMigrationResolvesItsCandidateAndLegacy() throws {
        let folder = try RoutesFolder(documents: ["api.yaml": migrationDocument("""
            function: f.one
            migration:
              from: other
              stage: canary
              shadow: {sample: 50, methods: [get, head]}
              compare: {ignore: [/updatedAt, /items/*/etag, header.etag], headers: [Content-Type], noise: 10}
              canary: {weight: 5, steps: [5, 25, 50], interval: 10m, sticky: cookie.session}
              rollback: {errorRate: 2.5, latency: 3, window: 30s, minRequests: 20}
              fallback: false
            """)])
        let plan = try folder.compile()
        let operation = try #require(plan.operations.first)
        guard case .migration(let m) = operation.action else {
            Issue.record("not a migration: \(operation.action)")
            return
        }
        #expect(m.candidate == .function(.init(name: "f.one", timeout: .seconds(29))))
        #expect(m.legacy.upstream.name == "other")
        #expect(m.config.stage == .canary)
        #expect(m.config.shadow.sample == 50)
        #expect(m.config.shadow.methods == ["GET", "HEAD"])
        #expect(m.config.compare.ignore.map(\.description) == ["/updatedAt", "/items/*/etag", "header.etag"])
        #expect(m.config.compare.headers == ["content-type"])
        #expect(m.config.canary.steps == [5, 25, 50])
        #expect(m.config.canary.interval == .seconds(600))
        #expect(m.config.canary.sticky == .cookie("session"))
        #expect(m.config.rollback.errorRate == 2.5)
        #expect(m.config.rollback.window == .seconds(30))
        #expect(m.config.fallback == false)
        #expect(operation.target.description == "function f.one migrating from upstream other (canary)")
    }

    @Test(arguments: [
        ("function: f.one\nmigration: {from: ghost}", "'ghost' is not an upstream"),
        ("upstream: other\nmigration: {from: other}", "the same as its `from`"),
        ("migration: {from: legacy}", "the same as its `from`"),
        ("function: f.one\nmigration: {from: other, stage: beta}", "stage must be legacy, shadow, canary or primary"),
        ("function: f.one\nmigration: {from: other, canary: {steps: [25, 5]}}", "rising"),
        ("function: f.one\nmigration: {from: other, canary: {sticky: user}}", "sticky must be apiKey"),
        ("function: f.one\nmigration: {from: other, compare: {ignore: [updatedAt]}}", "neither a JSON pointer"),
        ("function: f.one\nmigration: {from: other, shadow: {sample: 101}}", "sample must be a percentage"),
        ("function: f.one\nmigration: {from: other, rollback: {latency: 0.5}}", "latency must be a factor"),
        ("function: f.one\nmigration: {from: other, mirror: true}", "unknown key 'mirror'"),
    ])
    func badMigrationsAreRefusedWithTheirLine(ext: String, message: String) throws {
        let folder = try RoutesFolder(documents: ["api.yaml": migrationDocument(ext)])
        let errors = folder.errors()
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains(message) == true, "\(errors)")
        #expect(errors.first?.line != nil, "\(errors)")
    }

    @Test func noTargetAndNoDefaultIsAnError() throws {
        let folder = try RoutesFolder(
            gateway: "listen: {http: 127.0.0.1:0}\n",
            documents: ["api.yaml": """
            openapi: 3.1.0
            info: {title: t, version: '1'}
            paths:
              /a: {get: {responses: {'200': {description: ok}}}}
            """])
        #expect(folder.errors().first?.message.contains("no default upstream") == true)
    }
}

@Suite struct GatewayConfigTests {
    func load(_ text: String) throws(ConfigError) -> GatewayConfig {
        try GatewayConfig.parse(try YAMLSource(file: "gateway.yaml", text: text))
    }

    @Test func readsTheContractKeys() throws {
        let config = try load("""
        listen: {https: 0.0.0.0:8443, http: '[::1]:8080'}
        tls: {certificate: certs/c.crt, key: certs/c.key}
        state: .gateway/state.sqlite
        upstreams:
          legacy: {targets: [http://127.0.0.1:9000/api/], timeout: 250ms}
          secure: {targets: [https://example.com]}
        default: {upstream: legacy}
        throttle: {rate: 10000, burst: 5000}
        plans:
          basic: {rate: 10, burst: 20, quota: {limit: 10000, period: day}}
        limits: {maxBodyBytes: 1024, idleTimeout: 5m}
        """)
        #expect(config.https == .init(host: "0.0.0.0", port: 8443))
        #expect(config.http == .init(host: "::1", port: 8080))
        #expect(config.upstreams["legacy"]?.timeout == .milliseconds(250))
        #expect(config.upstreams["legacy"]?.targets.first?.basePath == "/api")
        #expect(config.upstreams["secure"]?.targets.first == .init(tls: true, host: "example.com", port: 443, basePath: ""))
        #expect(config.upstreams["secure"]?.timeout == .seconds(29))
        #expect(config.defaultUpstream == "legacy")
        #expect(config.plans["basic"]?.quota == .init(limit: 10000, period: .day))
        #expect(config.limits.maxBufferedBody == 1024)
        #expect(config.limits.idleTimeout == .seconds(300))
    }

    @Test func refusesWhatItCannotUse() {
        #expect(throws: ConfigError.self) { try load("listen: {http: 127.0.0.1:8080}\nlisten2: x\n") }
        #expect(throws: ConfigError.self) { try load("listen: {https: 127.0.0.1:8443}\n") }
        #expect(throws: ConfigError.self) { try load("listen: {http: nope}\n") }
        #expect(throws: ConfigError.self) {
            try load("listen: {http: 127.0.0.1:1}\nupstreams: {a: {targets: [ftp://x]}}\n")
        }
        #expect(throws: ConfigError.self) { try load("listen: {http: 127.0.0.1:1}\ndefault: {upstream: ghost}\n") }
        #expect(throws: ConfigError.self) {
            try load("listen: {http: 127.0.0.1:1}\nupstreams: {a: {targets: [http://x], timeout: soon}}\n")
        }
    }

    @Test func unknownKeyErrorNamesTheLine() {
        do {
            _ = try load("listen: {http: 127.0.0.1:8080}\n\nupstreams:\n  a:\n    targets: [http://x]\n    timout: 1s\n")
            Issue.record("accepted an unknown key")
        } catch {
            #expect(error.line == 6)
            #expect(error.message.contains("timout"))
        }
    }

    @Test func readsTheUpstreamResilienceBlocks() throws {
        let config = try load("""
        listen: {http: 127.0.0.1:8080}
        upstreams:
          legacy:
            targets: [http://10.0.0.1:8080, http://10.0.0.2:8080]
            balance: least-request
            healthCheck: {path: /health, interval: 5s, timeout: 1s, healthyThreshold: 2, unhealthyThreshold: 3, expectStatus: 200-399}
            outlierDetection: {consecutiveFailures: 5, ejectionTime: 30s, maxEjectionPercent: 50}
            retries: {attempts: 2, on: [connect-failure, reset, 502, 503, 504], methods: [GET, HEAD], budget: 20%, backoff: 25ms}
            limits: {maxConnections: 1024, maxRequests: 512, maxPending: 256}
          plain: {targets: [http://10.0.0.3:8080]}
        """)
        let r = try #require(config.upstreams["legacy"]?.resilience)
        #expect(r.balance == .leastRequest)
        #expect(r.healthCheck?.expectStatus == 200...399)
        #expect(r.healthCheck?.interval == .seconds(5))
        #expect(r.outlierDetection?.maxEjectionPercent == 50)
        #expect(r.retries?.on == [.connectFailure, .reset, .status502, .status503, .status504])
        #expect(r.retries?.methods == ["GET", "HEAD"])
        #expect(r.retries?.budget == 0.2)
        #expect(r.retries?.backoff == .milliseconds(25))
        #expect(r.limits?.maxRequests == 512)
        #expect(config.upstreams["plain"]?.resilience == ResilienceConfig(), "absent blocks are off")
    }

    @Test(arguments: [
        ("balance: random", "balance must be round-robin or least-request"),
        ("healthCheck: {expectStatus: 200-99}", "expectStatus must be a status or a range"),
        ("healthCheck: {interval: 1s, timeout: 2s}", "timeout must not be longer than the interval"),
        ("healthCheck: {path: health}", "path must be an absolute path"),
        ("outlierDetection: {maxEjectionPercent: 150}", "maxEjectionPercent must be from 0 to 100"),
        ("outlierDetection: {consecutiveFailures: 0}", "consecutiveFailures must be an integer from 1"),
        ("retries: {on: [connect-failure, 500]}", "unknown retry condition '500'"),
        ("retries: {attempts: 11}", "attempts must be from 0 to 10"),
        ("retries: {budget: 120%}", "budget must be a percentage"),
        ("retries: {retryOn: [reset]}", "retryOn"),
        ("limits: {maxRequests: 0}", "maxRequests must be an integer from 1"),
    ])
    func refusesBadResilienceSettingsWithTheLine(setting: String, message: String) {
        do {
            _ = try load("listen: {http: 127.0.0.1:8080}\nupstreams:\n  legacy:\n    targets: [http://x]\n    \(setting)\n")
            Issue.record("accepted \(setting)")
        } catch {
            #expect(error.line == 5, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func durations() {
        #expect(ConfigDuration.parse("250ms") == .milliseconds(250))
        #expect(ConfigDuration.parse("29s") == .seconds(29))
        #expect(ConfigDuration.parse("5m") == .seconds(300))
        #expect(ConfigDuration.parse("1.5s") == .milliseconds(1500))
        #expect(ConfigDuration.parse("2h") == .seconds(7200))
        #expect(ConfigDuration.parse("ten") == nil)
        #expect(ConfigDuration.parse("-1s") == nil)
        #expect(ConfigDuration.parse("s") == nil)
    }
}
