import AsyncHTTPClient
import Foundation
import GatewayCore
import GatewayFunctions
import NIOHTTP1
import Testing

/// `x-gateway-cors` end to end: preflights answered by the gateway before API keys, actual
/// responses decorated (a function's own CORS headers replaced), refused origins get none.
@Suite struct CORSEndToEndTests {
    static let origin = "https://app.example.com"

    static func with(_ body: (InProcessGateway, FakeBackend) async throws -> Void) async throws {
        let folder = try TestFolder()
        let backend = try await FakeBackend.start()
        try folder.writeGateway("""
        upstreams: {legacy: {targets: ['http://127.0.0.1:\(backend.port)']}}
        default: {upstream: legacy}
        plans: {basic: {rate: 100, burst: 100}}
        """)
        try folder.write("api.yaml", """
        openapi: 3.0.3
        info: {title: cors, version: '1'}
        x-gateway-cors:
          allowOrigins: ['\(origin)', 'https://*.example.org']
          allowMethods: [GET, POST]
          allowHeaders: [content-type, x-api-key]
          exposeHeaders: [x-request-id]
          maxAge: 300
          allowCredentials: true
        components:
          securitySchemes:
            key: {type: apiKey, in: header, name: x-api-key}
        paths:
          /keyed:
            get:
              security: [{key: []}]
              x-gateway: {upstream: legacy}
              responses: {'200': {description: ok}}
          /fn:
            get:
              x-gateway: {function: cors.fn}
              responses: {'200': {description: ok}}
          /open:
            get:
              x-gateway-cors: {allowOrigins: ['*'], allowHeaders: ['*']}
              x-gateway: {function: cors.fn}
              responses: {'200': {description: ok}}
        """)
        try folder.write("plain.yaml", """
        openapi: 3.0.3
        info: {title: plain, version: '1'}
        paths:
          /plain:
            get: {x-gateway: {function: cors.fn}, responses: {'200': {description: ok}}}
        """)
        var registry = FunctionRegistry()
        registry.register("cors.fn", ClosureFunction { _, _ in
            .response(FunctionResponse(statusCode: 200, headers: ["content-type": "text/plain", "access-control-allow-origin": "*",
                                                                  "access-control-allow-methods": "DELETE"], body: "hi"))
        })
        let gateway = try await InProcessGateway.start(folder, registry: registry)
        do {
            try await body(gateway, backend)
        } catch {
            await gateway.stop(); await backend.stop(); folder.remove()
            throw error
        }
        await gateway.stop(); await backend.stop(); folder.remove()
    }

    static func preflight(_ gateway: InProcessGateway, _ path: String, origin: String = origin, method: String = "GET",
                          headers: String? = nil) async throws -> InProcessGateway.Response {
        var h = [("origin", origin), ("access-control-request-method", method)]
        if let headers { h.append(("access-control-request-headers", headers)) }
        return try await gateway.send(.OPTIONS, path, headers: h)
    }

    @Test func aPreflightIsAnsweredBeforeTheAPIKeyWithThePolicysHeaders() async throws {
        try await Self.with { gateway, backend in
            let r = try await Self.preflight(gateway, "/keyed", headers: "x-api-key, content-type")
            #expect(r.status == .noContent)
            #expect(r.headers.first(name: "access-control-allow-origin") == Self.origin)
            #expect(r.headers.first(name: "access-control-allow-methods") == "GET,POST")
            #expect(r.headers.first(name: "access-control-allow-headers") == "content-type,x-api-key")
            #expect(r.headers.first(name: "access-control-max-age") == "300")
            #expect(r.headers.first(name: "access-control-allow-credentials") == "true")
            #expect(r.headers.first(name: "vary") == "Origin")
            #expect(backend.requests == 0, "the preflight never reaches the backend")

            // The actual request without a key is refused by the gateway, and still carries CORS
            // so that the browser lets the page read the 403.
            let refused = try await gateway.send(.GET, "/keyed", headers: [("origin", Self.origin)])
            #expect(refused.status == .forbidden)
            #expect(refused.headers.first(name: "access-control-allow-origin") == Self.origin)
            #expect(refused.headers.first(name: "access-control-expose-headers") == "x-request-id")
        }
    }

    @Test func refusedPreflightsGetNoCORSHeaders() async throws {
        try await Self.with { gateway, _ in
            for r in [try await Self.preflight(gateway, "/fn", origin: "https://evil.test"),
                      try await Self.preflight(gateway, "/fn", method: "DELETE"),
                      try await Self.preflight(gateway, "/fn", headers: "authorization")] {
                #expect(r.status == .noContent)
                #expect(r.headers.first(name: "access-control-allow-origin") == nil)
                #expect(r.headers.first(name: "access-control-allow-methods") == nil)
            }
            let wildcard = try await Self.preflight(gateway, "/fn", origin: "https://shop.example.org")
            #expect(wildcard.headers.first(name: "access-control-allow-origin") == "https://shop.example.org")
        }
    }

    @Test func actualResponsesCarryThePolicyNotTheFunctions() async throws {
        try await Self.with { gateway, _ in
            let allowed = try await gateway.send(.GET, "/fn", headers: [("origin", Self.origin)])
            #expect(allowed.status == .ok)
            #expect(allowed.headers["access-control-allow-origin"] == [Self.origin])
            #expect(allowed.headers["access-control-allow-methods"].isEmpty)
            #expect(allowed.headers.first(name: "access-control-allow-credentials") == "true")
            let other = try await gateway.send(.GET, "/fn", headers: [("origin", "https://evil.test")])
            #expect(other.status == .ok)
            #expect(other.headers["access-control-allow-origin"].isEmpty, "an origin not allowed gets no CORS headers")
            // An operation's own policy wins over its document's.
            let open = try await Self.preflight(gateway, "/open", origin: "https://any.test", headers: "x-custom")
            #expect(open.headers.first(name: "access-control-allow-origin") == "*")
            #expect(open.headers.first(name: "access-control-allow-headers") == "x-custom")
            // A route without CORS leaves the function's headers alone.
            let plain = try await gateway.send(.GET, "/plain", headers: [("origin", Self.origin)])
            #expect(plain.headers.first(name: "access-control-allow-origin") == "*")
        }
    }
}
