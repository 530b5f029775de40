/// The local functions compiled into this gateway, by name.
public struct FunctionRegistry: Sendable {
    private var functions: [String: any GatewayFunction] = [:]

    public init() {}

    public mutating func register(_ name: String, _ function: any GatewayFunction) {
        precondition(functions[name] == nil, "function \(name) registered twice")
        functions[name] = function
    }

    public subscript(name: String) -> (any GatewayFunction)? { functions[name] }

    public var names: Set<String> { Set(functions.keys) }
}
