import AsyncHTTPClient
import FlightExample
import Foundation
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// Authorizer callouts through the real gateway over TLS, against a real HTTP authorizer on
/// loopback that counts its calls, and a local authorizer function.
@Suite(.serialized) struct AuthorizerEndToEndTests {
    struct Setup {
        let folder: TestFolder
        let gateway: InProcessGateway
        let authorizer: FakeAuthorizer
        let backend: FakeBackend
        let localCalls: NIOLockedValueBox<Int>

        func get(_ path: String, headers: [(String, String)] = []) async throws -> (HTTPResponseStatus, HTTPHeaders, JSONValue?) {
            let response = try await gateway.send(.GET, path, headers: headers)
            return (response.status, response.headers, response.json)
        }

        func stop() async {
            await gateway.stop()
            await authorizer.stop()
            await backend.stop()
            folder.remove()
        }
    }

    /// Runs `body` against a fresh gateway and authorizer, stopping both whatever happens.
    static func with(_ body: (Setup) async throws -> Void) async throws {
        let s = try await start()
        do {
            try await body(s)
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }

    static func start() async throws -> Setup {
        let folder = try TestFolder()
        let authorizer = try await FakeAuthorizer.start()
        let backend = try await FakeBackend.start()
        let dead = TestFolder.deadPort(1)
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:0}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        upstreams:
          legacy: {targets: [http://127.0.0.1:\(backend.port)]}
        """)
        try folder.write("authz.yaml", """
        openapi: 3.1.0
        info: {title: authz, version: '1'}
        components:
          securitySchemes:
            token: {type: apiKey, in: header, name: authorization, x-gateway-authorizer: {url: '\(authorizer.url)', type: token, timeout: 1500ms}}
            short: {type: apiKey, in: header, name: x-short, x-gateway-authorizer: {url: '\(authorizer.url)', type: token, ttl: 1s}}
            request:
              type: apiKey
              in: header
              name: x-tenant
              x-gateway-authorizer: {url: '\(authorizer.url)', type: request, identitySources: [header.x-tenant, query.user]}
            local: {type: http, scheme: bearer, x-gateway-authorizer: {function: test.authorize, type: token}}
            down: {type: apiKey, in: header, name: x-down, x-gateway-authorizer: {url: 'http://127.0.0.1:\(dead)/authorize', timeout: 300ms}}
        paths:
          /authz/echo:
            get: {security: [{token: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
          /authz/proxy:
            get: {security: [{token: []}], x-gateway: {upstream: legacy}, responses: {'200': {description: ok}}}
          /authz/policy-ok:
            get: {security: [{token: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
          /authz/policy-other:
            get: {security: [{token: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
          /authz/short:
            get: {security: [{short: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
          /authz/request/{id}:
            get: {security: [{request: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
          /authz/local:
            get: {security: [{local: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
          /authz/down:
            get: {security: [{down: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
        """)
        let localCalls = NIOLockedValueBox(0)
        var registry = FunctionRegistry()
        registry.register("test.echo", InProcessGateway.echoEvent)
        registry.registerAuthorizer("test.authorize", ClosureAuthorizer { event, _ in
            localCalls.withLockedValue { $0 += 1 }
            let token = event["authorizationToken"]?.stringValue ?? ""
            return ["isAuthorized": .bool(token == "Bearer local-ok"), "context": ["via": "function"]]
        })
        return Setup(folder: folder, gateway: try await InProcessGateway.start(folder, registry: registry),
                     authorizer: authorizer, backend: backend, localCalls: localCalls)
    }

    @Test func missingIdentityIs401WithoutACallout() async throws {
        try await Self.with { s in
            let (status, _, body) = try await s.get("/authz/echo")
            #expect(status == .unauthorized)
            #expect(body == ["message": "Unauthorized"])
            let (status2, _, _) = try await s.get("/authz/request/7", headers: [("x-tenant", "allow-t")])
            #expect(status2 == .unauthorized, "the request authorizer's second identity source (query.user) is missing")
            #expect(s.authorizer.totalCalls == 0)
        }
    }

    @Test func allowIsCachedAndItsContextReachesTheFunction() async throws {
        try await Self.with { s in
            let (status, _, body) = try await s.get("/authz/echo", headers: [("authorization", "allow-1")])
            #expect(status == .ok)
            #expect(body?["requestContext"]?["authorizer"]?["lambda"]?["tenant"] == "allow-1")
            #expect(s.authorizer.calls("allow-1") == 1)
            let event = s.authorizer.lastEvent
            #expect(event?["type"] == "TOKEN")
            #expect(event?["methodArn"]?.stringValue?.hasSuffix("/GET/authz/echo") == true)
            let (again, _, _) = try await s.get("/authz/echo", headers: [("authorization", "allow-1")])
            #expect(again == .ok)
            #expect(s.authorizer.calls("allow-1") == 1, "the second request is answered from the cache")
        }
    }

    @Test func denyIsCachedToo() async throws {
        try await Self.with { s in
            for _ in 0..<3 {
                let (status, _, body) = try await s.get("/authz/echo", headers: [("authorization", "deny-1")])
                #expect(status == .forbidden)
                #expect(body == ["message": "User is not authorized to access this resource"])
            }
            #expect(s.authorizer.calls("deny-1") == 1)
            let (explicit, _, body) = try await s.get("/authz/echo", headers: [("authorization", "explicit-1")])
            #expect(explicit == .forbidden)
            #expect(body == ["message": "User is not authorized to access this resource with an explicit deny"])
        }
    }

    @Test func aCachedPolicyOnlyGrantsTheRoutesItNames() async throws {
        try await Self.with { s in
            let (ok, _, body) = try await s.get("/authz/policy-ok", headers: [("authorization", "policy-1")])
            #expect(ok == .ok)
            #expect(body?["requestContext"]?["authorizer"]?["principalId"] == "policy-user")
            let (other, _, _) = try await s.get("/authz/policy-other", headers: [("authorization", "policy-1")])
            #expect(other == .forbidden)
            #expect(s.authorizer.calls("policy-1") == 1, "one callout; the cached policy is evaluated per route")
        }
    }

    @Test func anExpiredEntryCallsAgain() async throws {
        try await Self.with { s in
            #expect(try await s.get("/authz/short", headers: [("x-short", "allow-s")]).0 == .ok)
            #expect(try await s.get("/authz/short", headers: [("x-short", "allow-s")]).0 == .ok)
            #expect(s.authorizer.calls("allow-s") == 1)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await s.get("/authz/short", headers: [("x-short", "allow-s")]).0 == .ok)
            #expect(s.authorizer.calls("allow-s") == 2, "the 1s TTL ended")
        }
    }

    @Test func failuresAre500AndNeverCached() async throws {
        try await Self.with { s in
            for token in ["slow-1", "error-1", "garbage-1"] {
                let (status, _, body) = try await s.get("/authz/echo", headers: [("authorization", token)])
                #expect(status == .internalServerError, "\(token)")
                #expect(body == ["message": "Internal server error"])
            }
            #expect(try await s.get("/authz/echo", headers: [("authorization", "error-1")]).0 == .internalServerError)
            #expect(s.authorizer.calls("error-1") == 2, "an error is not cached")
            let (down, _, _) = try await s.get("/authz/down", headers: [("x-down", "allow-x")])
            #expect(down == .internalServerError, "an authorizer that cannot be reached fails closed")
            let (unauthorized, _, _) = try await s.get("/authz/echo", headers: [("authorization", "unauthorized-1")])
            #expect(unauthorized == .unauthorized)
        }
    }

    @Test func hundredConcurrentRequestsMakeOneCallout() async throws {
        try await Self.with { s in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await s.get("/authz/echo", headers: [("authorization", "allow-many")]).0 }
                }
                var out: [HTTPResponseStatus] = []
                for try await status in group { out.append(status) }
                return out
            }
            #expect(statuses.count == 100)
            #expect(statuses.allSatisfy { $0 == .ok })
            #expect(s.authorizer.calls("allow-many") == 1)
        }
    }

    @Test func contextHeadersReachTheBackendAndForgedOnesDoNot() async throws {
        try await Self.with { s in
            let (status, _, body) = try await s.get("/authz/proxy", headers: [
                ("authorization", "allow-p"), ("x-authorizer-tenant", "evil"), ("X-Authorizer-Admin", "true"),
            ])
            #expect(status == .ok)
            let headers = body?["headers"]
            #expect(headers?["x-authorizer-tenant"] == ["allow-p"])
            #expect(headers?["x-authorizer-tier"] == ["gold"])
            #expect(headers?["x-authorizer-admin"] == nil)
        }
    }

    @Test func requestAuthorizersSeeTheRequestAndKeyTheCacheOnEveryIdentitySource() async throws {
        try await Self.with { s in
            let (status, _, _) = try await s.get("/authz/request/42?user=ada", headers: [("x-tenant", "allow-r")])
            #expect(status == .ok)
            let event = s.authorizer.lastEvent
            #expect(event?["type"] == "REQUEST")
            #expect(event?["routeKey"] == "GET /authz/request/{id}")
            #expect(event?["pathParameters"]?["id"] == "42")
            #expect(event?["queryStringParameters"]?["user"] == "ada")
            #expect(event?["identitySource"] == ["allow-r", "ada"])
            #expect(try await s.get("/authz/request/42?user=ada", headers: [("x-tenant", "allow-r")]).0 == .ok)
            #expect(s.authorizer.calls("allow-r") == 1)
            #expect(try await s.get("/authz/request/42?user=bob", headers: [("x-tenant", "allow-r")]).0 == .ok)
            #expect(s.authorizer.calls("allow-r") == 2, "another value of an identity source is another cache entry")
        }
    }

    @Test func aLocalFunctionAuthorizerWorksTheSameWay() async throws {
        try await Self.with { s in
            let (status, _, body) = try await s.get("/authz/local", headers: [("authorization", "Bearer local-ok")])
            #expect(status == .ok)
            #expect(body?["requestContext"]?["authorizer"]?["lambda"]?["via"] == "function")
            #expect(try await s.get("/authz/local", headers: [("authorization", "Bearer local-ok")]).0 == .ok)
            #expect(s.localCalls.withLockedValue { $0 } == 1)
            #expect(try await s.get("/authz/local", headers: [("authorization", "Bearer nope")]).0 == .forbidden)
            #expect(try await s.get("/authz/local").0 == .unauthorized)
        }
    }
}
