import FlightExample
import GatewayFunctions
import GatewayPlan

/// The local functions compiled into this gateway binary. Add yours here.
enum BuiltinFunctions {
    static func registry() -> FunctionRegistry {
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        return registry
    }

    /// A plan compiler that knows the functions and authorizer functions of `registry`.
    static func compiler(_ registry: FunctionRegistry) -> PlanCompiler {
        PlanCompiler(functionNames: registry.names, authorizerFunctionNames: registry.authorizerNames)
    }
}
