import GatewayCore
import GatewayFunctions
import GatewayPlan
import Logging
import NIOCore
import NIOHTTP1

/// A function route's action for functions run by worker processes: the same event as for
/// compiled-in functions (payload 2.0, or REST's 1.0 built from it), sent through the function's
/// `ProcessFunctionPool`; the answer hops back to the request's event loop. The pool owns the
/// invocation's timeout (504, and the worker is replaced).
struct ProcessFunctionDispatcher: Dispatcher {
    let pool: ProcessFunctionPool
    let timeout: TimeAmount
    let logger: Logger
    let work: OutstandingWork

    var name: String { pool.config.name }
    var needsWholeBody: Bool { true }
    var target: RequestContext.Target { .function(pool.config.name) }

    func start(_ request: RequestContext, body: DispatchBody, loop: any EventLoop, local: LoopLocal,
               sink: any DispatchSink) -> any Dispatch {
        guard case .whole(let buffer) = body else {
            preconditionFailure("a function is always given the whole body")
        }
        let invocation = ProcessInvocation(dispatcher: self, request: request, loop: loop, sink: sink)
        invocation.start(body: buffer)
        return invocation
    }

    /// The JSON event a worker gets for `request`.
    static func eventBytes(for request: RequestContext, body: ByteBuffer?, format: ProcessFunctionConfig.PayloadFormat) -> ByteBuffer {
        let v2 = FunctionEventBuilder.event(for: request, body: body)
        let value = format == .v1 ? RESTEventBuilder.event(for: request, v2: v2) : v2.jsonValue
        return ByteBuffer(bytes: value.serializedBytes())
    }

    /// A worker's output as a response, by the payload format's rules; nil when malformed.
    static func response(_ output: ByteBuffer, format: ProcessFunctionConfig.PayloadFormat) -> FunctionResponse? {
        guard let value = try? JSONParser.parse(Array(output.readableBytesView)) else { return nil }
        switch format {
        case .v2: return FunctionResponse(interpreting: value)
        case .v1: return FunctionResponse(interpretingV1: value)
        }
    }
}

/// One invocation of a process function, owned by one request.
final class ProcessInvocation: WholeBodyDispatch {
    private let dispatcher: ProcessFunctionDispatcher
    private let request: RequestContext
    private let id: UInt64
    private let loop: any EventLoop
    private var sink: (any DispatchSink)?
    private var invocation: UInt64?
    private var done = false
    /// Counted in `OutstandingWork` until the answer comes back or the request is abandoned.
    private var outstanding = false

    init(dispatcher: ProcessFunctionDispatcher, request: RequestContext, loop: any EventLoop, sink: any DispatchSink) {
        self.dispatcher = dispatcher
        self.request = request
        self.id = request.id
        self.loop = loop
        self.sink = sink
    }

    func start(body: ByteBuffer?) {
        request.target = .function(dispatcher.name)
        request.dispatchStart = loop.now
        let format = dispatcher.pool.config.payloadFormat
        let event = ProcessFunctionDispatcher.eventBytes(for: request, body: body, format: format)
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        dispatcher.work.started()
        outstanding = true
        invocation = dispatcher.pool.invoke(requestId: request.requestId, event: event, timeout: dispatcher.timeout) { answer in
            loop.execute {
                bound.value.endWork()
                bound.value.finish(answer)
            }
        }
    }

    private func endWork() {
        guard outstanding else { return }
        outstanding = false
        dispatcher.work.ended()
    }

    private func finish(_ answer: ProcessFunctionPool.Answer) {
        guard !done, let sink else { return }
        done = true
        self.sink = nil
        request.dispatchAnswered = loop.now
        let name = dispatcher.name
        switch answer {
        case .response(let bytes):
            guard let response = ProcessFunctionDispatcher.response(bytes, format: dispatcher.pool.config.payloadFormat),
                  let (head, body) = FunctionEventBuilder.response(response, version: request.head.version) else {
                sink.dispatch(id, failed: .badGateway, reason: "function \(name) returned a malformed response")
                return
            }
            sink.dispatch(id, head: head)
            if body.readableBytes > 0 { sink.dispatch(id, body: body) }
            sink.dispatchEnded(id)
        case .handlerError(let type, _):
            sink.dispatch(id, failed: .internalServerError, reason: "function \(name) failed: \(type)")
        case .timedOut:
            sink.dispatch(id, failed: .gatewayTimeout, reason: "function \(name) timed out; its worker is replaced")
        case .crashed:
            sink.dispatch(id, failed: .badGateway, reason: "function \(name): the worker exited during the invocation; it is replaced")
        case .queueFull:
            sink.dispatch(id, failed: GatewayError(status: 503, message: "Service Unavailable", headers: [("retry-after", "1")]),
                          reason: "function \(name): every worker is busy and the queue is full")
        case .unavailable:
            sink.dispatch(id, failed: GatewayError(status: 503, message: "Service Unavailable", headers: [("retry-after", "5")]),
                          reason: "function \(name) has no worker that started")
        }
    }

    func cancel() {
        guard !done else { return }
        done = true
        sink = nil
        endWork()
        if let invocation { dispatcher.pool.abandon(invocation) }
    }
}
