import FlightExample
import GatewayFunctions

/// The local functions compiled into this gateway binary. Add yours here.
enum BuiltinFunctions {
    static func registry() -> FunctionRegistry {
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        return registry
    }
}
