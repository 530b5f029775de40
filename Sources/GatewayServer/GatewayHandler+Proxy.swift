import GatewayCore
import GatewayPlan
import NIOCore
import NIOHTTP1

/// Upstream dispatch: the request streams to a pooled keep-alive connection on the same event
/// loop, and the response streams back, with backpressure both ways.
extension GatewayHandler {
    func startProxy(_ upstream: Upstream, timeout: Duration) {
        guard request != nil, let pool else { return }
        let target = pool.nextTarget(upstream)
        request!.target = .upstream(upstream.name, target)
        upstreamConfig = upstream
        upstreamTarget = target
        phase = .proxying
        let head = HeaderRules.upstreamRequest(request!, target: target)
        upstreamHead = head
        pendingToUpstream = [.head(head)]
        for part in held { pendingToUpstream.append(.body(.byteBuffer(part))) }
        held.removeAll()
        if requestEnded { pendingToUpstream.append(.end(nil)) }
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

    func connect(_ target: Upstream.Target, upstream: Upstream) {
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

    func attach(_ handler: UpstreamHandler, reused: Bool) {
        upstream = handler
        upstreamReused = reused
        handler.delegate = self
        for part in pendingToUpstream { handler.send(part) }
        pendingToUpstream.removeAll(keepingCapacity: true)
        handler.flush()
        if pendingRead && handler.isWritable { resumeReading() }
    }

    func scheduleUpstreamTimeout(_ amount: TimeAmount) {
        guard let context else { return }
        let id = exchange
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: amount) { [self] in
            upstreamTimedOut(id)
        }
    }

    func upstreamTimedOut(_ id: UInt64) {
        guard id == exchange, case .proxying = phase else { return }
        let quiet = NIODeadline.now() - lastUpstreamActivity
        if responseStarted && quiet < timeoutAmount {
            scheduleUpstreamTimeout(timeoutAmount - quiet)
            return
        }
        shared.logger.warning("upstream timed out", metadata: [
            "request_id": "\(request?.requestId ?? "-")", "target": "\(request?.target.description ?? "-")",
        ])
        if responseStarted {
            upstream?.close()
            upstream = nil
            abortDownstream()
        } else {
            failProxy(.gatewayTimeout)
        }
    }

    func failProxy(_ error: GatewayError) {
        timeout?.cancel()
        timeout = nil
        upstream?.close()
        upstream = nil
        pendingToUpstream.removeAll()
        respond(error, close: !requestEnded)
    }

    /// Ends an exchange whose upstream finished its response.
    func finishProxy() {
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
            responseOpen = true
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
        if isWritable && pendingRead { resumeReading() }
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

