import GatewayCore
import NIOCore
import NIOHTTP1

/// What a worker gets from `GET /2018-06-01/runtime/invocation/next`.
struct RuntimeInvocation {
    var requestId: String
    /// Wall-clock milliseconds since 1970 by which the invocation must answer.
    var deadlineMs: Int64
    var functionArn: String
    var traceId: String
    var event: ByteBuffer
}

/// The gateway side of the Lambda Runtime API for one worker slot. Confined to the event loop the
/// slot's listener runs on; every call names the slot.
protocol RuntimeAPIDelegate: AnyObject {
    /// The worker waits for its next invocation: `waiter.deliver(_:)` hands it over.
    func runtimeNext(slot: Int, waiter: RuntimeAPIHandler)
    /// A waiting `next` request's connection closed before anything was delivered.
    func runtimeWaiterGone(slot: Int, waiter: RuntimeAPIHandler)
    /// `…/invocation/{id}/response` (errorType nil) or `…/error`. False: the worker does not hold
    /// that invocation (400 to the worker).
    func runtimeAnswered(slot: Int, requestId: String, body: ByteBuffer, errorType: String?) -> Bool
    /// `…/runtime/init/error`.
    func runtimeInitError(slot: Int, errorType: String?, body: ByteBuffer)
}

/// Serves the Lambda Runtime API, version 2018-06-01, to one worker process over HTTP/1.1 on
/// loopback: the long-polled `invocation/next`, `invocation/{id}/response`, `invocation/{id}/error`
/// and `init/error`, with Lambda's status codes and error bodies.
final class RuntimeAPIHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Lambda's limit for a synchronous invocation's response: 6 MB.
    static let maxResponseBytes = 6_291_556
    static let prefix = "/2018-06-01/runtime/"

    private let slot: Int
    private weak var delegate: (any RuntimeAPIDelegate)?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    private var context: ChannelHandlerContext?
    /// A `next` request is open, waiting for an invocation.
    private(set) var waiting = false
    private var keepAlive = true

    init(slot: Int, delegate: any RuntimeAPIDelegate) {
        self.slot = slot
        self.delegate = delegate
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelInactive(context: ChannelHandlerContext) {
        if waiting {
            waiting = false
            delegate?.runtimeWaiterGone(slot: slot, waiter: self)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
            tooLarge = false
            keepAlive = h.isKeepAlive
        case .body(var part):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > Self.maxResponseBytes {
                tooLarge = true
                body = nil
                return
            }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let head else { return }
            self.head = nil
            route(head, body: body ?? ByteBuffer())
            body = nil
        }
    }

    private func route(_ head: HTTPRequestHead, body: ByteBuffer) {
        // A request sent while this connection's `next` still waits cannot be answered in order:
        // the client is broken; the connection ends (and the waiting `next` with it).
        guard !waiting else {
            context?.close(promise: nil)
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path.hasPrefix(Self.prefix) else {
            return answer(.notFound, errorType: "InvalidRequest", message: "Unknown path \(path)")
        }
        let rest = path.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        switch (head.method, rest.count, rest.first, rest.last) {
        case (.GET, 2, "invocation"?, "next"?):
            waiting = true
            delegate?.runtimeNext(slot: slot, waiter: self)
        case (.POST, 3, "invocation"?, let verb?) where verb == "response" || verb == "error":
            let id = String(rest[1])
            if tooLarge && verb == "response" {
                _ = delegate?.runtimeAnswered(slot: slot, requestId: id, body: ByteBuffer(),
                                              errorType: "Function.ResponseSizeTooLarge")
                return answer(.payloadTooLarge, errorType: "RequestEntityTooLarge",
                              message: "Exceeded maximum allowed payload size (\(Self.maxResponseBytes) bytes).")
            }
            let errorType = verb == "error" ? (head.headers.first(name: "lambda-runtime-function-error-type") ?? "Unhandled") : nil
            guard delegate?.runtimeAnswered(slot: slot, requestId: id, body: body, errorType: errorType) == true else {
                return answer(.badRequest, errorType: "InvalidRequestID", message: "Invalid request ID")
            }
            accepted()
        case (.POST, 2, "init"?, "error"?):
            delegate?.runtimeInitError(slot: slot, errorType: head.headers.first(name: "lambda-runtime-function-error-type"), body: body)
            accepted()
        case (_, 2, "invocation"?, "next"?), (_, 3, "invocation"?, "response"?), (_, 3, "invocation"?, "error"?), (_, 2, "init"?, "error"?):
            answer(.methodNotAllowed, errorType: "InvalidRequest", message: "Method \(head.method.rawValue) not allowed on \(path)")
        default:
            answer(.notFound, errorType: "InvalidRequest", message: "Unknown path \(path)")
        }
    }

    /// Hands the waiting `next` request its invocation.
    func deliver(_ invocation: RuntimeInvocation) {
        guard waiting, let context else { return }
        waiting = false
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "lambda-runtime-aws-request-id", value: invocation.requestId)
        headers.add(name: "lambda-runtime-deadline-ms", value: String(invocation.deadlineMs))
        headers.add(name: "lambda-runtime-invoked-function-arn", value: invocation.functionArn)
        headers.add(name: "lambda-runtime-trace-id", value: invocation.traceId)
        headers.add(name: "content-length", value: String(invocation.event.readableBytes))
        write(context, status: .ok, headers: headers, body: invocation.event)
    }

    private func accepted() {
        var body = ByteBuffer()
        body.writeString(#"{"status":"OK"}"#)
        respond(.accepted, body: body)
    }

    private func answer(_ status: HTTPResponseStatus, errorType: String, message: String) {
        let value = JSONValue.object(["errorMessage": .string(message), "errorType": .string(errorType)])
        respond(status, body: ByteBuffer(bytes: value.serialized()))
    }

    private func respond(_ status: HTTPResponseStatus, body: ByteBuffer) {
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        write(context, status: status, headers: headers, body: body)
    }

    private func write(_ context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) {
        var headers = headers
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            done.futureResult.whenComplete { _ in context.close(promise: nil) }
        }
    }
}

private extension ChannelHandlerContext {
    func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}
