import NIOCore
import NIOHPACK
import NIOHTTP2

/// On an HTTP/2 stream, between the HTTP/1 codec and the connection: response fields whose value
/// differs on every response — the request id, the RateLimit state, a traceparent — are sent
/// without being added to HPACK's dynamic table (RFC 7541 §6.2.2). Indexed, each such field took
/// the place of an entry that later responses could have reused, and kept the table full: NIOHPACK's
/// encoder scans the dynamic table linearly for every field of every response, so a full table of
/// single-use entries cost about 30,000 instructions per response (`bench/callgrind http2`).
final class ResponseHeaderIndexing: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .headers(var payload) = unwrapOutboundIn(data),
              payload.headers.contains(where: { $0.indexable == .indexable && Self.isSingleUse($0.name) }) else {
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
