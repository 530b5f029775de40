import AsyncHTTPClient
import Foundation
import GatewayAuthorizers
import GatewayCore
import JWTKit
import NIOConcurrencyHelpers
import NIOCore

/// Verifies bearer tokens in process with jwt-kit against the issuer's key set (a JWKS URL or
/// file). Keys are kept in memory; a token naming an unknown `kid` makes the verifier fetch the set
/// again, at most once per `refetchInterval`, so junk tokens cannot make it hammer the issuer.
final class JWTVerifier: Sendable {
    let settings: AuthorizerConfig.JWTSettings
    private let client: HTTPClient
    private let state: NIOLockedValueBox<State>

    struct State {
        var keys: JWTKeyCollection
        var kids: Set<String>
        /// A key set was loaded at least once.
        var loaded: Bool
        var lastFetch: ContinuousClock.Instant?
        var fetching: Task<Void, Never>?
    }

    /// Asymmetric algorithms only: a key set never makes the gateway accept HMAC or `none`.
    static let algorithms: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                          "ES256", "ES384", "ES512", "EdDSA", "Ed25519"]

    /// Checks a JWKS file now, so a bad file is a load error; keys are loaded on first use.
    init(settings: AuthorizerConfig.JWTSettings, client: HTTPClient) throws {
        self.settings = settings
        self.client = client
        if case .file(let path) = settings.jwks {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AuthorizerFailure("cannot read the JWKS file \(path)")
            }
            do {
                _ = try JSONDecoder().decode(JWKS.self, from: data)
            } catch {
                throw AuthorizerFailure("\(path) is not a JWKS document: \(error)")
            }
        }
        self.state = NIOLockedValueBox(State(keys: JWTKeyCollection(), kids: [], loaded: false, lastFetch: nil, fetching: nil))
    }

    /// The outcome for one token: its claims when the signature is good (issuer, audience and
    /// times are checked per request), else unauthorized with the reason.
    func verify(_ token: String) async -> AuthorizationOutcome {
        let header: [String: JSONValue]
        do {
            header = try Self.header(of: token)
        } catch {
            return .unauthorized(reason: "the token is malformed")
        }
        guard let alg = header["alg"]?.stringValue, Self.algorithms.contains(alg) else {
            return .unauthorized(reason: "the token's algorithm is not accepted")
        }
        let kid = header["kid"]?.stringValue
        let needsKeys = state.withLockedValue { state in
            if let kid { return !state.kids.contains(kid) }
            return !state.loaded
        }
        if needsKeys { await refetch() }
        let (keys, kids) = state.withLockedValue { ($0.keys, $0.kids) }
        if let kid, !kids.contains(kid) {
            return .unauthorized(reason: "the token's key (kid) is not in the issuer's key set")
        }
        do {
            let payload = try await keys.verify(token, as: RawClaims.self)
            return .token(JWTClaims(payload.claims))
        } catch {
            return .unauthorized(reason: "the token's signature does not verify")
        }
    }

    /// Fetches the key set again unless that was done within `refetchInterval`; concurrent
    /// callers share one fetch.
    private func refetch() async {
        let task: Task<Void, Never>? = state.withLockedValue { current -> Task<Void, Never>? in
            if let running = current.fetching { return running }
            if let last = current.lastFetch, ContinuousClock.now - last < settings.refetchInterval { return nil }
            current.lastFetch = .now
            let task = Task { [self] in
                defer { state.withLockedValue { $0.fetching = nil } }
                guard let data = try? await load() else { return }
                guard let (keys, kids) = try? await Self.collection(from: data) else { return }
                state.withLockedValue {
                    $0.keys = keys
                    $0.kids = kids
                    $0.loaded = true
                }
            }
            current.fetching = task
            return task
        }
        await task?.value
    }

    private func load() async throws -> Data {
        switch settings.jwks {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw AuthorizerFailure("cannot read \(path)") }
            return data
        case .url(let url):
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "accept", value: "application/json")
            let response = try await client.execute(request, timeout: .seconds(5))
            guard response.status.code == 200 else { throw AuthorizerFailure("JWKS answered \(response.status.code)") }
            return Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        }
    }

    /// A key collection from JWKS text, symmetric (`oct`) keys left out.
    static func collection(from data: Data) async throws -> (JWTKeyCollection, Set<String>) {
        guard case .object(let set) = try JSONValue.parse(data), case .array(let entries)? = set["keys"] else {
            throw AuthorizerFailure("not a JWKS document (no 'keys' list)")
        }
        let usable = entries.filter { $0["kty"]?.stringValue != "oct" }
        let keys = JWTKeyCollection()
        let text = String(decoding: JSONValue.object(["keys": .array(usable)]).serialized(), as: UTF8.self)
        _ = try await keys.add(jwksJSON: text)
        return (keys, Set(usable.compactMap { $0["kid"]?.stringValue }))
    }

    /// The token's JOSE header, decoded without verification.
    static func header(of token: String) throws -> [String: JSONValue] {
        guard let dot = token.firstIndex(of: "."), let data = Base64.decodeURLSafe(token[..<dot]),
              case .object(let header) = try JSONValue.parse(data) else {
            throw AuthorizerFailure("malformed token")
        }
        return header
    }
}

/// Every claim of a token, kept as JSON.
struct RawClaims: JWTPayload {
    let claims: [String: JSONValue]

    init(from decoder: any Decoder) throws {
        claims = try [String: JSONValue](from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        try claims.encode(to: encoder)
    }

    /// Times, issuer and audience are checked by `JWTClaims` per request, with the leeway.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
