import NIOCore
import NIOHTTP1

/// The upstream leg's response decoder: NIO's `HTTPResponseDecoder`, told of each request head
/// by `UpstreamRequestEncoder` (`requestSent`), which it needs to know that a response to HEAD has
/// no body.
///
/// NIO's decoder learns the heads by observing every outbound write: its `ByteToMessageHandler`
/// then sits on the outbound path too, and unwraps each request part with a dynamic cast and a
/// generic metadata lookup (about 1,700 instructions per write, two writes per request). Wrapped,
/// the decoder is inbound only and outbound parts skip its handler.
final class UpstreamResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    private let decoder: HTTPResponseDecoder

    init(leftOverBytesStrategy: RemoveAfterUpgradeStrategy = .dropBytes) {
        decoder = HTTPResponseDecoder(leftOverBytesStrategy: leftOverBytesStrategy)
    }

    /// A request head went out on this connection (in order): its response is matched to it.
    func requestSent(_ head: HTTPRequestHead) {
        decoder.write(data: .head(head))
    }

    /// A request with this method went out (a head written as bytes): the decoder keeps only
    /// its method, so one shared head stands for every method but HEAD and CONNECT.
    func requestSent(method: HTTPMethod) {
        switch method {
        case .HEAD, .CONNECT: decoder.write(data: .head(HTTPRequestHead(version: .http1_1, method: method, uri: "")))
        default: decoder.write(data: .head(Self.otherMethods))
        }
    }

    private static let otherMethods = HTTPRequestHead(version: .http1_1, method: .GET, uri: "")

    func decoderAdded(context: ChannelHandlerContext) {
        decoder.decoderAdded(context: context)
    }

    func decoderRemoved(context: ChannelHandlerContext) {
        decoder.decoderRemoved(context: context)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try decoder.decode(context: context, buffer: &buffer)
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }
}
