import GatewayPlan
import Testing

@Suite struct CORSPolicyTests {
    let policy = CORSPolicy(allowOrigins: ["https://app.example.com", "https://*.example.org"], allowMethods: ["GET", "post"],
                            allowHeaders: ["Content-Type", "x-api-key"], exposeHeaders: ["x-request-id"], maxAge: 600,
                            allowCredentials: true)

    @Test func originsMatchExactlyOrBySubdomainWildcard() {
        #expect(policy.allows(origin: "https://app.example.com"))
        #expect(policy.allows(origin: "HTTPS://APP.EXAMPLE.COM"))
        #expect(!policy.allows(origin: "http://app.example.com"))
        #expect(!policy.allows(origin: "https://app.example.com.evil.net"))
        #expect(policy.allows(origin: "https://a.example.org"))
        #expect(policy.allows(origin: "https://a.b.example.org"))
        #expect(!policy.allows(origin: "https://example.org"))
        #expect(!policy.allows(origin: "https://evilexample.org"))
        #expect(!policy.allows(origin: "null"))
        #expect(CORSPolicy(allowOrigins: ["*"]).allows(origin: "https://anything.test"))
    }

    @Test func aPreflightIsAllowedOnlyForListedMethodsAndHeaders() throws {
        let headers = try #require(policy.preflight(origin: "https://app.example.com", method: "post", requestHeaders: "Content-Type, X-API-Key"))
        let d = Dictionary(headers, uniquingKeysWith: { a, _ in a })
        #expect(d["access-control-allow-origin"] == "https://app.example.com")
        #expect(d["access-control-allow-methods"] == "GET,POST")
        #expect(d["access-control-allow-headers"] == "content-type,x-api-key")
        #expect(d["access-control-max-age"] == "600")
        #expect(d["access-control-allow-credentials"] == "true")
        #expect(d["vary"] == "Origin")
        #expect(policy.preflight(origin: "https://app.example.com", method: "DELETE", requestHeaders: nil) == nil)
        #expect(policy.preflight(origin: "https://app.example.com", method: "GET", requestHeaders: "authorization") == nil)
        #expect(policy.preflight(origin: "https://other.test", method: "GET", requestHeaders: nil) == nil)
    }

    @Test func aStarPolicyAnswersStarAndEchoesWhatWasAsked() throws {
        let open = CORSPolicy(allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"])
        let d = Dictionary(try #require(open.preflight(origin: "https://x.test", method: "PATCH", requestHeaders: "x-a, x-b")),
                           uniquingKeysWith: { a, _ in a })
        #expect(d["access-control-allow-origin"] == "*")
        #expect(d["access-control-allow-methods"] == "PATCH")
        #expect(d["access-control-allow-headers"] == "x-a,x-b")
        #expect(d["access-control-allow-credentials"] == nil)
    }

    @Test func actualResponsesGetTheOriginExposedHeadersAndCredentials() throws {
        let d = Dictionary(try #require(policy.response(origin: "https://a.example.org")), uniquingKeysWith: { a, _ in a })
        #expect(d["access-control-allow-origin"] == "https://a.example.org")
        #expect(d["access-control-expose-headers"] == "x-request-id")
        #expect(d["access-control-allow-credentials"] == "true")
        #expect(policy.response(origin: "https://nope.test") == nil)
    }
}
