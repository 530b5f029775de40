import NIOCore
import NIOHTTP1

/// Receives an upstream connection's response and hands it to the exchange that currently owns the
/// connection. Holds the connection's reads while the client cannot take more (backpressure).
protocol UpstreamDelegate: AnyObject {
    var downstreamIsWritable: Bool { get }
    func upstreamResponse(_ part: UpstreamResponsePart)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    func upstreamClosed(error: (any Error)?)
    /// The deadline given to `watch` passed while this delegate held the connection.
    func upstreamDeadlinePassed()
}

/// The end of an upstream connection's pipeline: it parses the connection's bytes into response
/// parts itself (`UpstreamResponseParser`) and hands them to the exchange that owns the
/// connection, and writes the exchange's request through its encoder.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// The exchange using this connection. Reads held back for a previous exchange are released
    /// when it changes: a pooled connection must keep reading (to see the server close it) and a
    /// new exchange must see its response.
    ///
    /// Held strongly, and set to nil whenever the exchange stops using the connection: when it
    /// ends, fails, retries or is cancelled (it clears this or closes the connection, and `close`
    /// clears it), when the pool takes the connection back, and when the connection closes or
    /// fails (before the exchange hears of it). So the exchange and its connection never keep each
    /// other alive. (A weak reference gave every exchange a side table: an allocation per request,
    /// and the slow path for each of its retains and releases.)
    var delegate: (any UpstreamDelegate)? {
        didSet {
            deadline = nil
            if delegate?.downstreamIsWritable ?? true { resumeReads() }
        }
    }
    /// The current exchange's deadline. One timer watches it and is re-armed lazily: an exchange
    /// that ends in time only clears the deadline, so a kept-alive connection schedules about one
    /// timer per timeout period instead of scheduling and cancelling one per request.
    private var deadline: NIODeadline?
    private var clock: Scheduled<Void>?
    private var clockDeadline = NIODeadline.distantFuture
    private(set) var context: ChannelHandlerContext?
    private var pendingRead = false
    private(set) var isActive = true
    /// When the connection went idle in the pool.
    var idleSince: NIODeadline = .now()
    /// The upstream whose request opened it, and the loop's metrics that count it
    /// (`gateway_upstream_connections`); `pooled` while it waits in the pool.
    private let counts: LoopMetrics.ConnectionCounts?
    private var counted = false
    var pooled = false {
        didSet { if pooled != oldValue, counted, let counts { counts.idle += pooled ? 1 : -1 } }
    }

    /// Encodes the request parts `send` writes (nil: they go down the pipeline as parts).
    private let encoder: UpstreamRequestEncoder?
    private var parser = UpstreamResponseParser()
    /// The last response head's lines, for the parser to compare the next one's with.
    private let memo = ResponseHeadMemo()
    /// Bytes of a line not yet whole, kept for the next read (or a read that came while parts
    /// were handed on).
    private var unparsed: ByteBuffer?
    private var parsing = false

    /// - Parameters:
    ///   - counts: the loop's counter for the upstream that opens it (nil: not counted).
    ///   - encoder: the connection's request encoder, called directly (not a pipeline handler).
    init(counts: LoopMetrics.ConnectionCounts? = nil, encoder: UpstreamRequestEncoder? = nil) {
        self.counts = counts
        self.encoder = encoder
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.isActive = context.channel.isActive
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        clock?.cancel()
        clock = nil
    }

    /// Calls the delegate's `upstreamDeadlinePassed` once `deadline` has passed, unless the
    /// delegate changes or watches another deadline first. False when the connection is gone
    /// (nothing will be called).
    func watch(_ deadline: NIODeadline) -> Bool {
        guard let context else { return false }
        self.deadline = deadline
        if clock != nil {
            if clockDeadline <= deadline { return true }
            clock?.cancel()
        }
        clockDeadline = deadline
        clock = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            clock = nil
            clockDeadline = .distantFuture
            guard let deadline = self.deadline else { return }
            if (self.context?.eventLoop.now ?? .now()) >= deadline {
                self.deadline = nil
                delegate?.upstreamDeadlinePassed()
            } else {
                _ = watch(deadline)
            }
        }
        return true
    }

    /// Runs `body` on the parser moved out of the handler, then puts it back: no access to
    /// `parser` spans a call, so the compiler needs no run-time exclusivity check on it (four per
    /// response when `parser.next` was called in place, about 140 instructions each). Moved, not
    /// copied: its arrays stay uniquely referenced and are changed in place.
    private func withParser<R>(_ body: (inout UpstreamResponseParser) throws -> R) rethrows -> R {
        var moved = parser
        parser = UpstreamResponseParser()
        defer { parser = moved }
        return try body(&moved)
    }

    func channelActive(context: ChannelHandlerContext) {
        isActive = true
        if !counted, let counts {
            counted = true
            counts.open += 1
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var rest = unparsed {
            unparsed = nil
            rest.writeBuffer(&buffer)
            buffer = rest
        }
        // A read that arrives while parts are handed on (a TLS handler gives buffered bytes at
        // once when the exchange asks for a read) waits its turn: the loop below takes it next.
        if parsing {
            unparsed = buffer
            return
        }
        parsing = true
        defer { parsing = false }
        while true {
            do {
                // One part at a time, the parser left before the exchange hears of it: the
                // exchange may send the next request (`send(head:)` tells the parser) meanwhile.
                while let part = try withParser({ try $0.next(&buffer, memo: memo) }) {
                    delegate?.upstreamResponse(part)
                }
            } catch {
                unparsed = nil
                errorCaught(context: context, error: error)
                return
            }
            guard var more = unparsed else { break }
            unparsed = nil
            if buffer.readableBytes > 0 {
                buffer.writeBuffer(&more)
            } else {
                buffer = more
            }
        }
        if buffer.readableBytes > 0 { unparsed = buffer }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        do {
            // A body read until the close ends here.
            let unparsedBytes = unparsed?.readableBytes ?? 0
            if let part = try withParser({ try $0.endOfInput(unparsed: unparsedBytes) }) { delegate?.upstreamResponse(part) }
        } catch {
            let d = delegate
            delegate = nil
            d?.upstreamClosed(error: error)
        }
        unparsed = nil
        isActive = false
        if counted {
            if pooled { pooled = false }
            counted = false
            counts?.open -= 1
        }
        let d = delegate
        delegate = nil
        d?.upstreamClosed(error: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        isActive = false
        let d = delegate
        delegate = nil
        d?.upstreamClosed(error: error)
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let d = delegate, !d.downstreamIsWritable {
            pendingRead = true
        } else {
            context.read()
        }
    }

    /// Whether the connection may carry another request after the response being read
    /// (`UpstreamResponseParser.keepAlive`).
    var responseKeepsAlive: Bool { parser.keepAlive }

    /// Called when the client can take more data again.
    func resumeReads() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    /// A request head already written as bytes.
    func send(head: UpstreamRequestHead) {
        guard let context else { return }
        withParser { $0.requestSent(method: head.method) }
        if let encoder {
            encoder.write(head, context: context, promise: nil)
        } else {
            context.write(NIOAny(IOData.byteBuffer(head.bytes)), promise: nil)
        }
    }

    func send(_ part: HTTPClientRequestPart) {
        guard let context else { return }
        if case .head(let head) = part { withParser { $0.requestSent(method: head.method) } }
        if let encoder {
            encoder.write(part, context: context, promise: nil)
        } else {
            context.write(wrapOutboundOut(part), promise: nil)
        }
    }

    func flush() {
        context?.flush()
    }

    /// Flushes at the end of the loop's tick.
    func flush(with flusher: LoopFlusher) {
        if let context { flusher.flush(context) }
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func close() {
        delegate = nil
        context?.close(promise: nil)
    }
}
