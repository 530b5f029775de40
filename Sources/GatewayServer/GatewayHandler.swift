import GatewayCallouts
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayPolicies
import Logging
import NIOCore
import NIOHTTP1

/// The gateway's per-request logic for one HTTP/1.1 connection or one HTTP/2 stream: route match,
/// the phases in order (each continues or answers), then dispatch to a local function or an
/// upstream. Runs on the channel's event loop; only authorizer callouts and function invocations
/// leave it, and their results hop back.
final class GatewayHandler: ChannelDuplexHandler {
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
    }

    /// Where a request goes once every phase let it through.
    enum Dispatch {
        case function(String)
        case upstream(Upstream, timeout: Duration)
    }

    enum Phase {
        /// Waiting for a request head.
        case idle
        /// Waiting for an authorizer; request body parts are held and reads paused.
        case authorizing
        /// Answered already; the rest of the request body is dropped.
        case discarding
        /// Reading the whole body (for a function event), then dispatching.
        case collecting(Dispatch)
        /// A function is running; the request is fully read.
        case invoking
        /// Exchanging with an upstream.
        case proxying
    }

    /// The phases after route match, in order.
    enum Step: Int {
        case apiKey, authorizer, admission, validation, dispatch
    }

    let shared: ServerShared
    let connection: Connection
    var context: ChannelHandlerContext?
    var local: LoopLocal?
    var pool: UpstreamPool?
    var runtime: GatewayRuntime?

    var phase = Phase.idle
    var request: RequestContext?
    var dispatchTarget: Dispatch?
    /// The body must be read whole and validated (against this `requestBody` entry) before dispatch.
    var bodyCheck: (entry: Int, form: Bool)?
    var requestEnded = false
    /// Bumped whenever an exchange ends, so late callbacks (connects, timers, callouts) are ignored.
    var exchange: UInt64 = 0
    var timeout: Scheduled<Void>?
    var pendingRead = false
    /// Body parts that arrived while an authorizer was deciding.
    var held: [ByteBuffer] = []
    /// Parts of pipelined HTTP/1.1 requests that arrived before the current response ended; they
    /// are taken up, in order, when it has. Reads stay paused while any wait.
    var queued: [HTTPServerRequestPart] = []
    private var draining = false
    /// A response head went out and its end has not (for parser errors: too late for a 400).
    var responseOpen = false
    /// The last request head or response end, for the idle timeout.
    private var lastActivity = NIODeadline.now()
    /// HTTP/1.1: since when a request head is awaited with a deadline (the connection is new, or
    /// bytes arrived that did not make a whole head yet).
    private var headAwaitedSince: NIODeadline?
    /// Bytes of an incomplete head arrived (a 408 is owed when the head times out).
    private var partialHead = false
    /// Whether the current read delivered any request part.
    private var partsThisRead = false
    /// The last time a byte of the request body arrived (or reading resumed after a pause).
    var lastBodyActivity = NIODeadline.now()
    /// One timer per connection or stream for the idle, header and body timeouts: it fires at the
    /// earliest deadline of the current state, looks again, and re-arms itself.
    private var clock: Scheduled<Void>?
    private var clockDeadline = NIODeadline.distantFuture

    // Function exchange.
    var body: ByteBuffer?
    var functionTask: Task<Void, Never>?

    // Upstream exchange.
    var upstream: UpstreamHandler?
    var upstreamConfig: Upstream?
    var upstreamTarget: Upstream.Target?
    var upstreamHead: HTTPRequestHead?
    var pendingToUpstream: [HTTPClientRequestPart] = []
    var upstreamReused = false
    var upstreamNeedsFlush = false
    var upstreamKeepAlive = false
    var responseStarted = false
    var retried = false
    var timeoutAmount: TimeAmount = .seconds(29)
    var lastUpstreamActivity: NIODeadline = .now()

    init(shared: ServerShared, connection: Connection) {
        self.shared = shared
        self.connection = connection
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let local = shared.local(for: context.eventLoop)
        self.local = local
        self.pool = local.pool
        if connection.headerTimeout != nil { headAwaitedSince = context.eventLoop.now }
        lastActivity = context.eventLoop.now
        armClock()
    }

    // MARK: timeouts

    /// The deadline of the current state: a head awaited (header timeout), an idle connection
    /// (idle timeout), a request body being read (body timeout); nil when none applies (the
    /// upstream or function timeout governs a request waiting for its answer).
    private func nextDeadline() -> NIODeadline? {
        if isIdle && queued.isEmpty {
            if let since = headAwaitedSince, let headerTimeout = connection.headerTimeout { return since + headerTimeout }
            if let idleTimeout = connection.idleTimeout { return lastActivity + idleTimeout }
            return nil
        }
        if request != nil && !requestEnded && !pendingRead && isReadingBody {
            return lastBodyActivity + connection.bodyTimeout
        }
        return nil
    }

    /// Whether the current phase takes the request body from the client.
    private var isReadingBody: Bool {
        switch phase {
        case .collecting, .proxying, .authorizing, .discarding: return true
        case .idle, .invoking: return false
        }
    }

    /// One timer instead of an `IdleStateHandler` (which would attach a promise to every write):
    /// armed for the current deadline unless an earlier one is armed already (which looks again).
    func armClock() {
        guard let context, let deadline = nextDeadline() else { return }
        if clock != nil {
            if clockDeadline <= deadline { return }
            clock?.cancel()
        }
        clockDeadline = deadline
        clock = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            clock = nil
            clockDeadline = .distantFuture
            clockFired()
        }
    }

    private func clockFired() {
        guard let context, let deadline = nextDeadline() else { return }
        guard context.eventLoop.now >= deadline else {
            armClock()
            return
        }
        if isIdle && queued.isEmpty {
            if headAwaitedSince != nil && partialHead {
                answerAtEdge(EdgeRules.requestTimeout, context: context)
            }
            context.close(promise: nil)
            return
        }
        // The request body stalled.
        shared.logger.info("request body stalled", metadata: ["request_id": "\(request?.requestId ?? "-")"])
        if case .discarding = phase {
            // Answered already; the rest of the body never came.
            abandonExchange()
            context.close(promise: nil)
        } else if responseOpen {
            abortDownstream()
        } else {
            cancelDispatch()
            respond(EdgeRules.requestTimeout, close: true)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clock?.cancel()
        clock = nil
        abandonExchange()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonExchange()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        partsThisRead = true
        if !queued.isEmpty || (part.isHead && !isIdle) {
            queued.append(part)
            return
        }
        process(part, context: context)
    }

    private var isIdle: Bool {
        if case .idle = phase { return true }
        return false
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            beginRequest(head, context: context)
        case .body(let part):
            switch phase {
            case .collecting:
                lastBodyActivity = context.eventLoop.now
                collect(part)
            case .authorizing:
                lastBodyActivity = context.eventLoop.now
                hold(part)
            case .proxying:
                lastBodyActivity = context.eventLoop.now
                if let upstream {
                    upstream.send(.body(.byteBuffer(part)))
                    upstreamNeedsFlush = true
                } else {
                    pendingToUpstream.append(.body(.byteBuffer(part)))
                }
            case .idle, .discarding, .invoking:
                break
            }
        case .end:
            requestEnded = true
            switch phase {
            case .collecting(let dispatch):
                finishCollecting(dispatch)
            case .proxying:
                lastBodyActivity = context.eventLoop.now
                if let upstream {
                    upstream.send(.end(nil))
                    upstream.flush()
                    upstreamNeedsFlush = false
                } else {
                    pendingToUpstream.append(.end(nil))
                }
            case .discarding:
                endExchange()
            case .idle, .invoking, .authorizing:
                break
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            upstream?.flush()
        }
        if !partsThisRead {
            // Bytes came that made no whole request part yet: a head is on its way.
            if connection.headerTimeout != nil && isIdle && queued.isEmpty {
                partialHead = true
                if headAwaitedSince == nil { headAwaitedSince = context.eventLoop.now }
                armClock()
            }
        } else if request != nil && !requestEnded {
            armClock()
        }
        partsThisRead = false
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if !queued.isEmpty {
            pendingRead = true
            return
        }
        switch phase {
        case .authorizing:
            pendingRead = true
            return
        case .proxying where !requestEnded && !(upstream?.isWritable ?? false):
            pendingRead = true
            return
        default:
            context.read()
        }
    }

    /// Lets a read held back by `read(context:)` through.
    func resumeHeldRead() {
        guard pendingRead, queued.isEmpty else { return }
        resumeReading()
    }

    /// Reads again after a pause; the body timeout counts from now.
    func resumeReading() {
        guard let context else { return }
        pendingRead = false
        lastBodyActivity = context.eventLoop.now
        context.read()
        armClock()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstream?.resumeReads() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.debug("connection error", metadata: ["error": "\(error)"])
        if let parserError = error as? HTTPParserError, !responseOpen {
            // A head over limits.maxHeaderBytes or limits.maxHeaders is 431; anything else malformed, 400.
            answerAtEdge(parserError == .headerOverflow ? EdgeRules.headerFieldsTooLarge : .badRequest, context: context)
        }
        abandonExchange()
        queued.removeAll()
        context.close(promise: nil)
    }

    /// An error-contract answer for a request that never became one (malformed HTTP/1.1, a head
    /// that timed out), written before the connection closes.
    private func answerAtEdge(_ error: GatewayError, context: ChannelHandlerContext) {
        guard !connection.isHTTP2 else { return }
        let body = ByteBuffer(bytes: error.body.serialized())
        let headers = HTTPHeaders([
            ("content-type", "application/json"), ("content-length", String(body.readableBytes)),
            ("x-request-id", local?.requestIDs.next() ?? "-"), ("connection", "close"),
        ])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: error.status), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        responseOpen = true
    }

    // MARK: routing and phases

    private func beginRequest(_ sent: HTTPRequestHead, context: ChannelHandlerContext) {
        headAwaitedSince = nil
        partialHead = false
        lastBodyActivity = context.eventLoop.now
        requestEnded = false
        responseStarted = false
        retried = false
        body = nil
        bodyCheck = nil
        held.removeAll()
        let runtime = shared.runtime
        self.runtime = runtime
        var head = sent
        let edge = EdgeRules.check(&head, isHTTP2: connection.isHTTP2, limits: runtime.plan.config.limits)
        let remote = connection.isHTTP2 ? context.channel.parent?.remoteAddress : context.channel.remoteAddress
        let request = RequestContext(
            head: head, requestId: RequestID.make(clientValue: head.headers.first(name: "x-request-id"),
                                                  generator: &local!.requestIDs),
            remoteIP: remote?.ipAddress ?? "127.0.0.1", scheme: connection.scheme,
            protocolName: connection.isHTTP2 ? "HTTP/2.0" : "HTTP/\(head.version.major).\(head.version.minor)")

        if case .refuse(let error, let close) = edge {
            self.request = request
            respond(error, close: close)
            return
        }
        let plan = runtime.plan
        var unmatched: GatewayError?
        let match = plan.router.match(method: head.method.rawValue, path: request.path)
        switch head.method {
        case .TRACE:
            // Never forwarded: TRACE echoes the request, credentials included (XST).
            self.request = request
            respond(.methodNotAllowed(allow: Self.allowed(plan.router, path: request.path)))
            return
        case .CONNECT:
            // Only where an operation takes it (x-gateway-any-method); never to the default upstream.
            guard case .operation = match else {
                self.request = request
                respond(.methodNotAllowed(allow: Self.allowed(plan.router, path: request.path)))
                return
            }
        default:
            break
        }
        switch match {
        case .operation(let index, let values):
            let operation = plan.operations[index]
            request.operation = operation
            request.pathParameters = Array(zip(operation.parameterNames, values))
            switch operation.target {
            case .function(let name):
                dispatchTarget = .function(name)
            case .upstream(let name):
                guard let upstream = plan.config.upstreams[name] else {
                    self.request = request
                    respond(.internalServerError)
                    return
                }
                dispatchTarget = .upstream(upstream, timeout: operation.timeout)
            }
        case .methodNotAllowed(let allow):
            unmatched = .methodNotAllowed(allow: allow)
        case .notFound:
            unmatched = .notFound
        }
        if let unmatched {
            if let fallback = runtime.defaultUpstream {
                dispatchTarget = .upstream(fallback, timeout: fallback.timeout)
            } else {
                dispatchTarget = nil
                self.request = request
                // Unmatched requests still pass the gateway throttle before their 404/405.
                if case .answer(let error) = AdmissionPhase.run(&self.request!, runtime: runtime, limiter: shared.policies.limiter) {
                    respond(error)
                } else {
                    respond(unmatched)
                }
                return
            }
        }
        self.request = request
        advance(from: .apiKey)
    }

    /// The methods a path takes, for the `Allow` of a refused TRACE or CONNECT.
    static func allowed(_ router: Router, path: Substring) -> [String] {
        if case .methodNotAllowed(let allow) = router.match(method: "TRACE", path: path) {
            return allow.filter { $0 != "TRACE" }
        }
        return ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    }

    /// Runs the phases from `step` on, until one answers, one suspends, or the request is dispatched.
    func advance(from step: Step) {
        guard let runtime, request != nil else { return }
        var step = step
        while true {
            switch step {
            case .apiKey:
                if case .answer(let error) = APIKeyPhase.run(&request!, runtime: runtime, policies: shared.policies) {
                    respond(error)
                    return
                }
            case .authorizer:
                guard let context else { return }
                switch AuthorizerPhase.start(&request!, runtime: runtime, on: context.eventLoop) {
                case .done(.proceed):
                    break
                case .done(.answer(let error)):
                    respond(error)
                    return
                case .suspended(let future):
                    phase = .authorizing
                    let id = exchange
                    shared.calloutStarted()
                    future.assumeIsolated().whenComplete { [self] result in
                        shared.calloutReturned()
                        guard id == exchange, case .authorizing = phase, request != nil else { return }
                        let outcome: Authorizer.Outcome
                        switch result {
                        case .success(let o): outcome = o
                        case .failure(let e): outcome = .failure(AuthorizerFailure("\(e)"))
                        }
                        if case .answer(let error) = AuthorizerPhase.apply(outcome, to: &request!, runtime: runtime) {
                            respond(error)
                        } else {
                            advance(from: .admission)
                        }
                    }
                    return
                }
            case .admission:
                if case .answer(let error) = AdmissionPhase.run(&request!, runtime: runtime, limiter: shared.policies.limiter) {
                    respond(error)
                    return
                }
            case .validation:
                if case .answer(let error) = ValidationPhase.run(request!, isHTTP2: connection.isHTTP2, bodyCheck: &bodyCheck) {
                    respond(error)
                    return
                }
            case .dispatch:
                dispatch()
                return
            }
            step = Step(rawValue: step.rawValue + 1)!
        }
    }

    private func dispatch() {
        guard let target = dispatchTarget else {
            respond(.internalServerError)
            return
        }
        switch target {
        case .function(let name):
            request?.target = .function(name)
            startCollecting(target)
        case .upstream(let upstream, let timeout):
            if bodyCheck != nil {
                startCollecting(target)
            } else {
                startProxy(upstream, timeout: timeout)
            }
        }
    }

    /// The largest body this request's operation buffers.
    var bodyLimit: Int {
        request?.operation?.maxBodyBytes ?? runtime?.plan.config.limits.maxBufferedBody ?? 0
    }

    // MARK: request bodies

    /// Keeps a body part that arrived while an authorizer decides (reads are paused meanwhile, so
    /// this is at most what one read brought).
    private func hold(_ part: ByteBuffer) {
        if held.reduce(0, { $0 + $1.readableBytes }) + part.readableBytes > max(bodyLimit, 1 << 20) {
            respond(.payloadTooLarge, close: true)
            return
        }
        held.append(part)
    }

    /// Starts buffering the body up to `limits.maxBodyBytes` (413 beyond, before it is read to the end).
    private func startCollecting(_ dispatch: Dispatch) {
        guard let request else { return }
        if let declared = request.head.headers.first(name: "content-length").flatMap(Int.init), declared > bodyLimit {
            respond(.payloadTooLarge, close: true)
            return
        }
        phase = .collecting(dispatch)
        if case .function(let name) = dispatch,
           let operation = request.operation, case .function(name) = operation.target {
            timeoutAmount = TimeAmount(operation.timeout)
        }
        continueIfExpected()
        let parts = held
        held.removeAll()
        for part in parts {
            collect(part)
            guard case .collecting = phase else { return }
        }
        if requestEnded {
            finishCollecting(dispatch)
        } else {
            resumeHeldRead()
        }
    }

    private func collect(_ part: ByteBuffer) {
        if (body?.readableBytes ?? 0) + part.readableBytes > bodyLimit {
            respond(.payloadTooLarge, close: true)
        } else if body == nil {
            body = part
        } else {
            var incoming = part
            body!.writeBuffer(&incoming)
        }
    }

    private func finishCollecting(_ dispatch: Dispatch) {
        if let check = bodyCheck, let validator = request?.operation?.validator {
            let bytes = body ?? ByteBuffer()
            let failure = bytes.withUnsafeReadableBytes { validator.validateBody($0, entry: check.entry, form: check.form) }
            if let failure {
                respond(failure)
                return
            }
        }
        switch dispatch {
        case .function(let name):
            if bodyCheck == nil, let failure = repeatedKey(in: body) {
                respond(failure)
                return
            }
            invokeFunction(name)
        case .upstream(let upstream, let timeout):
            if let body, body.readableBytes > 0 { held = [body] }
            self.body = nil
            startProxy(upstream, timeout: timeout)
        }
    }

    /// A JSON body with a repeated object key, refused before it reaches a function (which might
    /// read the other value than a validator would): I-JSON, RFC 7493. Other bodies, valid JSON or
    /// not, are the function's to judge.
    private func repeatedKey(in body: ByteBuffer?) -> GatewayError? {
        guard let body, body.readableBytes > 0, let request,
              let type = request.head.headers.first(name: "content-type")?.lowercased(),
              type.hasPrefix("application/json") || type.contains("+json") else { return nil }
        let pointer: String? = body.withUnsafeReadableBytes { raw in
            do throws(JSONParseError) { _ = try JSONParser.parse(raw) } catch { return error.pointer }
            return nil
        }
        guard let pointer else { return nil }
        return GatewayError(status: 400, message: "Invalid request body",
                            errors: [.init(in: "body", pointer: pointer, message: "is a repeated object key")])
    }

    /// Answers `Expect: 100-continue` for a request whose body the gateway is going to read.
    func continueIfExpected() {
        guard let request, let context,
              request.head.headers.first(name: "expect")?.lowercased() == "100-continue" else { return }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: request.head.version, status: .continue))), promise: nil)
    }

    // MARK: answering

    /// Writes a gateway-made response in the error contract's JSON shape.
    func respond(_ error: GatewayError, close: Bool = false) {
        guard let request else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "x-request-id", value: request.requestId)
        for (name, value) in error.headers { headers.add(name: name, value: value) }
        for (name, value) in request.rateLimitHeaders { headers.add(name: name, value: value) }
        let body = ByteBuffer(bytes: error.body.serialized())
        headers.add(name: "content-length", value: String(body.readableBytes))
        if close && !connection.isHTTP2 { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.head.version, status: .init(statusCode: error.status), headers: headers)
        timeout?.cancel()
        timeout = nil
        writeResponse(head, body: body, close: close)
    }

    func writeResponse(_ head: HTTPResponseHead, body: ByteBuffer, close: Bool = false) {
        guard let context, request != nil else { return }
        request!.status = Int(head.status.code)
        responseOpen = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if body.readableBytes > 0 && request!.head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        completeResponse(close: close)
    }

    /// Writes the response end, logs the request, and moves to the next request (or drops the rest
    /// of this one's body).
    func completeResponse(close: Bool) {
        guard let context, let request else { return }
        let keepAlive = !close && (connection.isHTTP2 || request.head.isKeepAlive)
        responseOpen = false
        lastActivity = context.eventLoop.now
        connection.record?.markServed()
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
        AccessLog.log(request, logger: shared.logger)
        if requestEnded {
            endExchange()
        } else {
            exchange &+= 1
            phase = .discarding
            if pendingRead { resumeReading() } else { armClock() }
        }
    }

    func endExchange() {
        exchange &+= 1
        phase = .idle
        request = nil
        body = nil
        held.removeAll()
        dispatchTarget = nil
        upstreamHead = nil
        pendingToUpstream.removeAll()
        drainQueue()
        resumeHeldRead()
    }

    /// Takes up pipelined requests that waited for the previous response, in order: every part up
    /// to the next request head that must wait again.
    private func drainQueue() {
        guard !draining, let context else { return }
        draining = true
        defer { draining = false }
        while let part = queued.first {
            if part.isHead && !isIdle { break }
            queued.removeFirst()
            process(part, context: context)
        }
    }

    /// Stops what the exchange started (its timer, function, upstream connection) so that the
    /// gateway can answer the request itself.
    func cancelDispatch() {
        timeout?.cancel()
        timeout = nil
        functionTask?.cancel()
        functionTask = nil
        upstream?.close()
        upstream = nil
        pendingToUpstream.removeAll()
    }

    func abortDownstream() {
        abandonExchange()
        context?.close(promise: nil)
    }

    /// Drops whatever is in flight: the client went away or the connection failed.
    func abandonExchange() {
        cancelDispatch()
        exchange &+= 1
        phase = .idle
        request = nil
        body = nil
        held.removeAll()
        dispatchTarget = nil
        pendingToUpstream.removeAll()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let c = duration.components
        self = .nanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
    }
}

extension HTTPServerRequestPart {
    var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}
