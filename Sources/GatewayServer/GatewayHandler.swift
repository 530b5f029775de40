import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayPolicies
import Logging
import NIOCore
import NIOHTTP1

/// The gateway's per-request logic for one HTTP/1.1 connection or one HTTP/2 stream: route match,
/// phases, then dispatch to a local function or an upstream. Runs entirely on the channel's event
/// loop; only function invocations leave it (as a `Task`), and their results hop back.
final class GatewayHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Connection {
        var scheme: String
        var isHTTP2: Bool
    }

    private enum Phase {
        /// Waiting for a request head.
        case idle
        /// Answered already; the rest of the request body is dropped.
        case discarding
        /// Reading the body for a function event.
        case collecting(name: String)
        /// A function is running; the request is fully read.
        case invoking
        /// Exchanging with an upstream.
        case proxying
    }

    private let shared: ServerShared
    private let connection: Connection
    private var context: ChannelHandlerContext?
    private var pool: UpstreamPool?
    private var runtime: GatewayRuntime?

    private var phase = Phase.idle
    private var request: RequestContext?
    private var requestEnded = false
    /// Bumped whenever an exchange ends, so late callbacks (connects, timers, functions) are ignored.
    private var exchange: UInt64 = 0
    private var timeout: Scheduled<Void>?
    private var pendingRead = false

    // Function exchange.
    private var body: ByteBuffer?
    private var functionTask: Task<Void, Never>?

    // Upstream exchange.
    private var upstream: UpstreamHandler?
    private var upstreamConfig: Upstream?
    private var upstreamTarget: Upstream.Target?
    private var upstreamHead: HTTPRequestHead?
    private var pendingToUpstream: [HTTPClientRequestPart] = []
    private var upstreamReused = false
    private var upstreamNeedsFlush = false
    private var upstreamKeepAlive = false
    private var responseStarted = false
    private var retried = false
    private var timeoutAmount: TimeAmount = .seconds(29)
    private var lastUpstreamActivity: NIODeadline = .now()

    init(shared: ServerShared, connection: Connection) {
        self.shared = shared
        self.connection = connection
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.pool = shared.pool(for: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        abandonExchange()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonExchange()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            beginRequest(head, context: context)
        case .body(let part):
            switch phase {
            case .collecting:
                let limit = runtime?.plan.config.limits.maxBufferedBody ?? 0
                if (body?.readableBytes ?? 0) + part.readableBytes > limit {
                    respond(.payloadTooLarge, close: true)
                } else if body == nil {
                    body = part
                } else {
                    var incoming = part
                    body!.writeBuffer(&incoming)
                }
            case .proxying:
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
            case .collecting(let name):
                invokeFunction(name)
            case .proxying:
                if let upstream {
                    upstream.send(.end(nil))
                    upstream.flush()
                    upstreamNeedsFlush = false
                } else {
                    pendingToUpstream.append(.end(nil))
                }
            case .discarding:
                endExchange()
            case .idle, .invoking:
                break
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            upstream?.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if case .proxying = phase, !requestEnded, !(upstream?.isWritable ?? false) {
            pendingRead = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstream?.resumeReads() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, case .idle = phase {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.debug("connection error", metadata: ["error": "\(error)"])
        abandonExchange()
        context.close(promise: nil)
    }

    // MARK: routing and dispatch

    private func beginRequest(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        requestEnded = false
        responseStarted = false
        retried = false
        body = nil
        let runtime = shared.runtime
        self.runtime = runtime
        let remote = connection.isHTTP2 ? context.channel.parent?.remoteAddress : context.channel.remoteAddress
        var request = RequestContext(
            head: head, requestId: RequestID.make(clientValue: head.headers.first(name: "x-request-id")),
            remoteIP: remote?.ipAddress ?? "127.0.0.1", scheme: connection.scheme,
            protocolName: connection.isHTTP2 ? "HTTP/2.0" : "HTTP/\(head.version.major).\(head.version.minor)")

        let plan = runtime.plan
        switch plan.router.match(method: head.method.rawValue, path: request.path) {
        case .operation(let index, let values):
            let operation = plan.operations[index]
            request.operation = operation
            request.pathParameters = Array(zip(operation.parameterNames, values))
            self.request = request
            guard admit(operation, runtime: runtime) else { return }
            switch operation.target {
            case .function(let name):
                self.request?.target = "function:\(name)"
                startFunction(name, operation: operation)
            case .upstream(let name):
                guard let upstream = plan.config.upstreams[name] else {
                    respond(.internalServerError)
                    return
                }
                startProxy(upstream, timeout: operation.timeout)
            }
        case .methodNotAllowed(let allow):
            self.request = request
            guard admit(nil, runtime: runtime) else { return }
            if let fallback = runtime.defaultUpstream {
                startProxy(fallback, timeout: fallback.timeout)
            } else {
                respond(.methodNotAllowed(allow: allow))
            }
        case .notFound:
            self.request = request
            guard admit(nil, runtime: runtime) else { return }
            if let fallback = runtime.defaultUpstream {
                startProxy(fallback, timeout: fallback.timeout)
            } else {
                respond(.notFound)
            }
        }
    }

    // MARK: policies

    /// Phases 1–5: the API key, then the gateway, key, key+operation and operation buckets and the
    /// key's quota, decided at once. Returns false when it answered the request.
    private func admit(_ operation: OperationPlan?, runtime: GatewayRuntime) -> Bool {
        let config = runtime.plan.config
        var limits = RateLimiter.Request()
        limits.gateway = config.throttle
        if let operation, let t = operation.throttle { limits.operation = (operation.routeKey, t) }
        let wallClock = Double(request?.startWallClock ?? 0) / 1000
        var planName: String?
        if let operation, let requirement = operation.apiKey {
            if let presented = presentedKey(requirement) {
                guard let record = shared.policies.keys.lookup(presented, at: wallClock),
                      let plan = config.plans[record.plan] else {
                    respond(.forbidden)
                    return false
                }
                request?.keyId = record.id
                planName = record.plan
                limits.key = (record.id, plan.throttle)
                if let id = operation.operationId, let t = plan.operations[id] {
                    limits.keyOperation = (record.id, operation.routeKey, t)
                }
                if let q = plan.quota {
                    limits.quota = .init(keyId: record.id, limit: q.limit, period: q.period)
                }
            } else if !requirement.optional {
                respond(.forbidden)
                return false
            }
        }
        if limits.isEmpty { return true }
        let decision = shared.policies.limiter.admit(limits, now: NIODeadline.now().uptimeNanoseconds, wallClock: wallClock)
        if let planName, let policy = runtime.rateLimitPolicies[planName] {
            request?.rateLimitHeaders = RateLimitHeaders.make(plan: planName, policy: policy, decision: decision)
        }
        switch decision {
        case .admitted:
            return true
        case .throttled(let wait):
            respond(GatewayError(status: 429, message: "Too Many Requests", headers: [("retry-after", RateLimitHeaders.seconds(wait))]))
            return false
        case .quotaExceeded(let wait):
            respond(GatewayError(status: 429, message: "Limit Exceeded", headers: [("retry-after", RateLimitHeaders.seconds(wait))]))
            return false
        }
    }

    /// The key the request presents where the operation's scheme says.
    private func presentedKey(_ requirement: OperationPlan.APIKeyRequirement) -> Substring? {
        guard let request else { return nil }
        switch requirement.location {
        case .header:
            return request.head.headers.first(name: requirement.name).map { $0[...] }
        case .query:
            guard let query = request.query else { return nil }
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2, FunctionEventBuilder.formDecoded(parts[0]) == requirement.name {
                    return FunctionEventBuilder.formDecoded(parts[1]).map { $0[...] }
                }
            }
            return nil
        case .cookie:
            for header in request.head.headers[canonicalForm: "cookie"] {
                for c in header.split(separator: ";") {
                    let t = c.drop(while: { $0 == " " })
                    if t.hasPrefix(requirement.name + "=") { return t.dropFirst(requirement.name.count + 1)[...] }
                }
            }
            return nil
        }
    }

    /// Answers `Expect: 100-continue` for a request whose body the gateway is going to read.
    private func continueIfExpected() {
        guard let request, let context,
              request.head.headers.first(name: "expect")?.lowercased() == "100-continue" else { return }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: request.head.version, status: .continue))), promise: nil)
    }

    // MARK: functions

    private func startFunction(_ name: String, operation: OperationPlan) {
        guard let request, let runtime else { return }
        if let declared = request.head.headers.first(name: "content-length").flatMap(Int.init),
           declared > runtime.plan.config.limits.maxBufferedBody {
            respond(.payloadTooLarge, close: true)
            return
        }
        phase = .collecting(name: name)
        timeoutAmount = TimeAmount(operation.timeout)
        continueIfExpected()
    }

    private func invokeFunction(_ name: String) {
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
        functionTask = Task {
            let result: Result<FunctionResult, any Error>
            do {
                result = .success(try await function.handle(event, context: functionContext))
            } catch {
                result = .failure(error)
            }
            loop.execute { bound.value.functionFinished(result, exchange: id) }
        }
    }

    private func functionFinished(_ result: Result<FunctionResult, any Error>, exchange id: UInt64) {
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

    private func functionTimedOut(_ id: UInt64) {
        guard id == exchange, case .invoking = phase, let request else { return }
        functionTask?.cancel()
        functionTask = nil
        shared.logger.error("function timed out", metadata: ["request_id": "\(request.requestId)", "target": "\(request.target)"])
        respond(.gatewayTimeout)
    }

    // MARK: upstreams

    private func startProxy(_ upstream: Upstream, timeout: Duration) {
        guard var request, let pool else { return }
        let target = pool.nextTarget(upstream)
        request.target = "upstream:\(upstream.name) \(target)"
        self.request = request
        upstreamConfig = upstream
        upstreamTarget = target
        phase = .proxying
        let head = HeaderRules.upstreamRequest(request, target: target)
        upstreamHead = head
        pendingToUpstream = [.head(head)]
        timeoutAmount = TimeAmount(timeout)
        lastUpstreamActivity = .now()
        scheduleUpstreamTimeout(timeoutAmount)
        continueIfExpected()
        if let handler = pool.checkout(target) {
            attach(handler, reused: true)
        } else {
            connect(target, upstream: upstream)
        }
    }

    private func connect(_ target: Upstream.Target, upstream: Upstream) {
        guard let context else { return }
        let id = exchange
        let tls = target.tls ? runtime?.upstreamTLS[upstream.name] : nil
        UpstreamConnector.connect(to: target, upstream: upstream, tls: tls, on: context.eventLoop)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard id == exchange, case .proxying = phase,
                          let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                        channel.close(promise: nil)
                        return
                    }
                    attach(handler, reused: false)
                case .failure(let error):
                    guard id == exchange, case .proxying = phase else { return }
                    shared.logger.warning("upstream connect failed", metadata: [
                        "request_id": "\(request?.requestId ?? "-")", "target": "\(target)", "error": "\(error)",
                    ])
                    failProxy(.badGateway)
                }
            }
    }

    private func attach(_ handler: UpstreamHandler, reused: Bool) {
        upstream = handler
        upstreamReused = reused
        handler.delegate = self
        for part in pendingToUpstream { handler.send(part) }
        pendingToUpstream.removeAll(keepingCapacity: true)
        handler.flush()
        if pendingRead && handler.isWritable {
            pendingRead = false
            context?.read()
        }
    }

    private func scheduleUpstreamTimeout(_ amount: TimeAmount) {
        guard let context else { return }
        let id = exchange
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: amount) { [self] in
            upstreamTimedOut(id)
        }
    }

    private func upstreamTimedOut(_ id: UInt64) {
        guard id == exchange, case .proxying = phase else { return }
        let quiet = NIODeadline.now() - lastUpstreamActivity
        if responseStarted && quiet < timeoutAmount {
            scheduleUpstreamTimeout(timeoutAmount - quiet)
            return
        }
        shared.logger.warning("upstream timed out", metadata: [
            "request_id": "\(request?.requestId ?? "-")", "target": "\(request?.target ?? "-")",
        ])
        if responseStarted {
            upstream?.close()
            upstream = nil
            abortDownstream()
        } else {
            failProxy(.gatewayTimeout)
        }
    }

    private func failProxy(_ error: GatewayError) {
        timeout?.cancel()
        timeout = nil
        upstream?.close()
        upstream = nil
        pendingToUpstream.removeAll()
        respond(error, close: !requestEnded)
    }

    /// Ends an exchange whose upstream finished its response.
    private func finishProxy() {
        timeout?.cancel()
        timeout = nil
        if let handler = upstream, let target = upstreamTarget, let config = upstreamConfig {
            handler.delegate = nil
            if upstreamKeepAlive && requestEnded {
                pool?.release(handler, target: target, maxIdle: config.maxIdlePerTarget)
            } else {
                handler.close()
            }
        }
        upstream = nil
        completeResponse(close: false)
    }

    // MARK: answering

    /// Writes a gateway-made response in the error contract's JSON shape.
    private func respond(_ error: GatewayError, close: Bool = false) {
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

    private func writeResponse(_ head: HTTPResponseHead, body: ByteBuffer, close: Bool = false) {
        guard let context, request != nil else { return }
        request!.status = Int(head.status.code)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if body.readableBytes > 0 && request!.head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        completeResponse(close: close)
    }

    /// Writes the response end, logs the request, and moves to the next request (or drops the rest
    /// of this one's body).
    private func completeResponse(close: Bool) {
        guard let context, let request else { return }
        let keepAlive = !close && (connection.isHTTP2 || request.head.isKeepAlive)
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
            if pendingRead {
                pendingRead = false
                context.read()
            }
        }
    }

    private func endExchange() {
        exchange &+= 1
        phase = .idle
        request = nil
        body = nil
        upstreamHead = nil
        pendingToUpstream.removeAll()
    }

    private func abortDownstream() {
        abandonExchange()
        context?.close(promise: nil)
    }

    /// Drops whatever is in flight: the client went away or the connection failed.
    private func abandonExchange() {
        timeout?.cancel()
        timeout = nil
        functionTask?.cancel()
        functionTask = nil
        upstream?.close()
        upstream = nil
        exchange &+= 1
        phase = .idle
        request = nil
        body = nil
        pendingToUpstream.removeAll()
    }
}

extension GatewayHandler: UpstreamDelegate {
    var downstreamIsWritable: Bool { context?.channel.isWritable ?? false }

    func upstreamResponse(_ part: HTTPClientResponsePart) {
        guard case .proxying = phase, let context, let request else { return }
        lastUpstreamActivity = .now()
        switch part {
        case .head(let head):
            if head.status.code < 200 && head.status.code != 101 { return }
            responseStarted = true
            upstreamKeepAlive = head.isKeepAlive
            self.request!.status = Int(head.status.code)
            context.write(wrapOutboundOut(.head(HeaderRules.downstreamResponse(head, request: request))), promise: nil)
        case .body(let bytes):
            context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        case .end:
            finishProxy()
        }
    }

    func upstreamReadComplete() {
        if case .proxying = phase { context?.flush() }
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable && pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    func upstreamClosed(error: (any Error)?) {
        guard case .proxying = phase else { return }
        upstream = nil
        if responseStarted {
            shared.logger.warning("upstream closed mid-response", metadata: ["request_id": "\(request?.requestId ?? "-")"])
            abortDownstream()
            return
        }
        // A pooled connection the server had already closed: retry once on a fresh one when nothing
        // of the body has gone out yet (requests without a body).
        if upstreamReused && !retried && requestHasNoBody, let head = upstreamHead,
           let target = upstreamTarget, let config = upstreamConfig {
            retried = true
            pendingToUpstream = [.head(head)]
            if requestEnded { pendingToUpstream.append(.end(nil)) }
            connect(target, upstream: config)
            return
        }
        shared.logger.warning("upstream failed", metadata: [
            "request_id": "\(request?.requestId ?? "-")", "error": "\(error.map { "\($0)" } ?? "connection closed")",
        ])
        failProxy(.badGateway)
    }

    private var requestHasNoBody: Bool {
        guard let head = request?.head else { return false }
        let length = head.headers.first(name: "content-length")
        return (length == nil || length == "0") && !head.headers.contains(name: "transfer-encoding")
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let c = duration.components
        self = .nanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
    }
}
