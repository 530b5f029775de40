import NIOCore
import NIOHTTP1

/// The upstream leg's HTTP/1.1 request encoder. It frames a request exactly as NIO's
/// `HTTPRequestEncoder` does (Content-Length, else chunked for methods that carry a body; none for
/// TRACE), but writes the head into one buffer in one pass: the request line and every header
/// are copied as bytes into space reserved once, where NIO's encoder makes four `ByteBuffer`
/// writes per header (each with its own capacity, uniqueness and exclusivity checks).
///
/// On an upstream connection it is not a handler in the pipeline: `UpstreamHandler` hands it each
/// request part (and tells its response parser of each head), which saves a pipeline step and a
/// dynamic cast of the part per write. As a handler it encodes the parts written through it.
final class UpstreamRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    private var isChunked = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        write(unwrapOutboundIn(data), context: context, promise: promise)
    }

    /// Encodes `part` and writes its bytes from `context` (the encoder's own, or that of the
    /// handler that calls it directly).
    func write(_ part: HTTPClientRequestPart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch part {
        case .head(var head):
            isChunked = Self.frame(&head)
            let buffer = Self.encode(head, allocator: context.channel.allocator)
            context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
        case .body(let part):
            HTTP1HeadWriter.writeBody(part, chunked: isChunked, context: context, promise: promise)
        case .end(let trailers):
            HTTP1HeadWriter.writeEnd(trailers, chunked: isChunked, context: context, promise: promise)
        }
    }

    /// A head already written as bytes (`HeaderRules.upstreamRequestHead`, framed there): sent as
    /// it is, and the body parts after it framed as it says.
    func write(_ head: UpstreamRequestHead, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        isChunked = head.chunked
        context.write(NIOAny(IOData.byteBuffer(head.bytes)), promise: promise)
    }

    /// NIO's framing rules for requests (`correctlyFrameTransportHeaders`): TRACE carries no body;
    /// POST, PUT and PATCH are framed by Content-Length, else chunked; other methods keep what they
    /// have (Content-Length, or a chunked Transfer-Encoding). True when the body is chunked.
    static func frame(_ head: inout HTTPRequestHead) -> Bool {
        let http11 = head.version.major == 1 && head.version.minor >= 1
        switch head.method {
        case .TRACE:
            head.headers.remove(name: "content-length")
            head.headers.remove(name: "transfer-encoding")
            return false
        case .POST, .PUT, .PATCH:
            if head.headers.contains(name: "content-length") {
                head.headers.remove(name: "transfer-encoding")
                return false
            }
            guard http11 else { return false }
            head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            return true
        default:
            var contentLength = false, transferEncoding: String?
            for (name, value) in head.headers {
                if HeaderRules.equalsLower(name, "content-length") { contentLength = true }
                if transferEncoding == nil, HeaderRules.equalsLower(name, "transfer-encoding") { transferEncoding = value }
            }
            if contentLength {
                if transferEncoding != nil { head.headers.remove(name: "transfer-encoding") }
                return false
            }
            return http11 && transferEncoding == "chunked"
        }
    }

    /// `METHOD SP target SP HTTP/x.y CRLF`, the fields and the empty line, in one buffer
    /// allocated at its size.
    static func encode(_ head: HTTPRequestHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        let method = head.method.rawValue
        let size = method.utf8.count + head.uri.utf8.count + HTTP1HeadWriter.versionSize(head.version) + 4
            + HTTP1HeadWriter.size(of: head.headers)
        var buffer = allocator.buffer(capacity: size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = HTTP1HeadWriter(raw)
            out.put(string: method)
            out.put(UInt8(ascii: " "))
            out.put(string: head.uri)
            out.put(UInt8(ascii: " "))
            out.put(version: head.version)
            out.put("\r\n")
            out.put(fields: head.headers)
            precondition(!out.overflowed, "HTTP/1 head larger than the space reserved for it")
            return out.count
        }
        return buffer
    }
}
