import GatewayCore
import NIOCore
import NIOHTTP1

/// Answers malformed HTTP/1.1 (a parser error, or a head over `limits.maxHeaderBytes`) with the
/// error contract's 400 — JSON `{"message":"Bad Request"}` with a request id — then lets the
/// connection close. Only when no other response has started on the connection.
final class ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseInFlight = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !responseInFlight {
            let body = ByteBuffer(bytes: GatewayError.badRequest.body.serialized())
            let headers = HTTPHeaders([
                ("content-type", "application/json"), ("content-length", String(body.readableBytes)),
                ("x-request-id", RequestID.make(clientValue: nil)), ("connection", "close"),
            ])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            responseInFlight = true
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200 || head.status == .switchingProtocols:
            responseInFlight = true
        case .end:
            responseInFlight = false
        default:
            break
        }
        context.write(data, promise: promise)
    }
}
