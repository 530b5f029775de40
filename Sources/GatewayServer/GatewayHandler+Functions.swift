import GatewayCore
import GatewayFunctions
import NIOCore
import NIOHTTP1

/// Function dispatch: the buffered request becomes an HTTP API 2.0 event; the function runs as a
/// `Task` and its result hops back to the connection's event loop.
extension GatewayHandler {
    func invokeFunction(_ name: String) {
        guard let request, let runtime, let context else { return }
        guard let function = runtime.functions[name] else {
            shared.logger.error("function not registered", metadata: ["function": "\(name)", "request_id": "\(request.requestId)"])
            respond(.internalServerError)
            return
        }
        phase = .invoking
        let event = FunctionEventBuilder.event(for: request, body: body)
        body = nil
        var logger = shared.logger
        logger[metadataKey: "request_id"] = "\(request.requestId)"
        let functionContext = FunctionContext(requestId: request.requestId, functionName: name, logger: logger)
        let id = exchange
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: timeoutAmount) { [self] in
            functionTimedOut(id)
        }
        let loop = context.eventLoop
        let shared = self.shared
        shared.calloutStarted()
        functionTask = Task {
            let result: Result<FunctionResult, any Error>
            do {
                result = .success(try await function.handle(event, context: functionContext))
            } catch {
                result = .failure(error)
            }
            loop.execute {
                shared.calloutReturned()
                bound.value.functionFinished(result, exchange: id)
            }
        }
    }

    func functionFinished(_ result: Result<FunctionResult, any Error>, exchange id: UInt64) {
        guard id == exchange, case .invoking = phase, let request else { return }
        timeout?.cancel()
        timeout = nil
        functionTask = nil
        switch result {
        case .success(let output):
            guard let (head, bytes) = FunctionEventBuilder.response(output.response, request: request) else {
                shared.logger.error("function returned a malformed response (bad base64 body)",
                                    metadata: ["request_id": "\(request.requestId)", "target": "\(request.target)"])
                respond(.internalServerError)
                return
            }
            writeResponse(head, body: bytes)
        case .failure(let error):
            shared.logger.error("function threw", metadata: [
                "request_id": "\(request.requestId)", "target": "\(request.target)", "error": "\(error)",
            ])
            respond(.internalServerError)
        }
    }

    func functionTimedOut(_ id: UInt64) {
        guard id == exchange, case .invoking = phase, let request else { return }
        functionTask?.cancel()
        functionTask = nil
        shared.logger.error("function timed out", metadata: ["request_id": "\(request.requestId)", "target": "\(request.target)"])
        respond(.gatewayTimeout)
    }
}
