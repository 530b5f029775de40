/// The local functions and authorizer functions compiled into this gateway, by name.
public struct FunctionRegistry: Sendable {
    private var functions: [String: any GatewayFunction] = [:]
    private var authorizers: [String: any AuthorizerFunction] = [:]

    public init() {}

    public mutating func register(_ name: String, _ function: any GatewayFunction) {
        precondition(functions[name] == nil, "function \(name) registered twice")
        functions[name] = function
    }

    public mutating func registerAuthorizer(_ name: String, _ authorizer: any AuthorizerFunction) {
        precondition(authorizers[name] == nil, "authorizer \(name) registered twice")
        authorizers[name] = authorizer
    }

    public subscript(name: String) -> (any GatewayFunction)? { functions[name] }

    public func authorizer(_ name: String) -> (any AuthorizerFunction)? { authorizers[name] }

    public var names: Set<String> { Set(functions.keys) }

    public var authorizerNames: Set<String> { Set(authorizers.keys) }
}
