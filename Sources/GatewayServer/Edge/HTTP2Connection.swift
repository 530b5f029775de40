import NIOCore
import NIOHTTP2

/// The last handler of an HTTP/2 connection, after NIOHTTP2's: it keeps the connection's streams
/// (`HTTP2StreamCodec`, one per request, each with its `GatewayHandler`) and hands each its
/// frames and events, in place of NIOHTTP2's stream multiplexer and a child channel per stream.
///
/// - A HEADERS frame of a stream it does not know opens one (NIOHTTP2 has checked that the
///   stream may open: its ID, the concurrent-stream limit); other frames go to their stream, and
///   frames of the connection itself (SETTINGS, PING, GOAWAY) end here, NIOHTTP2 has answered them.
/// - A stream's end (`StreamClosedEvent`) or the connection's removes the stream.
/// - Flow control: the connection's inbound window is given back as NIOHTTP2 reports it taken
///   (half the target or less: a WINDOW_UPDATE to the target, as NIOHTTP2's multiplexer did);
///   each stream's by the stream, for what its handler took (`HTTP2InboundWindow`). As NIOHTTP2's
///   frame delegate it sees each DATA frame leave its flow-control buffer, for the stream's
///   writability (`HTTP2StreamCodec.sent`).
/// - At the end of each of the connection's reads, every stream that was handed frames in it
///   ends its read (its handler flushes what it sent its upstream, and asks for the next read).
/// - Draining (`ChannelShouldQuiesceEvent`, the gateway stops): GOAWAY with the highest stream ID
///   at once — NIOHTTP2 refuses streams the client opens after it (REFUSED_STREAM, which the
///   client may retry), the open ones go on; once none is left, GOAWAY with the last stream the
///   connection took, and the connection closes when that is written, after the last answer's
///   bytes (NIOHTTP2 ends a stream as its last frame leaves its flow-control buffer).
final class HTTP2Connection: ChannelInboundHandler, NIOHTTP2FrameDelegate {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// The windows and watermarks of NIOHTTP2's configuration.
    struct Windows {
        var connection: Int
        var stream: Int
        var highWatermark: Int
        var lowWatermark: Int

        init(_ connection: NIOHTTP2Handler.ConnectionConfiguration = .init(),
             _ stream: NIOHTTP2Handler.StreamConfiguration = .init()) {
            self.connection = connection.targetWindowSize
            self.stream = stream.targetWindowSize
            // A stream's window is counted from its target (`HTTP2InboundWindow`): the window the
            // client starts each stream with (SETTINGS_INITIAL_WINDOW_SIZE, 65,535 unless the
            // gateway advertises another) must be the same.
            assert(connection.initialSettings.last(where: { $0.parameter == .initialWindowSize })?.value ?? 65_535
                       == stream.targetWindowSize, "the advertised initial window differs from the stream's target")
            self.highWatermark = stream.outboundBufferSizeHighWatermark
            self.lowWatermark = stream.outboundBufferSizeLowWatermark
        }
    }

    private let windows: Windows
    /// Makes a new stream's handler; nil (tests): the stream's parts go down the pipeline.
    private let makeReceiver: (HTTP2StreamCodec) -> GatewayHandler?
    /// The connection's HPACK indexing choices, shared by its streams.
    private let fieldIndexing: HTTP2FieldIndexing?
    private var streams: [HTTP2StreamID: HTTP2StreamCodec] = [:]
    /// The streams handed frames in the current read.
    private var readers: [HTTP2StreamCodec] = []
    private var inRead = false
    /// A WINDOW_UPDATE was written in a read: flushed when the read ends.
    private var flushAfterRead = false
    private var context: ChannelHandlerContext?
    /// The highest stream the connection opened (for the drain's last GOAWAY).
    private var lastOpened: HTTP2StreamID = .rootStream
    private var draining = false
    /// The drain's last GOAWAY is on its way: the connection closes once it is written.
    private var finishing = false

    init(windows: Windows = Windows(), fieldIndexing: HTTP2FieldIndexing? = nil,
         makeReceiver: @escaping (HTTP2StreamCodec) -> GatewayHandler? = { _ in nil }) {
        self.windows = windows
        self.fieldIndexing = fieldIndexing
        self.makeReceiver = makeReceiver
    }

    /// The open stream with this ID (tests).
    func stream(_ id: HTTP2StreamID) -> HTTP2StreamCodec? { streams[id] }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAll()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        inRead = true
        if let stream = streams[frame.streamID] {
            stream.received(frame.payload)
            return
        }
        guard case .headers = frame.payload, frame.streamID != .rootStream else { return }
        let stream = HTTP2StreamCodec(streamID: frame.streamID, connection: self, window: windows.stream,
                                      highWatermark: windows.highWatermark, lowWatermark: windows.lowWatermark)
        stream.fieldIndexing = fieldIndexing
        stream.receiver = makeReceiver(stream)
        streams[frame.streamID] = stream
        lastOpened = frame.streamID
        stream.opened(context: context)
        stream.received(frame.payload)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inRead = false
        if !readers.isEmpty {
            // No stream is listed while this runs: outside a read, a stream ends its read at once.
            for index in readers.indices {
                let stream = readers[index]
                stream.listed = false
                stream.readComplete()
            }
            readers.removeAll(keepingCapacity: true)
        }
        if flushAfterRead {
            flushAfterRead = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Told apart by their type's identity: a failed `as?` cast costs about 300 instructions,
        // and each request brings three of NIOHTTP2's events.
        let type = ObjectIdentifier(Swift.type(of: event))
        if type == Self.streamClosed, let closed = event as? StreamClosedEvent {
            streams.removeValue(forKey: closed.streamID)?.streamClosed()
            if draining { finishDrainIfIdle(context: context) }
        } else if type == Self.shouldQuiesce {
            drain(context: context)
        } else if type == Self.windowUpdated, let window = event as? NIOHTTP2WindowUpdatedEvent {
            if window.streamID == .rootStream, let size = window.inboundWindowSize, size <= windows.connection / 2 {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream,
                                                         payload: .windowUpdate(windowSizeIncrement: windows.connection - size))),
                              promise: nil)
                flushSoon()
            }
        } else if type != Self.streamCreated && type != Self.bulkWindowChange {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private static let streamClosed = ObjectIdentifier(StreamClosedEvent.self)
    private static let windowUpdated = ObjectIdentifier(NIOHTTP2WindowUpdatedEvent.self)
    private static let streamCreated = ObjectIdentifier(NIOHTTP2StreamCreatedEvent.self)
    private static let bulkWindowChange = ObjectIdentifier(NIOHTTP2BulkStreamWindowChangeEvent.self)
    private static let shouldQuiesce = ObjectIdentifier(ChannelShouldQuiesceEvent.self)

    // MARK: draining

    private func drain(context: ChannelHandlerContext) {
        guard !draining else { return }
        draining = true
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream,
                                                         payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))),
                              promise: nil)
        finishDrainIfIdle(context: context)
    }

    /// No stream left: the last GOAWAY, then the close once it is written. From the loop, not
    /// from inside NIOHTTP2's write of a stream's last frame (which ends the stream).
    private func finishDrainIfIdle(context: ChannelHandlerContext) {
        guard streams.isEmpty, !finishing else { return }
        finishing = true
        context.eventLoop.assumeIsolated().execute { [self] in
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream,
                                                             payload: .goAway(lastStreamID: lastOpened, errorCode: .noError, opaqueData: nil))),
                                  promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// A stream error on a frame written for a stream (NIOHTTP2 sends no RST_STREAM for those)
    /// goes to its stream; anything else on down the pipeline.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError, let stream = streams[streamError.streamID] {
            stream.failed(streamError.baseError)
            return
        }
        context.fireErrorCaught(error)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        for stream in streams.values { stream.writabilityChanged() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: the streams' calls

    /// `stream` was handed frames: its read ends with the connection's, or now outside one.
    func readThisCycle(_ stream: HTTP2StreamCodec) {
        if inRead {
            guard !stream.listed else { return }
            stream.listed = true
            readers.append(stream)
        } else {
            stream.readComplete()
        }
    }

    /// Flushes a frame a stream wrote for the connection (a WINDOW_UPDATE): at the read's end
    /// within one, else now.
    func flushSoon() {
        if inRead {
            flushAfterRead = true
        } else {
            context?.flush()
        }
    }

    // MARK: NIOHTTP2FrameDelegate

    /// A frame left NIOHTTP2 for the connection: a DATA frame no longer counts against its
    /// stream's writability (one that ends its stream never counted: after it, nothing is
    /// written).
    func wroteFrame(_ frame: HTTP2Frame) {
        guard case .data(let data) = frame.payload, !data.endStream else { return }
        streams[frame.streamID]?.sent(data.data.readableBytes)
    }

    private func closeAll() {
        guard !streams.isEmpty else { return }
        let open = streams.values
        streams.removeAll()
        for stream in open { stream.streamClosed() }
    }
}
