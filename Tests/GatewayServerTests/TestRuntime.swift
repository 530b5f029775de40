import FlightExample
import GatewayCore
import GatewayFunctions
import GatewayPlan
@testable import GatewayServer
import Logging
import NIOHTTP1

enum TestRuntime {
    static let document = """
    openapi: 3.1.0
    info: {title: t, version: '1'}
    paths:
      /flights:
        post: {x-gateway: {function: flights.create}, responses: {'201': {description: ok}}}
      /echo/{id}:
        get: {x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
      /boom:
        get: {x-gateway: {function: test.throws}, responses: {'200': {description: ok}}}
      /slow:
        get: {x-gateway: {function: test.slow, timeout: 100ms}, responses: {'200': {description: ok}}}
    """

    struct Boom: Error {}

    static func functions() -> FunctionRegistry {
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        registry.register("test.echo", ClosureFunction { event, _ in
            .value(["pathParameters": .object((event.pathParameters ?? [:]).mapValues { .string($0) }),
                    "routeKey": .string(event.routeKey)])
        })
        registry.register("test.throws", ClosureFunction { _, _ in throw Boom() })
        registry.register("test.slow", ClosureFunction { _, _ in
            try await Task.sleep(for: .seconds(30))
            return .value("late")
        })
        return registry
    }

    static func make(gateway: String = "listen: {http: 127.0.0.1:0}\nlimits: {maxBodyBytes: 64}\n",
                     document: String = document) throws -> GatewayRuntime {
        let config = try GatewayConfig.parse(try YAMLSource(file: "gateway.yaml", text: gateway))
        let api = try APIDocument(source: try YAMLSource(file: "api.yaml", text: document))
        let registry = functions()
        let plan = try PlanCompiler(functionNames: registry.names, authorizerFunctionNames: registry.authorizerNames)
            .compile(config: config, documents: [api])
        return try GatewayRuntime(plan: plan, functions: registry)
    }

    static func shared(_ runtime: GatewayRuntime) -> ServerShared {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try! ServerShared(runtime: runtime, logger: logger)
    }

    /// A request's context outside any server, on a route with `operation` (and no filters).
    static func context(_ head: HTTPRequestHead, operation: OperationPlan? = nil, requestId: RequestID = "rid",
                        remoteIP: String = "10.1.2.3", scheme: String = "https") -> RequestContext {
        let route = Route(operation: operation, filters: [], action: .unmatched, bodyLimit: 1 << 20)
        return RequestContext(id: 1, head: head, target: try! RequestTarget(parsing: head.uri), route: route,
                              requestId: requestId, remoteIP: remoteIP, scheme: scheme, isHTTP2: false, start: .now())
    }
}
