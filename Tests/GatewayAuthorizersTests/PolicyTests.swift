import GatewayCore
import GatewayFunctions
import Testing
@testable import GatewayAuthorizers

@Suite struct PolicyTests {
    @Test func wildcards() {
        #expect(WildcardPattern("arn:aws:execute-api:*:*:*/*/GET/flights/*").matches("arn:aws:execute-api:gateway:local:flights/$default/GET/flights/LH1"))
        #expect(!WildcardPattern("arn:aws:execute-api:*:*:*/*/GET/flights/*").matches("arn:aws:execute-api:gateway:local:flights/$default/POST/flights/LH1"))
        #expect(WildcardPattern("*").matches(""))
        #expect(WildcardPattern("a?c").matches("abc"))
        #expect(!WildcardPattern("a?c").matches("ac"))
        #expect(WildcardPattern("a*b*c").matches("aXXbYYc"))
        #expect(!WildcardPattern("a*b*c").matches("aXXbYY"))
        #expect(WildcardPattern("execute-api:*").matches("execute-api:Invoke"))
        #expect(!WildcardPattern("exact").matches("exactly"))
    }

    @Test func aPatternWithoutWildcardsMatchesOnlyItself() {
        let arn = "arn:aws:execute-api:gateway:local:flights/$default/GET/alerts"
        #expect(WildcardPattern(arn).matches(arn))
        #expect(!WildcardPattern(arn).matches(arn + "/x"))
        #expect(!WildcardPattern(arn).matches(String(arn.dropLast())))
        #expect(!WildcardPattern(arn).matches(arn.replacingOccurrences(of: "GET", with: "PUT")))
        #expect(!WildcardPattern(arn).matches(arn.uppercased()))
        #expect(WildcardPattern("").matches(""))
        #expect(!WildcardPattern("").matches("a"))
        #expect(!WildcardPattern("a").matches(""))
    }

    @Test func aMethodArnNamesTheAPIStageMethodAndPath() {
        #expect(AuthorizerEvent.methodArn(api: "flights", method: "GET", path: "/alerts/LH1")
            == "arn:aws:execute-api:gateway:local:flights/$default/GET/alerts/LH1")
        #expect(AuthorizerEvent.methodArn(api: "flights", method: "DELETE", path: "/")
            == "arn:aws:execute-api:gateway:local:flights/$default/DELETE/")
        let path = "xx/ä/€"[...].dropFirst(2)
        #expect(AuthorizerEvent.methodArn(api: "a-much-longer-api-name", method: "PATCH", path: path)
            == "arn:aws:execute-api:gateway:local:a-much-longer-api-name/$default/PATCH/ä/€")
    }

    @Test func explicitDenyBeatsAllow() {
        let policy = IAMPolicy(statements: [
            .init(allow: true, actions: ["execute-api:Invoke"], resources: ["arn:aws:execute-api:*:*:*/*/*/*"]),
            .init(allow: false, actions: ["execute-api:*"], resources: ["arn:aws:execute-api:*:*:*/*/DELETE/*"]),
        ])
        #expect(policy.evaluate(methodArn: "arn:aws:execute-api:gateway:local:api/$default/GET/a") == .allow)
        #expect(policy.evaluate(methodArn: "arn:aws:execute-api:gateway:local:api/$default/DELETE/a") == .explicitDeny)
    }

    @Test func aPolicyGrantsOnlyTheRoutesItNames() throws {
        let verdict = try AuthorizerVerdict.parse([
            "principalId": "user-1",
            "policyDocument": ["Version": "2012-10-17", "Statement": [
                ["Effect": "Allow", "Action": "execute-api:Invoke",
                 "Resource": ["arn:aws:execute-api:*:*:flights/*/GET/alerts"]],
            ]],
            "context": ["tier": "gold", "n": 3],
        ])
        #expect(verdict.principalId == "user-1")
        #expect(verdict.context["tier"] == "gold")
        #expect(verdict.decision(methodArn: AuthorizerEvent.methodArn(api: "flights", method: "GET", path: "/alerts")) == .allow)
        #expect(verdict.decision(methodArn: AuthorizerEvent.methodArn(api: "flights", method: "POST", path: "/alerts")) == .deny)
        #expect(verdict.decision(methodArn: AuthorizerEvent.methodArn(api: "flights", method: "GET", path: "/alerts/x")) == .deny)
        #expect(!verdict.deniesEverything)
        // The request path's way: the ARN's bytes in scratch space, never a string (a long path
        // too, which does not fit on the stack).
        let long = "/alerts/" + String(repeating: "x", count: 5000)
        guard case .policy(let policy) = verdict.grant else {
            Issue.record("the answer's policy was not kept")
            return
        }
        for (method, path) in [("GET", "/alerts"), ("POST", "/alerts"), ("GET", "/alerts/x"), ("GET", long)] {
            let string = verdict.decision(methodArn: AuthorizerEvent.methodArn(api: "flights", method: method, path: path[...]))
            let bytes = AuthorizerEvent.withMethodArn(api: "flights", method: method, path: path[...]) { arn in
                #expect(String(decoding: arn, as: UTF8.self) == AuthorizerEvent.methodArn(api: "flights", method: method, path: path[...]))
                return policy.evaluate(methodArn: arn)
            }
            #expect(bytes == string, "\(method) \(path.prefix(20))")
        }
    }

    @Test func simpleAnswers() throws {
        let allow = try AuthorizerVerdict.parse(["isAuthorized": true, "context": ["user": "ada"]])
        #expect(allow.decision(methodArn: "anything") == .allow)
        #expect(allow.context == ["user": "ada"])
        let deny = try AuthorizerVerdict.parse(["isAuthorized": false])
        #expect(deny.decision(methodArn: "anything") == .deny)
        #expect(deny.deniesEverything)
    }

    @Test func malformedAnswersAreRefused() {
        let bad: [JSONValue] = [
            "allow", ["isAuthorized": "yes"], ["principalId": "x"], ["policyDocument": ["Statement": [["Effect": "Maybe", "Action": "*", "Resource": "*"]]]],
            ["policyDocument": ["Statement": [["Effect": "Allow", "Resource": "*"]]]], ["isAuthorized": true, "context": "x"],
        ]
        for answer in bad {
            #expect(throws: AuthorizerVerdict.MalformedAnswer.self) { try AuthorizerVerdict.parse(answer) }
        }
    }

    @Test func identitySources() throws {
        #expect(try IdentitySource(parsing: "header.Authorization") == .header("authorization"))
        #expect(try IdentitySource(parsing: "$request.header.X-Tenant") == .header("x-tenant"))
        #expect(try IdentitySource(parsing: "$request.querystring.tenant") == .query("tenant"))
        #expect(try IdentitySource(parsing: "method.request.header.Auth") == .header("auth"))
        #expect(try IdentitySource(parsing: "path.flightId") == .path("flightId"))
        #expect(try IdentitySource(parsing: "$context.routeKey") == .context(.routeKey))
        #expect(throws: IdentitySource.Invalid.self) { try IdentitySource(parsing: "header") }
        #expect(throws: IdentitySource.Invalid.self) { try IdentitySource(parsing: "body.x") }
        #expect(throws: IdentitySource.Invalid.self) { try IdentitySource(parsing: "context.secret") }
    }

    @Test func events() {
        let token = AuthorizerEvent.token("Bearer abc", methodArn: "arn:x")
        #expect(token == ["type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": "arn:x"])
        #expect(AuthorizerEvent.methodArn(api: "flights", method: "GET", path: "/flights/LH1")
                == "arn:aws:execute-api:gateway:local:flights/$default/GET/flights/LH1")
    }
}

@Suite struct JWTClaimsTests {
    let now = 1_800_000_000.0
    func claims(_ extra: [String: JSONValue] = [:]) -> JWTClaims {
        var c: [String: JSONValue] = ["iss": "https://issuer.test", "aud": "api", "exp": .double(1_800_000_600), "sub": "u1"]
        for (k, v) in extra { c[k] = v }
        return JWTClaims(c)
    }

    @Test func validClaimsPass() throws {
        try claims().check(issuer: "https://issuer.test", audiences: ["api"], now: now, leeway: 60)
        try claims(["aud": ["other", "api"]]).check(issuer: "https://issuer.test", audiences: ["api"], now: now, leeway: 60)
        try claims().check(issuer: "https://issuer.test", audiences: [], now: now, leeway: 60)
    }

    @Test func expiryAndNotBeforeWithLeeway() {
        #expect(throws: JWTClaims.Failure.expired) { try claims(["exp": .int(Int64(now) - 61)]).check(issuer: "https://issuer.test", audiences: [], now: now, leeway: 60) }
        #expect(throws: Never.self) { try claims(["exp": .int(Int64(now) - 59)]).check(issuer: "https://issuer.test", audiences: [], now: now, leeway: 60) }
        #expect(throws: JWTClaims.Failure.notYetValid) { try claims(["nbf": .int(Int64(now) + 61)]).check(issuer: "https://issuer.test", audiences: [], now: now, leeway: 60) }
        #expect(throws: JWTClaims.Failure.missingExpiry) { try JWTClaims(["iss": "https://issuer.test"]).check(issuer: "https://issuer.test", audiences: [], now: now, leeway: 60) }
    }

    @Test func issuerAndAudience() {
        #expect(throws: JWTClaims.Failure.wrongIssuer) { try claims().check(issuer: "https://other.test", audiences: [], now: now, leeway: 0) }
        #expect(throws: JWTClaims.Failure.wrongAudience) { try claims().check(issuer: "https://issuer.test", audiences: ["billing"], now: now, leeway: 0) }
    }

    @Test func scopes() {
        #expect(claims(["scope": "alerts:read flights:write"]).missingScopes(["alerts:read"]) == [])
        #expect(claims(["scp": ["alerts:read"]]).missingScopes(["alerts:read", "flights:write"]) == ["flights:write"])
        #expect(claims().missingScopes(["x"]) == ["x"])
        #expect(claims().missingScopes([]) == [])
    }
}
