import GatewayCore
import Logging

/// A local function: Swift code compiled into the gateway, bound to operations with
/// `x-gateway: {function: NAME}`. It receives an HTTP API 2.0 event and returns either a full
/// response or any JSON value (which becomes a 200 JSON body, as in AWS's 2.0 format).
public protocol GatewayFunction: Sendable {
    func handle(_ event: FunctionEvent, context: FunctionContext) async throws -> FunctionResult
}

public enum FunctionResult: Sendable, Equatable {
    case response(FunctionResponse)
    case value(JSONValue)

    public var response: FunctionResponse {
        switch self {
        case .response(let r): return r
        case .value(let v): return FunctionResponse(interpreting: v)
        }
    }
}

public struct FunctionContext: Sendable {
    public var requestId: String
    public var functionName: String
    public var logger: Logger

    public init(requestId: String, functionName: String, logger: Logger) {
        self.requestId = requestId
        self.functionName = functionName
        self.logger = logger
    }
}

/// A function built from a closure.
public struct ClosureFunction: GatewayFunction {
    let body: @Sendable (FunctionEvent, FunctionContext) async throws -> FunctionResult

    public init(_ body: @escaping @Sendable (FunctionEvent, FunctionContext) async throws -> FunctionResult) {
        self.body = body
    }

    public func handle(_ event: FunctionEvent, context: FunctionContext) async throws -> FunctionResult {
        try await body(event, context)
    }
}
