import AsyncHTTPClient
import Crypto
import Foundation
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayServer
import JWTKit
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing
import _CryptoExtras

/// The built-in JWT authorizer through the real gateway over TLS, with keys made in the test:
/// a JWKS file and a JWKS served over loopback.
@Suite(.serialized) struct JWTEndToEndTests {
    static let issuer = "https://issuer.test"

    struct Claims: JWTPayload {
        var iss: String = JWTEndToEndTests.issuer
        var aud: [String] = ["flights"]
        var sub: String = "user-1"
        var exp: Int = Int(Date().timeIntervalSince1970) + 600
        var nbf: Int?
        var scope: String?
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// Signing keys and their public JWKs.
    struct Keys {
        let signer = JWTKeyCollection()
        var jwks: [String] = []

        static func b64(_ data: some DataProtocol) -> String {
            Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }

        mutating func addES256(kid: String) async throws {
            let key = P256.Signing.PrivateKey()
            let raw = key.publicKey.rawRepresentation
            jwks.append(#"{"kty":"EC","crv":"P-256","kid":"\#(kid)","alg":"ES256","use":"sig","x":"\#(Self.b64(raw.prefix(32)))","y":"\#(Self.b64(raw.suffix(32)))"}"#)
            _ = await signer.add(ecdsa: try ES256PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
        }

        mutating func addEdDSA(kid: String) async throws {
            let key = Curve25519.Signing.PrivateKey()
            jwks.append(#"{"kty":"OKP","crv":"Ed25519","kid":"\#(kid)","alg":"EdDSA","x":"\#(Self.b64(key.publicKey.rawRepresentation))"}"#)
            _ = await signer.add(eddsa: EdDSA.PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
        }

        mutating func addRS256(kid: String) async throws {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let primitives = try Insecure.RSA.PublicKey(backing: key.publicKey).getKeyPrimitives()
            jwks.append(#"{"kty":"RSA","kid":"\#(kid)","alg":"RS256","n":"\#(Self.b64(primitives.modulus))","e":"\#(Self.b64(primitives.publicExponent))"}"#)
            _ = await signer.add(rsa: try Insecure.RSA.PrivateKey(backing: key), digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        }

        var text: String { #"{"keys":[\#(jwks.joined(separator: ","))]}"# }

        func token(_ claims: Claims = Claims(), kid: String) async throws -> String {
            try await signer.sign(claims, kid: JWKIdentifier(string: kid))
        }
    }

    struct Setup {
        let folder: TestFolder
        let gateway: InProcessGateway
        let issuerServer: FakeAuthorizer
        let backend: FakeBackend

        func get(_ path: String, token: String?) async throws -> (HTTPResponseStatus, HTTPHeaders, JSONValue?) {
            let response = try await gateway.send(.GET, path, headers: token.map { [("authorization", "Bearer \($0)")] } ?? [])
            return (response.status, response.headers, response.json)
        }

        func stop() async {
            await gateway.stop()
            await issuerServer.stop()
            await backend.stop()
            folder.remove()
        }
    }

    static func with(fileKeys: Keys, _ body: (Setup) async throws -> Void) async throws {
        let folder = try TestFolder()
        let issuerServer = try await FakeAuthorizer.start()
        let backend = try await FakeBackend.start()
        let jwksFile = folder.path + "/jwks.json"
        try fileKeys.text.write(toFile: jwksFile, atomically: true, encoding: .utf8)
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:0}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        upstreams:
          legacy: {targets: [http://127.0.0.1:\(backend.port)]}
        """)
        try folder.write("jwt.yaml", """
        openapi: 3.0.3
        info: {title: jwt, version: '1'}
        components:
          securitySchemes:
            fileJWT:
              type: http
              scheme: bearer
              x-gateway-jwt: {issuer: '\(issuer)', audiences: [flights], jwks: '\(jwksFile)', leeway: 30s}
            urlJWT:
              type: openIdConnect
              openIdConnectUrl: 'https://issuer.test/.well-known/openid-configuration'
              x-gateway-jwt: {issuer: '\(issuer)', audiences: [flights], jwks: '\(issuerServer.jwksURL)', refetchInterval: 300ms}
        paths:
          /jwt/read:
            get: {security: [{fileJWT: [alerts:read]}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
          /jwt/any:
            get: {security: [{fileJWT: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
          /jwt/proxy:
            get: {security: [{fileJWT: []}], x-gateway: {upstream: legacy}, responses: {'200': {description: ok}}}
          /jwt/url:
            get: {security: [{urlJWT: []}], x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
        """)
        var registry = FunctionRegistry()
        registry.register("test.echo", InProcessGateway.echoEvent)
        let setup = Setup(folder: folder, gateway: try await InProcessGateway.start(folder, registry: registry),
                          issuerServer: issuerServer, backend: backend)
        do {
            try await body(setup)
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test func validTokensOfEachAlgorithmPassAndTheirClaimsReachTheFunction() async throws {
        var keys = Keys()
        try await keys.addES256(kid: "es")
        try await keys.addRS256(kid: "rs")
        try await keys.addEdDSA(kid: "ed")
        try await Self.with(fileKeys: keys) { s in
            for kid in ["es", "rs", "ed"] {
                var claims = Claims()
                claims.sub = "user-\(kid)"
                claims.scope = "alerts:read flights:write"
                let (status, _, body) = try await s.get("/jwt/read", token: try await keys.token(claims, kid: kid))
                #expect(status == .ok, "\(kid)")
                let authorizer = body?["requestContext"]?["authorizer"]
                #expect(authorizer?["principalId"] == .string("user-\(kid)"))
                #expect(authorizer?["jwt"]?["claims"]?["iss"] == .string(Self.issuer))
                #expect(authorizer?["jwt"]?["scopes"] == ["alerts:read", "flights:write"])
            }
        }
    }

    @Test func badTokensAre401WithTheBearerChallenge() async throws {
        var keys = Keys()
        try await keys.addES256(kid: "es")
        var stranger = Keys()
        try await stranger.addES256(kid: "es")
        try await Self.with(fileKeys: keys) { s in
            let (missing, missingHeaders, body) = try await s.get("/jwt/any", token: nil)
            #expect(missing == .unauthorized)
            #expect(body == ["message": "Unauthorized"])
            #expect(missingHeaders["www-authenticate"] == ["Bearer"])

            var expired = Claims()
            expired.exp = Int(Date().timeIntervalSince1970) - 120
            var wrongAudience = Claims()
            wrongAudience.aud = ["billing"]
            var wrongIssuer = Claims()
            wrongIssuer.iss = "https://evil.test"
            var notYet = Claims()
            notYet.nbf = Int(Date().timeIntervalSince1970) + 600
            let cases: [(String, String)] = [
                ("expired", try await keys.token(expired, kid: "es")),
                ("wrong audience", try await keys.token(wrongAudience, kid: "es")),
                ("wrong issuer", try await keys.token(wrongIssuer, kid: "es")),
                ("not yet valid", try await keys.token(notYet, kid: "es")),
                ("signed by another key", try await stranger.token(kid: "es")),
                ("junk", "not.a.token"),
            ]
            for (name, token) in cases {
                let (status, headers, _) = try await s.get("/jwt/any", token: token)
                #expect(status == .unauthorized, "\(name)")
                #expect(headers["www-authenticate"].first?.hasPrefix("Bearer error=\"invalid_token\"") == true, "\(name)")
            }
        }
    }

    @Test func aMissingScopeIs403() async throws {
        var keys = Keys()
        try await keys.addES256(kid: "es")
        try await Self.with(fileKeys: keys) { s in
            var claims = Claims()
            claims.scope = "flights:write"
            let (status, headers, body) = try await s.get("/jwt/read", token: try await keys.token(claims, kid: "es"))
            #expect(status == .forbidden)
            #expect(body == ["message": "Forbidden"])
            #expect(headers["www-authenticate"].first?.contains("insufficient_scope") == true)
        }
    }

    @Test func claimsReachTheBackendAsHeaders() async throws {
        var keys = Keys()
        try await keys.addES256(kid: "es")
        try await Self.with(fileKeys: keys) { s in
            let (status, _, body) = try await s.get("/jwt/proxy", token: try await keys.token(kid: "es"))
            #expect(status == .ok)
            #expect(body?["headers"]?["x-authorizer-principal-id"] == ["user-1"])
            #expect(body?["headers"]?["x-authorizer-iss"] == [.string(Self.issuer)])
        }
    }

    @Test func anUnknownKidFetchesTheKeySetAgainButNotForEveryJunkToken() async throws {
        var keys = Keys()
        try await keys.addES256(kid: "old")
        var rotated = keys
        try await rotated.addES256(kid: "new")
        try await Self.with(fileKeys: keys) { s in
            s.issuerServer.setJWKS(keys.text)
            #expect(try await s.get("/jwt/url", token: try await keys.token(kid: "old")).0 == .ok)
            #expect(s.issuerServer.jwksFetches == 1)

            // The issuer rotates in a new key; the first token naming it makes the gateway fetch again.
            s.issuerServer.setJWKS(rotated.text)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await s.get("/jwt/url", token: try await rotated.token(kid: "new")).0 == .ok)
            #expect(s.issuerServer.jwksFetches == 2)

            // Tokens naming kids nobody has: at most one more fetch within the refetch interval.
            var junk = Keys()
            for i in 0..<10 { try await junk.addES256(kid: "junk-\(i)") }
            for i in 0..<10 {
                #expect(try await s.get("/jwt/url", token: try await junk.token(kid: "junk-\(i)")).0 == .unauthorized)
            }
            #expect(s.issuerServer.jwksFetches <= 3)
        }
    }
}
