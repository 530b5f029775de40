import NIOCore

/// Sits between TLS and `NIOHTTP2Handler` (below the `FlushCoalescer`, so it reads what leaves a
/// flush at a time) on every HTTP/2 connection and closes the connection
/// when it must go (see `HTTP2AbuseMonitor`): right after a GOAWAY carrying an error is flushed,
/// or at once with its own GOAWAY(ENHANCE_YOUR_CALM) for a flood, a stalled header block or too
/// many malformed streams. From
/// then on nothing more the client sends reaches the HTTP/2 decoder, and the close begins within
/// `closeGrace` even when the client does not read (TLS then waits at most its shutdown timeout
/// for the client's close_notify: the connection is gone within a second). It hands the HTTP/2
/// decoder the connection's first read as a copy of its own (see `forwardedFirstRead`).
final class HTTP2ConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    static let closeGrace: TimeAmount = .milliseconds(500)
    static let enhanceYourCalm: UInt32 = 0xB

    private var inbound = HTTP2FrameScanner(skippingClientPreface: true)
    private var outbound = HTTP2FrameScanner(skippingClientPreface: false)
    private var monitor: HTTP2AbuseMonitor
    private var closing = false
    private var headerCheck: Scheduled<Void>?
    private var forcedClose: Scheduled<Void>?
    private var idleCheck: Scheduled<Void>?
    private var lastActivity = NIODeadline.now()
    /// NIOHTTP2's frame parser keeps the first buffer it is given (the one with the client's
    /// preface) for the connection's life and copies every later read into it. Given TLS's own
    /// plaintext buffer, that buffer would be shared, and TLS would copy it (32 KiB) at its next
    /// read and keep the copy: two such buffers per connection, 32 KiB more resident on every idle
    /// HTTP/2 connection (`bench/idle-connections.py --h2`: 77 KiB per connection, 45 with the copy).
    /// So the first read goes on as a copy of its own; later reads are copied by the parser anyway.
    private var forwardedFirstRead = false
    private let onClose: (@Sendable (String) -> Void)?

    /// - Parameter onClose: told why the guard closed the connection (for the log).
    init(limits: HTTP2AbuseMonitor.Limits, onClose: (@Sendable (String) -> Void)? = nil) {
        monitor = HTTP2AbuseMonitor(limits: limits)
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = context.eventLoop.now
        scheduleIdleCheck(context: context, at: lastActivity + .nanoseconds(monitor.limits.idleTimeout))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headerCheck?.cancel()
        forcedClose?.cancel()
        idleCheck?.cancel()
    }

    /// One re-arming timer (an `IdleStateHandler` would attach a promise to every write).
    private func scheduleIdleCheck(context: ChannelHandlerContext, at deadline: NIODeadline) {
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            let due = lastActivity + .nanoseconds(monitor.limits.idleTimeout)
            if context.eventLoop.now >= due {
                context.close(promise: nil)
            } else {
                scheduleIdleCheck(context: context, at: due)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closing { return }
        let bytes = unwrapInboundIn(data)
        lastActivity = context.eventLoop.now
        let now = lastActivity.uptimeNanoseconds
        var verdict = HTTP2AbuseMonitor.Verdict.fine
        bytes.withUnsafeReadableBytes { raw in
            inbound.scan(raw) { frame in
                if case .fine = verdict { verdict = monitor.received(frame, now: Int64(now)) }
            }
        }
        if case .abusive(let reason) = verdict {
            refuse(context: context, reason: reason)
            return
        }
        if monitor.headerBlockOpenedAt != nil { scheduleHeaderCheck(context: context) }
        if forwardedFirstRead {
            context.fireChannelRead(data)
        } else {
            forwardedFirstRead = true
            var copy = context.channel.allocator.buffer(capacity: bytes.readableBytes)
            copy.writeImmutableBuffer(bytes)
            context.fireChannelRead(wrapInboundOut(copy))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let payload = unwrapOutboundIn(data)
        guard case .byteBuffer(let bytes) = payload else {
            context.write(data, promise: promise)
            return
        }
        lastActivity = context.eventLoop.now
        let now = Int64(lastActivity.uptimeNanoseconds)
        var verdict = HTTP2AbuseMonitor.Verdict.fine
        bytes.withUnsafeReadableBytes { raw in
            outbound.scan(raw) { frame in
                if case .fine = verdict { verdict = monitor.sent(frame, now: now) }
            }
        }
        if case .abusive(let reason) = verdict {
            // The gateway's own frames (the reset that went over the limit) go out first.
            context.write(data, promise: promise)
            refuse(context: context, reason: reason)
            return
        }
        guard case .connectionError(let code) = verdict, !closing else {
            context.write(data, promise: promise)
            return
        }
        // NIOHTTP2 answered a connection error with this GOAWAY: the connection ends once it is out.
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        beginClosing(context: context, after: written.futureResult, reason: "HTTP/2 connection error \(code)")
    }

    /// Arms one timer for the open header block; when it fires early (a later block opened), it
    /// re-arms for that block's deadline.
    private func scheduleHeaderCheck(context: ChannelHandlerContext) {
        guard headerCheck == nil, !closing, let opened = monitor.headerBlockOpenedAt else { return }
        let now = Int64(context.eventLoop.now.uptimeNanoseconds)
        let delay = TimeAmount.nanoseconds(max(0, opened + monitor.limits.headerTimeout - now))
        headerCheck = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            headerCheck = nil
            if monitor.headerBlockExpired(now: Int64(context.eventLoop.now.uptimeNanoseconds)) {
                refuse(context: context, reason: "header block not completed within the header timeout")
            } else {
                scheduleHeaderCheck(context: context)
            }
        }
    }

    /// Sends GOAWAY(ENHANCE_YOUR_CALM) straight to the socket and closes once it is out.
    private func refuse(context: ChannelHandlerContext, reason: String) {
        guard !closing else { return }
        var frame = context.channel.allocator.buffer(capacity: 17)
        frame.writeBytes([0, 0, 8, HTTP2FrameScanner.Frame.goAway, 0, 0, 0, 0, 0])
        frame.writeInteger(monitor.lastClientStream)
        frame.writeInteger(Self.enhanceYourCalm)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(frame)), promise: written)
        beginClosing(context: context, after: written.futureResult, reason: reason)
    }

    private func beginClosing(context: ChannelHandlerContext, after written: EventLoopFuture<Void>, reason: String) {
        closing = true
        onClose?(reason)
        headerCheck?.cancel()
        written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        forcedClose = context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeGrace) {
            context.close(promise: nil)
        }
    }
}
