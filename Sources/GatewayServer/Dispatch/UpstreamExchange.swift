import GatewayCore
import GatewayPlan
import GatewayResilience
import NIOCore
import NIOHTTP1

/// One request's exchange with an upstream: it chooses the target, takes a pooled connection (or
/// opens one), streams the request and the response with backpressure both ways, owns the
/// upstream timeout, retries once on a fresh connection when a pooled one turns out closed
/// before anything of a body-less request went out, and gives the connection back to the pool
/// when both sides ended cleanly. It is the connection's delegate while it uses it; callbacks
/// after `cancel` are ignored.
///
/// With an `UpstreamGuard` (the upstream configures resilience) it also: chooses among healthy,
/// not ejected targets (another one on each retry), reports every attempt's outcome, retries
/// failed attempts under the policy and the budget after a jittered backoff, and keeps to the
/// circuit limits (over them: 503 at once).
final class UpstreamExchange: Dispatch, UpstreamDelegate {
    private let dispatcher: UpstreamDispatcher
    private let request: RequestContext
    private let id: UInt64
    private let loop: any EventLoop
    private let pool: UpstreamPool
    /// The loop's spare head buffers: the head is written into one and given back when the
    /// exchange is over.
    private let headBuffers: HeadBuffers
    private let flusher: LoopFlusher
    private let upstreamGuard: UpstreamGuard?
    /// Held strongly while the exchange runs (the handler holds the exchange too); let go when it
    /// ends or is cancelled, which breaks the cycle.
    private var sink: (any DispatchSink)?

    private var targetIndex: Int
    private var target: Upstream.Target
    private var poolKey: PoolKey
    /// The request head, written as bytes once per attempt (`HeaderRules.upstreamRequestHead`);
    /// each connection the attempt attaches gets it first.
    private var head: UpstreamRequestHead?
    private var connection: UpstreamHandler?
    /// Body parts (and the end) waiting for the connection, after the head.
    private var pending: [HTTPClientRequestPart] = []
    /// A part of the request's body came (to send, or sent): a retry could not send it again.
    private var bodySeen = false
    /// The whole request body (empty for a request without one), kept to send again on a retry;
    /// nil when the body is streamed (then only a connection that never opened may be retried).
    private var replay: [ByteBuffer]?
    private var reused = false
    private var retried = false
    private var requestEnded = false
    private var responseStarted = false
    private var keepAlive = false
    private var needsFlush = false
    private var done = false
    /// The upstream timeout's timer while no connection is attached (connecting, waiting for one,
    /// backing off); an attached connection watches `timeoutAt` itself (`UpstreamHandler.watch`).
    private var timer: Scheduled<Void>?
    private var timeoutAt: NIODeadline?
    /// The exchange itself while it runs: a connection holds its delegate only while attached,
    /// and a shadow copy's exchange has no other owner (its starter drops the `Dispatch`). Let go
    /// when it ends or is cancelled.
    private var running: UpstreamExchange?
    private var lastActivity: NIODeadline

    // With a guard: what this request holds and has tried.
    /// Counts attempts, so that a connection that opens for an attempt given up is not used.
    private var attempt = 0
    private var tried: UInt64 = 0
    private var holdsTarget = false
    private var holdsRequest = false
    private var waitsForConnection = false
    private var wait: Scheduled<Void>?

    static let overflow = GatewayError(status: 503, message: "Service Unavailable", headers: [("retry-after", "1")])

    init(dispatcher: UpstreamDispatcher, request: RequestContext, loop: any EventLoop, pool: UpstreamPool,
         headBuffers: HeadBuffers, flusher: LoopFlusher, sink: any DispatchSink) {
        self.dispatcher = dispatcher
        self.request = request
        self.id = request.id
        self.loop = loop
        self.pool = pool
        self.headBuffers = headBuffers
        self.flusher = flusher
        self.sink = sink
        self.upstreamGuard = dispatcher.upstreamGuard
        self.lastActivity = loop.now
        let index: Int
        if let upstreamGuard {
            index = upstreamGuard.choose(tried: 0, now: lastActivity)
            holdsTarget = true
        } else {
            index = pool.nextTarget(dispatcher.upstream)
        }
        self.targetIndex = index
        self.target = dispatcher.upstream.targets[index]
        self.poolKey = dispatcher.poolKeys[index]
    }

    func start(_ body: DispatchBody) {
        running = self
        request.target = .upstream(dispatcher.upstream.name, target)
        request.dispatchStart = lastActivity  // read from the loop's clock at init, just before
        head = HeaderRules.upstreamRequestHead(request, target: target, buffers: headBuffers)
        pending = []
        switch body {
        case .whole(let buffer):
            if let buffer, buffer.readableBytes > 0 {
                pending.append(.body(.byteBuffer(buffer)))
                bodySeen = true
            }
            pending.append(.end(nil))
            requestEnded = true
        case .stream(let first, let ended):
            for part in first { pending.append(.body(.byteBuffer(part))) }
            if !first.isEmpty { bodySeen = true }
            if ended {
                pending.append(.end(nil))
                requestEnded = true
            }
        }
        if let upstreamGuard {
            if let limits = upstreamGuard.limits {
                guard limits.startRequest() else {
                    refuse("upstream \(dispatcher.upstream.name): \(limits.config.maxRequests) requests in flight (limits.maxRequests)")
                    return
                }
                holdsRequest = true
            }
            upstreamGuard.requestStarted(now: lastActivity)
            if upstreamGuard.config.retries != nil {
                if case .whole(let buffer) = body {
                    replay = buffer.map { [$0] } ?? []
                } else if case .stream(let first, true) = body {
                    replay = first
                } else if requestHasNoBody {
                    replay = []
                }
            }
        }
        obtainConnection()
        if !done { arm(at: lastActivity + dispatcher.timeout) }
    }

    /// Answers 503 from the loop (not from inside `start`, which the handler is still in).
    private func refuse(_ reason: String) {
        loop.assumeIsolated().execute { [self] in fail(Self.overflow, reason: reason) }
    }

    /// A pooled connection, or a new one — within `limits.maxConnections`, waiting (at most
    /// `maxPending` requests) for one to come free.
    private func obtainConnection(fresh: Bool = false) {
        if !fresh, let connection = pool.checkout(poolKey) {
            stopWaiting()
            attach(connection, reused: true)
            return
        }
        guard let limits = upstreamGuard?.limits else {
            connect()
            return
        }
        if limits.openConnection() {
            stopWaiting()
            connect()
            return
        }
        if !waitsForConnection {
            guard limits.startWaiting() else {
                fail(Self.overflow, reason: "upstream \(dispatcher.upstream.name): \(limits.config.maxPending) requests wait for a connection (limits.maxPending)")
                return
            }
            waitsForConnection = true
        }
        wait = loop.assumeIsolated().scheduleTask(in: .milliseconds(5)) { [self] in
            wait = nil
            guard !done else { return }
            obtainConnection(fresh: fresh)
        }
    }

    private func stopWaiting() {
        guard waitsForConnection else { return }
        waitsForConnection = false
        upstreamGuard?.limits?.endWaiting()
    }

    private func connect() {
        let limits = upstreamGuard?.limits
        let attempt = self.attempt
        UpstreamConnector.connect(to: target, upstream: dispatcher.upstream, tls: target.tls ? dispatcher.tls : nil, on: loop,
                                  metrics: pool.metrics)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    if let limits { channel.closeFuture.whenComplete { _ in limits.connectionClosed() } }
                    guard !done, attempt == self.attempt,
                          let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                        channel.close(promise: nil)
                        return
                    }
                    attach(handler, reused: false)
                case .failure(let error):
                    limits?.connectionClosed()
                    guard !done, attempt == self.attempt else { return }
                    attemptFailed(.connectFailure, reason: "upstream connect to \(target) failed: \(error)")
                }
            }
    }

    private func attach(_ handler: UpstreamHandler, reused: Bool) {
        connection = handler
        self.reused = reused
        handler.delegate = self
        if let timeoutAt { arm(at: timeoutAt) }
        if let head { handler.send(head: head) }
        for part in pending { handler.send(part) }
        pending.removeAll(keepingCapacity: true)
        if sink?.flushesAfterThisRead == true {
            needsFlush = true
        } else {
            handler.flush()
        }
        sink?.dispatch(id, writable: handler.isWritable)
    }

    // MARK: failed attempts and retries

    /// An attempt failed before anything of the answer went to the client: tried again when the
    /// policy and the budget allow, else the request fails (502, or 504 for a timeout).
    private func attemptFailed(_ failure: RetryPolicy.Failure, reason: String) {
        connection?.close()
        connection = nil
        timer?.cancel()
        timer = nil
        guard let upstreamGuard else {
            fail(failure == .timeout ? .gatewayTimeout : .badGateway, reason: reason)
            return
        }
        upstreamGuard.record(targetIndex, success: false, reason: reason, now: loop.now)
        if mayRetry(failure) {
            retry(after: reason)
            return
        }
        fail(failure == .timeout ? .gatewayTimeout : .badGateway, reason: reason)
    }

    private func mayRetry(_ failure: RetryPolicy.Failure) -> Bool {
        guard let upstreamGuard, let retries = upstreamGuard.config.retries, !request.isShadow else { return false }
        return RetryPolicy.mayRetry(failure, method: request.head.method.rawValue, attempt: request.retries + 1,
                                    bodyStreamed: replay == nil, config: retries)
            && upstreamGuard.tryRetry(now: loop.now)
    }

    /// The next attempt, on another target when there is one, after the backoff.
    private func retry(after reason: String) {
        guard let upstreamGuard, let retries = upstreamGuard.config.retries else { return }
        releaseTarget()
        tried |= 1 << UInt64(min(targetIndex, 63))
        attempt += 1
        request.retries += 1
        let pause = RetryPolicy.backoff(retries.backoff, attempt: request.retries, random: Double.random(in: 0..<1))
        timeoutAt = nil  // the next attempt gets its own timeout
        timer = loop.assumeIsolated().scheduleTask(in: TimeAmount(pause)) { [self] in
            timer = nil
            guard !done else { return }
            targetIndex = upstreamGuard.choose(tried: tried, now: loop.now)
            holdsTarget = true
            target = dispatcher.upstream.targets[targetIndex]
            poolKey = dispatcher.poolKeys[targetIndex]
            request.target = .upstream(dispatcher.upstream.name, target)
            head = HeaderRules.upstreamRequestHead(request, target: target, buffers: headBuffers)
            if let replay {
                pending = []
                for part in replay where part.readableBytes > 0 { pending.append(.body(.byteBuffer(part))) }
                if requestEnded { pending.append(.end(nil)) }
            }
            // Else a streamed body whose connection never opened: its parts are all still here.
            responseStarted = false
            keepAlive = false
            retried = false
            obtainConnection()
            if !done { arm(at: loop.now + dispatcher.timeout) }
        }
    }

    private func releaseTarget() {
        guard holdsTarget else { return }
        holdsTarget = false
        upstreamGuard?.finished(targetIndex)
    }

    // MARK: Dispatch

    func send(_ part: ByteBuffer) {
        guard !done else { return }
        bodySeen = true
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
            if sink?.flushesAfterThisRead == true {
                needsFlush = true
            } else {
                connection.flush()
                needsFlush = false
            }
        } else {
            pending.append(.end(nil))
        }
    }

    /// The request parts written during the client's read go at the end of the loop's tick,
    /// with the other connections' (`LoopFlusher`).
    func flush() {
        guard needsFlush else { return }
        needsFlush = false
        connection?.flush(with: flusher)
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
        // What was written goes out before the close, as it would have without the loop's
        // end-of-tick flush (a client that closes right after its request has it sent).
        connection?.flush()
        connection?.close()
        connection = nil
        pending.removeAll()
        releaseSlots()
        recycleHead()
        running = nil
    }

    /// The exchange is over: its head's buffer goes back to the loop's spares (taken again only
    /// once the connection's write of it is done).
    private func recycleHead() {
        guard let head else { return }
        self.head = nil
        headBuffers.giveBack(head.bytes)
    }

    /// What the request holds of the guard's counts: its target's in-flight slot, its request
    /// slot and its place among those waiting for a connection.
    private func releaseSlots() {
        guard upstreamGuard != nil else { return }
        releaseTarget()
        stopWaiting()
        wait?.cancel()
        wait = nil
        if holdsRequest {
            holdsRequest = false
            upstreamGuard?.limits?.endRequest()
        }
    }

    // MARK: timeouts

    /// The upstream timeout at `deadline`: watched by the attached connection, else by a timer.
    private func arm(at deadline: NIODeadline) {
        timeoutAt = deadline
        timer?.cancel()
        timer = nil
        if let connection, connection.watch(deadline) { return }
        timer = loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timedOut()
        }
    }

    /// The upstream must answer within the timeout, and then go no longer than it between parts.
    private func timedOut() {
        guard !done else { return }
        let quiet = loop.now - lastActivity
        if responseStarted && quiet < dispatcher.timeout {
            arm(at: lastActivity + dispatcher.timeout)
            return
        }
        if responseStarted {
            fail(.gatewayTimeout, reason: "upstream \(target) timed out")
        } else {
            attemptFailed(.timeout, reason: "upstream \(target) timed out")
        }
    }

    private func fail(_ error: GatewayError, reason: String) {
        let sink = self.sink
        cancel()
        sink?.dispatch(id, failed: error, reason: reason)
    }

    // MARK: UpstreamDelegate

    var downstreamIsWritable: Bool { sink?.downstreamIsWritable ?? false }

    func upstreamResponse(_ part: UpstreamResponsePart) {
        guard !done, let sink else { return }
        // The end needs no time: no timeout follows it.
        if case .end = part {} else { lastActivity = loop.now }
        switch part {
        case .head(let head):
            if head.status.code < 200 && head.status.code != 101 { return }
            if let upstreamGuard {
                let code = Int(head.status.code)
                upstreamGuard.record(targetIndex, success: code < 500, reason: "status \(code)", now: lastActivity)
                if code >= 500, mayRetry(.status(code)) {
                    // This answer is dropped (its connection with it) and the request tried again.
                    connection?.delegate = nil
                    connection?.close()
                    connection = nil
                    timer?.cancel()
                    timer = nil
                    retry(after: "status \(code)")
                    return
                }
            }
            responseStarted = true
            // The parser's verdict (asking the head would look at every field again).
            keepAlive = connection?.responseKeepsAlive ?? false
            request.dispatchAnswered = lastActivity
            // Without hop-by-hop fields already (`UpstreamResponseParser`).
            sink.dispatch(id, forwarded: head)
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
            releaseSlots()
            recycleHead()
            running = nil
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

    func upstreamDeadlinePassed() {
        timedOut()
    }

    func upstreamClosed(error: (any Error)?) {
        guard !done else { return }
        connection = nil
        // The closed connection no longer watches the timeout.
        if let timeoutAt { arm(at: timeoutAt) }
        if responseStarted {
            fail(.badGateway, reason: "upstream \(target) closed mid-response")
            return
        }
        // A pooled connection the server had already closed: retry once on a fresh one when
        // nothing of a body came yet (so none went out: a request without a body, or one whose
        // body is still to come, as an HTTP/2 request whose END_STREAM follows its HEADERS).
        if reused && !retried && !bodySeen, head != nil {
            retried = true
            pending = requestEnded ? [.end(nil)] : []
            obtainConnection(fresh: true)
            return
        }
        attemptFailed(.reset, reason: "upstream \(target) failed: \(error.map { "\($0)" } ?? "connection closed")")
    }

    private var requestHasNoBody: Bool {
        let headers = request.head.headers
        let length = headers.first(name: "content-length")
        return (length == nil || length == "0") && !headers.contains(name: "transfer-encoding")
    }
}
