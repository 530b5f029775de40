import GatewayAuthorizers
import GatewayCore

/// What an authorizer's callout produced, as cached: a callout's verdict, a JWT whose signature
/// was verified (its claims are checked again on every request), or a token that was rejected.
public enum AuthorizationOutcome: Sendable, Equatable {
    case verdict(AuthorizerVerdict)
    case token(JWTClaims)
    /// The credential is not acceptable (bad JWT, or an authorizer that answered 401): 401.
    case unauthorized(reason: String)
}

/// Why an authorizer could not decide: the gateway answers 500 and never caches it.
public struct AuthorizerFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
