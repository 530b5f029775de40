import GatewayCore

/// The checks of a verified token's claims that need no cryptography: issuer, audience, expiry and
/// not-before with leeway (the time is passed in), and the scopes it grants.
public struct JWTClaims: Sendable, Equatable {
    public let claims: [String: JSONValue]
    /// The headers and event value made from the claims, once per verified token.
    public let forwarding: Forwarding

    public init(_ claims: [String: JSONValue]) {
        self.claims = claims
        self.forwarding = .jwt(claims: claims, subject: claims["sub"]?.stringValue, scopes: Self.scopes(of: claims))
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missingExpiry
        case expired
        case notYetValid
        case wrongIssuer
        case wrongAudience

        public var description: String {
            switch self {
            case .missingExpiry: return "the token has no exp claim"
            case .expired: return "the token has expired"
            case .notYetValid: return "the token is not valid yet"
            case .wrongIssuer: return "the token's issuer is not accepted"
            case .wrongAudience: return "the token's audience is not accepted"
            }
        }
    }

    /// `now` and `leeway` in seconds since 1970.
    public func check(issuer: String, audiences: [String], now: Double, leeway: Double) throws(Failure) {
        guard let exp = number("exp") else { throw .missingExpiry }
        guard now < exp + leeway else { throw .expired }
        if let nbf = number("nbf"), now + leeway < nbf { throw .notYetValid }
        guard claims["iss"]?.stringValue == issuer else { throw .wrongIssuer }
        if !audiences.isEmpty {
            let aud: [String]
            switch claims["aud"] {
            case .string(let s)?: aud = [s]
            case .array(let a)?: aud = a.compactMap(\.stringValue)
            default: aud = []
            }
            guard aud.contains(where: audiences.contains) else { throw .wrongAudience }
        }
    }

    /// Seconds since 1970 when the token stops being valid, leeway not included.
    public var expiry: Double? { number("exp") }

    public var subject: String? { claims["sub"]?.stringValue }

    /// The scopes granted: `scope` (space-separated, RFC 8693) and `scp` (a list or a string).
    public var scopes: [String] { Self.scopes(of: claims) }

    static func scopes(of claims: [String: JSONValue]) -> [String] {
        var out: [String] = []
        for key in ["scope", "scp"] {
            switch claims[key] {
            case .string(let s)?: out += s.split(separator: " ").map(String.init)
            case .array(let a)?: out += a.compactMap(\.stringValue)
            default: break
            }
        }
        return out
    }

    /// The required scopes the token lacks.
    public func missingScopes(_ required: [String]) -> [String] {
        guard !required.isEmpty else { return [] }
        let granted = Set(scopes)
        return required.filter { !granted.contains($0) }
    }

    private func number(_ key: String) -> Double? { claims[key]?.doubleValue }
}
