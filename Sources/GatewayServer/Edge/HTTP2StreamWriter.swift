import NIOCore
import NIOHPACK
import NIOHTTP2

/// Shapes the frames of a stream's response, between the stream's HTTP/1 codec and the connection:
///
/// - Response fields whose value differs on every response — the request id, the RateLimit state,
///   a traceparent — are sent without being added to HPACK's dynamic table (RFC 7541 §6.2.2).
///   Indexed, each such field took the place of an entry later responses could have reused, and
///   kept the table full: NIOHPACK's encoder scans the dynamic table linearly for every field of
///   every response, so a table of single-use entries cost about 30,000 instructions per response
///   (`bench/callgrind http2`).
/// - The last DATA frame carries END_STREAM. The codec writes a response's end as an empty DATA
///   frame of its own; a DATA frame is held until the next write or flush, and when that next
///   write is the empty END_STREAM frame the two go as one (nginx and HAProxy send it so too).
final class HTTP2StreamWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var held: (frame: HTTP2Frame.FramePayload.Data, promise: EventLoopPromise<Void>?)?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .data(let frame):
            if frame.endStream, frame.data.readableBytes == 0, var last = held {
                held = nil
                last.frame.endStream = true
                if let heldPromise = last.promise, let promise { heldPromise.futureResult.cascade(to: promise) }
                context.write(wrapOutboundOut(.data(last.frame)), promise: last.promise ?? promise)
                return
            }
            writeHeld(context: context)
            if frame.endStream {
                context.write(data, promise: promise)
            } else {
                held = (frame, promise)
            }
        case .headers(var payload):
            writeHeld(context: context)
            guard payload.headers.contains(where: { $0.indexable == .indexable && Self.isSingleUse($0.name) }) else {
                context.write(data, promise: promise)
                return
            }
            var headers = HPACKHeaders()
            headers.reserveCapacity(payload.headers.count)
            for (name, value, indexing) in payload.headers {
                headers.add(name: name, value: value, indexing: indexing == .indexable && Self.isSingleUse(name) ? .nonIndexable : indexing)
            }
            payload.headers = headers
            context.write(wrapOutboundOut(.headers(payload)), promise: promise)
        default:
            writeHeld(context: context)
            context.write(data, promise: promise)
        }
    }

    func flush(context: ChannelHandlerContext) {
        writeHeld(context: context)
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        writeHeld(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Nothing may be written any more: a held frame's writer learns it was not sent.
        held?.promise?.fail(ChannelError.ioOnClosedChannel)
        held = nil
    }

    private func writeHeld(context: ChannelHandlerContext) {
        guard let last = held else { return }
        held = nil
        context.write(wrapOutboundOut(.data(last.frame)), promise: last.promise)
    }

    /// A field whose value is made for one response.
    static func isSingleUse(_ name: String) -> Bool {
        switch name.utf8.count {
        case 9: HeaderRules.equalsLower(name, "ratelimit")
        case 11: HeaderRules.equalsLower(name, "traceparent")
        case 12: HeaderRules.equalsLower(name, "x-request-id")
        default: false
        }
    }
}
