import GatewayCore
import GatewayPlan
import GatewayPolicies
import Logging
import NIOCore
import NIOHTTP1

/// The thin I/O shell of one HTTP/1.1 connection or one HTTP/2 stream: it feeds channel events
/// to the `ExchangeStateMachine` and performs what it returns, runs the route's filter chain,
/// starts the route's dispatch and writes what the dispatch produces. Every request's facts live
/// in its `RequestContext`; the handler holds only the machine, the current context and its
/// channel. Runs on the channel's event loop; only callouts and functions leave it.
///
/// On an HTTP/2 stream it is not in any pipeline: the stream's `HTTP2StreamCodec` calls it with
/// the stream's events on the connection handler's context (`HTTP2Connection`), and it reads,
/// writes, flushes and closes through the codec (`readDownstream`, `flushDownstream`,
/// `closeDownstream`), which may hold the response's last frame; the connection's events are
/// not its to pass on.
final class GatewayHandler: ChannelDuplexHandler, DispatchSink {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Connection {
        var scheme: String
        var isHTTP2: Bool
        /// HTTP/1.1: close the connection after this long with no request in flight (HTTP/2
        /// connections are watched by their `HTTP2ConnectionGuard` instead).
        var idleTimeout: TimeAmount? = nil
        /// HTTP/1.1: a request head must arrive whole within this once it began (or once the
        /// connection opened); then 408 and close. HTTP/2 header blocks: `HTTP2ConnectionGuard`.
        var headerTimeout: TimeAmount? = nil
        /// No more than this without a byte of a request body being read; then 408 and close.
        var bodyTimeout: TimeAmount = .seconds(60)
        /// The connection in the process's registry: told when a request completed.
        var record: ConnectionRegistry.Record? = nil
        /// HTTP/1.1: the response encoder, told every request head's method (HEAD and CONNECT
        /// answers carry no body).
        var responseEncoder: HTTP1ResponseEncoder? = nil
        /// HTTP/2: the stream's writer, which makes the response's frames.
        var streamCodec: HTTP2StreamCodec? = nil
    }

    let shared: ServerShared
    let connection: Connection
    private var machine: ExchangeStateMachine
    private var context: ChannelHandlerContext?
    private var local: LoopLocal?
    /// The exchange in progress.
    private var request: RequestContext?
    /// Whether the current read delivered any request part.
    private var partsThisRead = false
    /// The loop's time when the last request head or body part came (read once per part that
    /// needs it).
    private var lastNow = NIODeadline.now()
    /// The client's address as text: the connection record's (made once per connection), else
    /// made once per connection or stream.
    private var remoteIP: String?
    private var draining = false
    /// One timer for the machine's deadlines: it fires, lets the machine look at the clock, and
    /// is armed again for the next deadline.
    private var clock: Scheduled<Void>?
    private var clockDeadline = NIODeadline.distantFuture
    /// HTTP/1.1: the API key this connection presented last, with its digest (made at the first
    /// request that presents one; an HTTP/2 stream carries one request and keeps none).
    private var keyMemo: PresentedKeyMemo?

    init(shared: ServerShared, connection: Connection) {
        self.shared = shared
        self.connection = connection
        self.machine = ExchangeStateMachine(
            configuration: .init(isHTTP2: connection.isHTTP2, idleTimeout: connection.idleTimeout,
                                 headerTimeout: connection.headerTimeout, bodyTimeout: connection.bodyTimeout),
            now: .now())
    }

    private var now: NIODeadline { context?.eventLoop.now ?? .now() }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        local = shared.local(for: context.eventLoop)
        connection.responseEncoder?.headBuffers = local?.headBuffers
        machine.opened(now: context.eventLoop.now)
        armClock()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clock?.cancel()
        clock = nil
        perform(machine.channelClosed())
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(machine.channelClosed())
        if connection.streamCodec == nil { context.fireChannelInactive() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data))
    }

    /// Hands `part` to `receiver`, the gateway's handler right after the caller's in the pipeline,
    /// with a direct call (`HTTP1RequestDecoder.receiver`, `HTTP2StreamCodec.receiver`); without
    /// one, down the pipeline from `context`, which reaches the same handler.
    @inline(__always)
    static func deliver(_ part: HTTPServerRequestPart, digest: HeadDigest? = nil, to receiver: GatewayHandler?,
                        from context: ChannelHandlerContext) {
        if let receiver {
            receiver.receive(part, digest: digest)
        } else {
            context.fireChannelRead(NIOAny(part))
        }
    }

    /// A request part, from the pipeline or straight from the request decoder or stream codec
    /// before this handler (`deliver`), a head with its digest when the decoder made it.
    func receive(_ part: HTTPServerRequestPart, digest: HeadDigest? = nil) {
        guard let context else { return }
        partsThisRead = true
        switch part {
        case .head(let head):
            connection.responseEncoder?.record(head.method)
            lastNow = context.eventLoop.now
        case .body(let buffer):
            request?.bytesIn += buffer.readableBytes
            lastNow = context.eventLoop.now
        case .end:
            break
        }
        perform(machine.received(part, now: lastNow, digest: digest))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        request?.dispatch?.flush()
        machine.readComplete(sawParts: partsThisRead, now: partsThisRead ? lastNow : context.eventLoop.now)
        partsThisRead = false
        armClock()
        if connection.streamCodec == nil { context.fireChannelReadComplete() }
    }

    func read(context: ChannelHandlerContext) {
        perform(machine.readRequested())
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if downstreamIsWritable { request?.dispatch?.downstreamWritable() }
        if connection.streamCodec == nil { context.fireChannelWritabilityChanged() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.debug("connection error", metadata: ["error": "\(error)"])
        // A parser error after the gateway chose to close (the decoder sees the end of a body
        // it was still reading) is not a request of its own.
        if let parserError = error as? HTTPParserError, !machine.isClosed, !(machine.exchange?.responseStarted ?? false) {
            // A head over limits.maxHeaderBytes or limits.maxHeaders is 431; anything else malformed, 400.
            answerAtEdge(parserError == .headerOverflow ? EdgeRules.headerFieldsTooLarge : .badRequest, reason: "\(parserError)")
        }
        perform(machine.channelClosed())
        closeDownstream(context)
    }

    // MARK: the machine's actions

    private func perform(_ action: ExchangeStateMachine.Action) {
        switch action {
        case .none:
            break
        case .read:
            readDownstream()
        case .begin(let head, let id, let digest):
            begin(head, id: id, digest: digest)
        case .forward(let part):
            request?.dispatch?.send(part)
        case .forwardEnd:
            request?.dispatch?.end()
        case .resume(let body):
            guard let request else { return }
            request.body = body
            request.bodyRead = true
            proceed()
        case .refuse(let error):
            request?.dispatch?.cancel()
            request?.dispatch = nil
            respond(error, close: true)
        case .headTimedOut(let answer):
            if answer { answerAtEdge(EdgeRules.requestTimeout, reason: "request head timed out") }
            if let context { closeDownstream(context) }
        case .bodyTimedOut(let responseStarted):
            shared.logger.info("request body stalled", metadata: ["request_id": "\(request?.requestId ?? "-")"])
            request?.dispatch?.cancel()
            request?.dispatch = nil
            if responseStarted {
                abort("request body stalled")
            } else {
                respond(EdgeRules.requestTimeout, close: true)
            }
        case .close:
            if let context { closeDownstream(context) }
        case .abandon:
            guard let request else { return }
            request.dispatch?.cancel()
            request.dispatch = nil
            request.abortReason = request.abortReason ?? "client closed the connection"
            observe(request)
            self.request = nil
        case .finished(let read):
            request = nil
            if read { readDownstream() }
            takeUpQueued()
        }
    }

    // MARK: routing and filters

    private func begin(_ sent: HTTPRequestHead, id: UInt64, digest: HeadDigest) {
        guard let context, let local else { return }
        let table = shared.table
        var head = sent
        let edge = EdgeRules.check(&head, digest: digest, isHTTP2: connection.isHTTP2, limits: table.limits)
        if remoteIP == nil {
            if let record = connection.record {
                remoteIP = record.remoteIP
            } else {
                remoteIP = context.channel.remoteAddress?.ipAddress ?? "127.0.0.1"
            }
        }
        let remoteIP = self.remoteIP!
        let clientRequestId = digest.requestId
        let requestId = RequestID.make(clientValue: clientRequestId, generator: &local.requestIDs)
        let target: RequestTarget
        switch edge {
        case .pass(let t):
            target = t
        case .refuse(let error, let close):
            request = RequestContext(id: id, head: head, target: RequestTarget.unparsed, route: table.fallback,
                                     requestId: requestId, remoteIP: remoteIP,
                                     scheme: connection.scheme, isHTTP2: connection.isHTTP2, start: lastNow)
            countActive(request!)
            respond(error, close: close)
            return
        }
        let match = table.plan.router.match(method: head.method.rawValue, path: target.path)
        var route = table.fallback
        var values: [String] = []
        if case .operation(let index, let parameters) = match {
            route = table.routes[index]
            values = parameters
        }
        let request = RequestContext(id: id, head: head, target: target, route: route, requestId: requestId,
                                     remoteIP: remoteIP, scheme: connection.scheme,
                                     isHTTP2: connection.isHTTP2, start: lastNow)
        request.mayHaveConnectionField = digest.connection
        request.mayHaveBodyFields = digest.bodyFields
        if route.takesKey && !connection.isHTTP2 {
            if keyMemo == nil { keyMemo = PresentedKeyMemo() }
            request.keyMemo = keyMemo
        }
        self.request = request
        countActive(request)
        let incomingTrace = digest.traceparent
        if let tracing = shared.tracing {
            // Exported spans: the server span's context is the trace this request carries on.
            let span = tracing.serverSpan(head, name: "\(head.method.rawValue) \(route.label)",
                                          startNanoseconds: UInt64(max(0, WallClock.nowNanoseconds())))
            request.span = span
            request.trace = tracing.traceparent(of: span).flatMap { TraceContext(propagated: $0, incoming: incomingTrace) }
        }
        if request.trace == nil {
            request.trace = TraceContext.make(incoming: incomingTrace, requestId: requestId,
                                              generator: &local.requestIDs)
        }
        // Only the names are read from the operation (binding the whole OperationPlan copied it,
        // every reference in it retained and released again).
        if !values.isEmpty, let names = route.operation?.parameterNames {
            request.pathParameterNames = names
            request.pathParameterValues = values
        }
        // A CORS preflight on a route with CORS is the gateway's to answer, before API keys and
        // authorizers (browsers send no credentials with it), as AWS does.
        if head.method == .OPTIONS, let origin = head.headers.first(name: "origin"),
           let asked = head.headers.first(name: "access-control-request-method"),
           let cors = Self.corsPolicy(table, method: asked.uppercased(), path: target.path) {
            respondPreflight(cors.preflight(origin: origin, method: asked,
                                            requestHeaders: head.headers.first(name: "access-control-request-headers")))
            return
        }
        switch head.method {
        case .TRACE:
            // Never forwarded: TRACE echoes the request, credentials included (XST).
            respond(.methodNotAllowed(allow: Self.allowed(table.plan.router, path: target.path)))
            return
        case .CONNECT where route.operation == nil:
            // Only where an operation takes it (x-gateway-any-method); never to the default upstream.
            respond(.methodNotAllowed(allow: Self.allowed(table.plan.router, path: target.path)))
            return
        default:
            break
        }
        if case .unmatched = route.action {
            if case .methodNotAllowed(let allow) = match {
                request.unmatched = .methodNotAllowed(allow: allow)
            } else {
                request.unmatched = .notFound
            }
        }
        machine.routed(bodyLimit: route.bodyLimit)
        proceed()
    }

    /// The CORS policy a preflight for `method` on `path` is judged by: the operation's, or when
    /// the path has no such method, that of another operation on the path (which then refuses
    /// the method). Nil: no CORS here, the OPTIONS request is routed like any other.
    static func corsPolicy(_ table: RouteTable, method: String, path: Substring) -> CORSPolicy? {
        switch table.plan.router.match(method: method, path: path) {
        case .operation(let index, _):
            return table.routes[index].cors
        case .methodNotAllowed(let allow):
            for other in allow {
                if case .operation(let index, _) = table.plan.router.match(method: other, path: path),
                   let cors = table.routes[index].cors {
                    return cors
                }
            }
            return nil
        case .notFound:
            return nil
        }
    }

    /// The methods a path takes, for the `Allow` of a refused TRACE or CONNECT.
    static func allowed(_ router: Router, path: Substring) -> [String] {
        if case .methodNotAllowed(let allow) = router.match(method: "TRACE", path: path) {
            return allow.filter { $0 != "TRACE" }
        }
        return ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    }

    /// Runs the route's filters from where the request stands, until one answers, suspends or
    /// asks for the body, then starts the route's action.
    private func proceed() {
        guard let request, let context else { return }
        let filters = request.route.filters
        while request.nextFilter < filters.count {
            guard apply(filters[request.nextFilter].run(request, on: context.eventLoop), to: request) else { return }
        }
        startAction(request)
    }

    /// Applies one filter's decision; true when the chain goes on at once.
    private func apply(_ status: FilterStatus, to request: RequestContext) -> Bool {
        switch status {
        case .next:
            request.nextFilter += 1
            return true
        case .respond(let error):
            respond(error)
            return false
        case .suspend(let future):
            machine.suspend()
            let work = shared.work
            work.started()
            future.assumeIsolated().whenComplete { [self] result in
                work.ended()
                guard self.request === request else { return }
                perform(machine.resume(now: now))
                let status: FilterStatus
                switch result {
                case .success(let s): status = s
                case .failure(let error):
                    shared.logger.error("filter failed", metadata: ["request_id": "\(request.requestId)", "error": "\(error)"])
                    status = .respond(.internalServerError)
                }
                if apply(status, to: request) { proceed() }
                // Reading the body may go on now: its timeout runs again.
                armClock()
            }
            return false
        case .needBody(let limit):
            readWholeBody(limit: limit)
            return false
        }
    }

    /// Reads the whole body (at most `limit` bytes) before going on; `.resume` brings it back to
    /// `proceed`.
    private func readWholeBody(limit: Int) {
        guard let request else { return }
        let declared = request.head.headers.first(name: "content-length").flatMap(Int.init)
        let action = machine.bufferBody(limit: limit, declaredLength: declared, now: now)
        if machine.takeContinue() { writeContinue() }
        perform(action)
    }

    private func startAction(_ request: RequestContext) {
        guard let context, let local else { return }
        switch request.route.action {
        case .unmatched:
            respond(request.unmatched ?? .notFound)
        case .dispatch(let dispatcher):
            if dispatcher.needsWholeBody && !request.bodyRead {
                readWholeBody(limit: request.route.bodyLimit)
                return
            }
            let body: DispatchBody
            if request.bodyRead {
                body = .whole(request.body)
            } else {
                let (parts, ended) = machine.stream(now: lastNow)
                body = .stream(first: parts, ended: ended)
                if machine.takeContinue() { writeContinue() }
            }
            request.dispatch = dispatcher.start(request, body: body, loop: context.eventLoop, local: local, sink: self)
        }
    }

    /// Answers `Expect: 100-continue` for a request whose body the gateway is about to read.
    private func writeContinue() {
        guard let request, let context else { return }
        write(context, .head(HTTPResponseHead(version: request.head.version, status: .continue)))
        flushDownstream(context)
    }

    /// Writes a response part: on HTTP/1.1 encoded by the connection's encoder right here (it
    /// is not a pipeline handler: no step and no cast per write), on HTTP/2 by the stream's
    /// writer (past the stream's codec).
    private func write(_ context: ChannelHandlerContext, _ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>? = nil) {
        if let encoder = connection.responseEncoder {
            encoder.write(part, context: context, promise: promise)
        } else if let writer = connection.streamCodec {
            writer.write(part, promise: promise)
        } else {
            context.write(wrapOutboundOut(part), promise: promise)
        }
    }

    /// Flushes what was written: on an HTTP/2 stream through its codec (which writes a frame it
    /// held for END_STREAM first; the connection's `FlushCoalescer` flushes at the end of the
    /// tick), on HTTP/1.1 at the end of the loop's tick with the loop's other connections
    /// (`LoopFlusher`) — except inside this connection's own read: the client's end of input may
    /// be in the same read (a request sent with a FIN, or TLS's close_notify right behind it), and
    /// NIO closes the connection as soon as the read is over, failing writes not yet flushed.
    private func flushDownstream(_ context: ChannelHandlerContext) {
        if let codec = connection.streamCodec {
            codec.flush()
        } else if let local, !partsThisRead {
            local.flusher.flush(context)
        } else {
            context.flush()
        }
    }

    /// Lets the next request bytes come: the connection reads on, or the stream hands on what
    /// waits for the handler.
    private func readDownstream() {
        if let codec = connection.streamCodec {
            codec.read()
        } else {
            context?.read()
        }
    }

    /// Closes the connection, or on HTTP/2 the stream (through its codec, after a held frame).
    private func closeDownstream(_ context: ChannelHandlerContext) {
        if let codec = connection.streamCodec {
            codec.close()
        } else {
            // What was written goes before the close, not at the end of the tick (a channel
            // fails the writes it has not flushed when it closes).
            context.flush()
            context.close(promise: nil)
        }
    }

    // MARK: DispatchSink

    var downstreamIsWritable: Bool {
        if let codec = connection.streamCodec { return codec.isWritable }
        return context?.channel.isWritable ?? false
    }

    /// Inside a read: `channelReadComplete` follows, and flushes the request's dispatch.
    var flushesAfterThisRead: Bool { partsThisRead }

    private func current(_ id: UInt64) -> RequestContext? {
        guard let request, request.id == id else { return nil }
        return request
    }

    func dispatch(_ id: UInt64, head: consuming HTTPResponseHead) {
        guard let request = current(id), let context else { return }
        // Consumed: the head's storage and its fields are this call's own (when the exchange
        // rebuilt them), so the changes below happen in place.
        if head.version != request.head.version { head.version = request.head.version }
        ResponseDecorator.decorate(&head.headers, for: request)
        request.status = Int(head.status.code)
        machine.responseStarted()
        write(context, .head(head))
    }

    func dispatch(_ id: UInt64, forwarded head: consuming UpstreamResponseHead) {
        // An HTTP/2 stream's HEADERS are made from the upstream's field bytes and the gateway's
        // fields, when the gateway only adds fields and the head is final.
        if let codec = connection.streamCodec, let request = current(id), head.status.code >= 200,
           let appended = ResponseDecorator.appended(to: head, for: request) {
            request.status = Int(head.status.code)
            machine.responseStarted()
            codec.write(forwarded: head, appending: appended, requestStart: request.start, promise: nil)
            return
        }
        // An HTTP/1.1 client gets the upstream's field bytes as they are, with the gateway's
        // fields after them; otherwise the head is made `HTTPHeaders` and decorated.
        guard let request = current(id), let context, let encoder = connection.responseEncoder,
              encoder.canWrite(forwarded: head), let appended = ResponseDecorator.appended(to: head, for: request) else {
            dispatch(id, head: head.head)
            return
        }
        request.status = Int(head.status.code)
        machine.responseStarted()
        encoder.write(forwarded: head, version: request.head.version, appending: appended, context: context)
    }

    func dispatch(_ id: UInt64, body: ByteBuffer) {
        guard let request = current(id), let context else { return }
        request.bytesOut += body.readableBytes
        write(context, .body(.byteBuffer(body)))
    }

    func dispatchEnded(_ id: UInt64) {
        guard let request = current(id) else { return }
        request.dispatch = nil
        completeResponse(close: false)
    }

    func dispatch(_ id: UInt64, failed error: GatewayError, reason: String) {
        guard let request = current(id) else { return }
        shared.logger.warning("\(reason)", metadata: ["request_id": "\(request.requestId)", "target": "\(request.target)"])
        request.dispatch = nil
        if machine.exchange?.responseStarted ?? false {
            abort(reason)
        } else {
            respond(error, close: !(machine.exchange?.requestEnded ?? true))
        }
    }

    func dispatch(_ id: UInt64, writable: Bool) {
        guard current(id) != nil else { return }
        perform(machine.dispatchWritabilityChanged(writable, now: now))
        // Held reads were released: the body timeout runs again (no read may come to arm it).
        // Within a read (an upstream connection taken up while the request head is handled),
        // channelReadComplete arms it once the read's other parts are in: an HTTP/2 request's
        // END_STREAM comes in that read, and with it no timer to schedule and cancel per stream.
        if !partsThisRead { armClock() }
    }

    func dispatchFlush(_ id: UInt64) {
        guard current(id) != nil, let context else { return }
        // A head held for the rest of a small body goes now: the body arrives as it did without
        // the merge, read by read.
        connection.responseEncoder?.writePending(context: context)
        flushDownstream(context)
    }

    // MARK: answering

    /// Writes a gateway-made response in the error contract's JSON shape.
    private func respond(_ error: GatewayError, close: Bool = false) {
        guard let request, let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        for (name, value) in error.headers { headers.add(name: name, value: value) }
        ResponseDecorator.decorate(&headers, for: request)
        let body = ByteBuffer(bytes: error.body.serialized())
        headers.add(name: "content-length", value: String(body.readableBytes))
        if close && !connection.isHTTP2 { headers.add(name: "connection", value: "close") }
        request.status = error.status
        machine.responseStarted()
        write(context, .head(HTTPResponseHead(version: request.head.version, status: .init(statusCode: error.status), headers: headers)))
        if body.readableBytes > 0 && request.head.method != .HEAD {
            request.bytesOut += body.readableBytes
            write(context, .body(.byteBuffer(body)))
        }
        completeResponse(close: close)
    }

    /// Answers a CORS preflight: 204, with the policy's headers when it allows the request and
    /// none when it does not (the browser then refuses the call).
    private func respondPreflight(_ allowed: [(String, String)]?) {
        guard let request, let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "x-request-id", value: request.requestId)
        for (name, value) in allowed ?? [] { headers.add(name: name, value: value) }
        if allowed == nil { headers.add(name: "vary", value: "Origin") }
        headers.add(name: "content-length", value: "0")
        request.status = 204
        machine.responseStarted()
        write(context, .head(HTTPResponseHead(version: request.head.version, status: .noContent, headers: headers)))
        completeResponse(close: false)
    }

    /// Writes the response end, records the request, and moves on: to pipelined requests, or
    /// to dropping the rest of this request's body (HTTP/2: resetting its stream), or to closing.
    private func completeResponse(close: Bool) {
        guard let context, let request else { return }
        // Draining: an HTTP/1.1 connection closes after this response (an HTTP/2 connection once
        // its last stream is done: HTTP2Connection).
        let quiescing = connection.record?.isQuiescing ?? false
        let (closing, over, read) = machine.responseEnded(close: close || (quiescing && !connection.isHTTP2), now: context.eventLoop.now)
        connection.record?.markServed()
        // Recorded before the end is written: closing may run inside the write.
        observe(request)
        // Closed once the end is out: the connection (the stream, on HTTP/2) when it must close,
        // and on HTTP/2 a stream answered before its request's body ended, reset then with
        // NO_ERROR so that the client stops sending the body (RFC 9113 §8.1) — not before the
        // answer's last frame left: NIOHTTP2 drops what it still holds of a stream it resets.
        if closing || (!over && connection.isHTTP2) {
            let written = context.eventLoop.makePromise(of: Void.self)
            write(context, .end(nil), promise: written)
            flushDownstream(context)
            written.futureResult.assumeIsolated().whenComplete { [self] _ in closeDownstream(context) }
        } else {
            write(context, .end(nil))
            flushDownstream(context)
            // HTTP/1.1, answered before the request's body ended: the rest is read and dropped,
            // a read held while the upstream could not take more going now.
            if !over && read { readDownstream() }
        }
        if over {
            self.request = nil
            takeUpQueued()
        }
        armClock()
    }

    /// Cuts a response short (the upstream failed after its head went out, or the body stalled).
    private func abort(_ reason: String) {
        guard let request else { return }
        request.dispatch?.cancel()
        request.dispatch = nil
        request.abortReason = reason
        machine.closing()
        observe(request)
        self.request = nil
        if let context { closeDownstream(context) }
    }

    /// An error-contract answer for a request that never became one (malformed HTTP/1.1, a head
    /// that timed out), written before the connection closes; recorded like every request.
    private func answerAtEdge(_ error: GatewayError, reason: String) {
        guard !connection.isHTTP2, let context, let local else { return }
        let requestId = local.requestIDs.nextID()
        let body = ByteBuffer(bytes: error.body.serialized())
        let headers = HTTPHeaders([
            ("content-type", "application/json"), ("content-length", String(body.readableBytes)),
            ("x-request-id", requestId.text), ("connection", "close"),
        ])
        write(context, .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: error.status), headers: headers)))
        write(context, .body(.byteBuffer(body)))
        write(context, .end(nil))
        context.flush()
        machine.closing()
        if let request, !request.observed {
            // The exchange in progress when the connection broke.
            request.dispatch?.cancel()
            request.dispatch = nil
            request.abortReason = reason
            observe(request)
            self.request = nil
        }
        let unparsed = RequestContext(id: 0, head: HTTPRequestHead(version: .http1_1, method: .RAW(value: "-"), uri: "-"),
                                      target: .unparsed, route: shared.table.fallback, requestId: requestId,
                                      remoteIP: context.channel.remoteAddress?.ipAddress ?? "127.0.0.1",
                                      scheme: connection.scheme, isHTTP2: false, start: context.eventLoop.now)
        unparsed.status = error.status
        unparsed.bytesOut = body.readableBytes
        unparsed.abortReason = reason
        observe(unparsed)
    }

    /// The end-of-exchange observer sees every request exactly once.
    private func observe(_ request: RequestContext) {
        guard !request.observed else { return }
        request.observed = true
        if request.countedActive { connection.record?.ended() }
        shared.observer.exchangeEnded(request, local: local)
    }

    private func countActive(_ request: RequestContext) {
        request.countedActive = true
        connection.record?.began()
    }

    /// Takes up pipelined requests that waited for the previous response, in order.
    private func takeUpQueued() {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        // One look at the clock (each costs a call into the event loop).
        let now = self.now
        while let action = machine.takeUpQueued(now: now) {
            perform(action)
        }
        perform(machine.queueTakenUp(now: now))
    }

    // MARK: timeouts

    /// Arms the timer for the machine's deadline unless an earlier one is armed already (it
    /// looks again when it fires).
    private func armClock() {
        guard let context, let deadline = machine.deadline else { return }
        if clock != nil {
            if clockDeadline <= deadline { return }
            clock?.cancel()
        }
        clockDeadline = deadline
        clock = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            clock = nil
            clockDeadline = .distantFuture
            perform(machine.clock(now: now))
            armClock()
        }
    }
}
