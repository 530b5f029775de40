import GatewayCore
import GatewayPlan
import NIOCore
import NIOHTTP1

/// One request's exchange with an upstream: it chooses the target, takes a pooled connection (or
/// opens one), streams the request and the response with backpressure both ways, owns the
/// upstream timeout, retries once on a fresh connection when a pooled one turns out closed
/// before anything of a body-less request went out, and gives the connection back to the pool
/// when both sides ended cleanly. It is the connection's delegate while it uses it; callbacks
/// after `cancel` are ignored.
final class UpstreamExchange: Dispatch, UpstreamDelegate {
    private let dispatcher: UpstreamDispatcher
    private let request: RequestContext
    private let id: UInt64
    private let loop: any EventLoop
    private let pool: UpstreamPool
    /// Held strongly while the exchange runs (the handler holds the exchange too); let go when it
    /// ends or is cancelled, which breaks the cycle.
    private var sink: (any DispatchSink)?

    private let target: Upstream.Target
    private let poolKey: String
    private var head: HTTPRequestHead?
    private var connection: UpstreamHandler?
    /// Parts waiting for the connection.
    private var pending: [HTTPClientRequestPart] = []
    private var reused = false
    private var retried = false
    private var requestEnded = false
    private var responseStarted = false
    private var keepAlive = false
    private var needsFlush = false
    private var done = false
    private var timer: Scheduled<Void>?
    private var lastActivity: NIODeadline

    init(dispatcher: UpstreamDispatcher, request: RequestContext, loop: any EventLoop, pool: UpstreamPool,
         sink: any DispatchSink) {
        self.dispatcher = dispatcher
        self.request = request
        self.id = request.id
        self.loop = loop
        self.pool = pool
        self.sink = sink
        let index = pool.nextTarget(dispatcher.upstream)
        self.target = dispatcher.upstream.targets[index]
        self.poolKey = dispatcher.poolKeys[index]
        self.lastActivity = loop.now
    }

    func start(_ body: DispatchBody) {
        request.target = .upstream(dispatcher.upstream.name, target)
        request.dispatchStart = loop.now
        let head = HeaderRules.upstreamRequest(request, target: target)
        self.head = head
        pending = [.head(head)]
        switch body {
        case .whole(let buffer):
            if let buffer, buffer.readableBytes > 0 { pending.append(.body(.byteBuffer(buffer))) }
            pending.append(.end(nil))
            requestEnded = true
        case .stream(let first, let ended):
            for part in first { pending.append(.body(.byteBuffer(part))) }
            if ended {
                pending.append(.end(nil))
                requestEnded = true
            }
        }
        scheduleTimeout(dispatcher.timeout)
        if let connection = pool.checkout(poolKey) {
            attach(connection, reused: true)
        } else {
            connect()
        }
    }

    private func connect() {
        UpstreamConnector.connect(to: target, upstream: dispatcher.upstream, tls: target.tls ? dispatcher.tls : nil, on: loop)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard !done, let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                        channel.close(promise: nil)
                        return
                    }
                    attach(handler, reused: false)
                case .failure(let error):
                    guard !done else { return }
                    fail(.badGateway, reason: "upstream connect to \(target) failed: \(error)")
                }
            }
    }

    private func attach(_ handler: UpstreamHandler, reused: Bool) {
        connection = handler
        self.reused = reused
        handler.delegate = self
        for part in pending { handler.send(part) }
        pending.removeAll(keepingCapacity: true)
        handler.flush()
        sink?.dispatch(id, writable: handler.isWritable)
    }

    // MARK: Dispatch

    func send(_ part: ByteBuffer) {
        guard !done else { return }
        lastActivity = loop.now
        if let connection {
            connection.send(.body(.byteBuffer(part)))
            needsFlush = true
        } else {
            pending.append(.body(.byteBuffer(part)))
        }
    }

    func end() {
        guard !done else { return }
        requestEnded = true
        if let connection {
            connection.send(.end(nil))
            connection.flush()
            needsFlush = false
        } else {
            pending.append(.end(nil))
        }
    }

    func flush() {
        guard needsFlush else { return }
        needsFlush = false
        connection?.flush()
    }

    var isWritable: Bool { connection?.isWritable ?? false }

    func downstreamWritable() {
        connection?.resumeReads()
    }

    func cancel() {
        guard !done else { return }
        done = true
        sink = nil
        timer?.cancel()
        timer = nil
        connection?.close()
        connection = nil
        pending.removeAll()
    }

    // MARK: timeouts

    private func scheduleTimeout(_ amount: TimeAmount) {
        timer = loop.assumeIsolated().scheduleTask(in: amount) { [self] in
            timer = nil
            timedOut()
        }
    }

    /// The upstream must answer within the timeout, and then go no longer than it between parts.
    private func timedOut() {
        guard !done else { return }
        let quiet = loop.now - lastActivity
        if responseStarted && quiet < dispatcher.timeout {
            scheduleTimeout(dispatcher.timeout - quiet)
            return
        }
        fail(.gatewayTimeout, reason: "upstream \(target) timed out")
    }

    private func fail(_ error: GatewayError, reason: String) {
        let sink = self.sink
        cancel()
        sink?.dispatch(id, failed: error, reason: reason)
    }

    // MARK: UpstreamDelegate

    var downstreamIsWritable: Bool { sink?.downstreamIsWritable ?? false }

    func upstreamResponse(_ part: HTTPClientResponsePart) {
        guard !done, let sink else { return }
        lastActivity = loop.now
        switch part {
        case .head(let head):
            if head.status.code < 200 && head.status.code != 101 { return }
            responseStarted = true
            keepAlive = head.isKeepAlive
            request.dispatchAnswered = lastActivity
            sink.dispatch(id, head: HeaderRules.downstreamResponse(head))
        case .body(let bytes):
            sink.dispatch(id, body: bytes)
        case .end:
            done = true
            timer?.cancel()
            timer = nil
            if let connection {
                connection.delegate = nil
                if keepAlive && requestEnded {
                    pool.release(connection, key: poolKey, maxIdle: dispatcher.upstream.maxIdlePerTarget)
                } else {
                    connection.close()
                }
            }
            connection = nil
            self.sink = nil
            sink.dispatchEnded(id)
        }
    }

    func upstreamReadComplete() {
        guard !done else { return }
        sink?.dispatchFlush(id)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        guard !done else { return }
        sink?.dispatch(id, writable: isWritable)
    }

    func upstreamClosed(error: (any Error)?) {
        guard !done else { return }
        connection = nil
        if responseStarted {
            fail(.badGateway, reason: "upstream \(target) closed mid-response")
            return
        }
        // A pooled connection the server had already closed: retry once on a fresh one when
        // nothing of a body went out (requests without a body).
        if reused && !retried && requestHasNoBody, let head {
            retried = true
            pending = [.head(head)]
            if requestEnded { pending.append(.end(nil)) }
            connect()
            return
        }
        fail(.badGateway, reason: "upstream \(target) failed: \(error.map { "\($0)" } ?? "connection closed")")
    }

    private var requestHasNoBody: Bool {
        let headers = request.head.headers
        let length = headers.first(name: "content-length")
        return (length == nil || length == "0") && !headers.contains(name: "transfer-encoding")
    }
}
