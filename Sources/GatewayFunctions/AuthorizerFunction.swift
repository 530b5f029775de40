import GatewayCore

/// A local authorizer: Swift code compiled into the gateway, bound to a security scheme with
/// `x-gateway-authorizer: {function: NAME}`. It receives the same event an HTTP authorizer gets
/// (AWS's TOKEN or REQUEST authorizer event) and answers in one of AWS's two shapes:
/// `{"isAuthorized": bool, "context": {...}}` or `{"principalId", "policyDocument", "context"}`.
public protocol AuthorizerFunction: Sendable {
    func authorize(_ event: JSONValue, context: FunctionContext) async throws -> JSONValue
}

/// An authorizer built from a closure.
public struct ClosureAuthorizer: AuthorizerFunction {
    let body: @Sendable (JSONValue, FunctionContext) async throws -> JSONValue

    public init(_ body: @escaping @Sendable (JSONValue, FunctionContext) async throws -> JSONValue) {
        self.body = body
    }

    public func authorize(_ event: JSONValue, context: FunctionContext) async throws -> JSONValue {
        try await body(event, context)
    }
}
