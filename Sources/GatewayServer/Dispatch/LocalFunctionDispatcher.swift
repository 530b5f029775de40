import GatewayCore
import GatewayFunctions
import Logging
import NIOCore
import NIOHTTP1

/// A function route's action for Swift functions compiled into the gateway: the whole request
/// becomes an HTTP API 2.0 event, the function runs as a `Task` (off the event loop), and its
/// answer hops back. The dispatcher owns the function's timeout (504).
struct LocalFunctionDispatcher: Dispatcher {
    let name: String
    let function: any GatewayFunction
    let timeout: TimeAmount
    let logger: Logger
    /// Counts invocations whose result has not come back to its event loop (for shutdown).
    let work: OutstandingWork

    var needsWholeBody: Bool { true }
    var target: RequestContext.Target { .function(name) }

    func start(_ request: RequestContext, body: DispatchBody, loop: any EventLoop, local: LoopLocal,
               sink: any DispatchSink) -> any Dispatch {
        let invocation = FunctionInvocation(dispatcher: self, request: request, loop: loop, sink: sink)
        guard case .whole(let buffer) = body else {
            preconditionFailure("a function is always given the whole body")
        }
        invocation.start(body: buffer)
        return invocation
    }
}

/// One invocation of a compiled-in function.
final class FunctionInvocation: WholeBodyDispatch {
    private let dispatcher: LocalFunctionDispatcher
    private let request: RequestContext
    private let id: UInt64
    private let loop: any EventLoop
    /// Held strongly until the invocation ends or is cancelled.
    private var sink: (any DispatchSink)?
    private var task: Task<Void, Never>?
    private var timer: Scheduled<Void>?
    private var done = false

    init(dispatcher: LocalFunctionDispatcher, request: RequestContext, loop: any EventLoop, sink: any DispatchSink) {
        self.dispatcher = dispatcher
        self.request = request
        self.id = request.id
        self.loop = loop
        self.sink = sink
    }

    func start(body: ByteBuffer?) {
        request.target = .function(dispatcher.name)
        request.dispatchStart = loop.now
        let event = FunctionEventBuilder.event(for: request, body: body)
        var logger = dispatcher.logger
        logger[metadataKey: "request_id"] = "\(request.requestId)"
        let context = FunctionContext(requestId: request.requestId, functionName: dispatcher.name, logger: logger)
        let bound = NIOLoopBound(self, eventLoop: loop)
        let function = dispatcher.function
        let work = dispatcher.work
        let loop = self.loop
        timer = loop.assumeIsolated().scheduleTask(in: dispatcher.timeout) { [self] in
            timer = nil
            finish(.failure(TimedOut()))
        }
        work.started()
        task = Task {
            let result: Result<FunctionResult, any Error>
            do {
                result = .success(try await function.handle(event, context: context))
            } catch {
                result = .failure(error)
            }
            loop.execute {
                work.ended()
                bound.value.finish(result)
            }
        }
    }

    struct TimedOut: Error {}

    private func finish(_ result: Result<FunctionResult, any Error>) {
        guard !done, let sink else { return }
        done = true
        self.sink = nil
        timer?.cancel()
        timer = nil
        request.dispatchAnswered = loop.now
        switch result {
        case .success(let output):
            guard let (head, bytes) = FunctionEventBuilder.response(output.response, version: request.head.version) else {
                sink.dispatch(id, failed: .internalServerError, reason: "function \(dispatcher.name) returned a malformed response")
                return
            }
            sink.dispatch(id, head: head)
            if bytes.readableBytes > 0 { sink.dispatch(id, body: bytes) }
            sink.dispatchEnded(id)
        case .failure(is TimedOut):
            task?.cancel()
            sink.dispatch(id, failed: .gatewayTimeout, reason: "function \(dispatcher.name) timed out")
        case .failure(let error):
            sink.dispatch(id, failed: .internalServerError, reason: "function \(dispatcher.name) threw: \(error)")
        }
    }

    func cancel() {
        guard !done else { return }
        done = true
        sink = nil
        timer?.cancel()
        timer = nil
        task?.cancel()
    }
}
