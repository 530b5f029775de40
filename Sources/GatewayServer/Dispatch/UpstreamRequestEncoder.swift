import NIOCore
import NIOHTTP1

/// The upstream leg's HTTP/1.1 request encoder. It frames a request exactly as NIO's
/// `HTTPRequestEncoder` does (Content-Length, else chunked for methods that carry a body; none for
/// TRACE), but writes the head into one buffer in one pass: the request line and every header
/// are copied as bytes into space reserved once, where NIO's encoder makes four `ByteBuffer`
/// writes per header (each with its own capacity, uniqueness and exclusivity checks).
///
/// It sits where NIO's encoder would, on the socket side of the response decoder, which keeps
/// seeing the outbound request parts (it learns from them that a response to HEAD has no body).
final class UpstreamRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    private var isChunked = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            isChunked = Self.frame(&head)
            var buffer = context.channel.allocator.buffer(capacity: 0)
            Self.write(head, into: &buffer)
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .body(let part):
            guard isChunked, part.readableBytes > 0 else {
                // An empty chunk would end a chunked body: it is written as nothing (its promise in order).
                context.write(wrapOutboundOut(part), promise: promise)
                return
            }
            var size = context.channel.allocator.buffer(capacity: 18)
            size.writeString(String(part.readableBytes, radix: 16))
            size.writeStaticString("\r\n")
            context.write(wrapOutboundOut(.byteBuffer(size)), promise: nil)
            context.write(wrapOutboundOut(part), promise: nil)
            var crlf = context.channel.allocator.buffer(capacity: 2)
            crlf.writeStaticString("\r\n")
            // Writes complete in order, and a failed one fails those after it: the last one's
            // promise stands for the three.
            context.write(wrapOutboundOut(.byteBuffer(crlf)), promise: promise)
        case .end(let trailers):
            if isChunked {
                var buffer = context.channel.allocator.buffer(capacity: 5)
                buffer.writeStaticString("0\r\n")
                if let trailers { Self.write(trailers, into: &buffer) } else { buffer.writeStaticString("\r\n") }
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
            } else if let promise {
                // Nothing to write, but the promise completes in order with the writes before it.
                context.write(wrapOutboundOut(.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise)
            }
        }
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

    /// `METHOD SP target SP HTTP/x.y CRLF`, the fields and the empty line, in one write.
    static func write(_ head: HTTPRequestHead, into buffer: inout ByteBuffer) {
        let method = head.method.rawValue
        var size = method.utf8.count + head.uri.utf8.count + 13
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        size += 2
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = HeadWriter(raw)
            out.put(method)
            out.put(UInt8(ascii: " "))
            out.put(head.uri)
            out.put(" HTTP/")
            out.put(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: head.version.major))
            out.put(UInt8(ascii: "."))
            out.put(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: head.version.minor))
            out.put("\r\n")
            for (name, value) in head.headers {
                out.put(name)
                out.put(": ")
                out.put(value)
                out.put("\r\n")
            }
            out.put("\r\n")
            return out.count
        }
    }

    /// Trailer fields and the empty line that ends them.
    static func write(_ fields: HTTPHeaders, into buffer: inout ByteBuffer) {
        var size = 2
        for (name, value) in fields { size += name.utf8.count + value.utf8.count + 4 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = HeadWriter(raw)
            for (name, value) in fields {
                out.put(name)
                out.put(": ")
                out.put(value)
                out.put("\r\n")
            }
            out.put("\r\n")
            return out.count
        }
    }
}

/// Copies bytes into reserved space (the caller sized it).
private struct HeadWriter {
    let base: UnsafeMutableRawBufferPointer
    var count = 0

    init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    mutating func put(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    mutating func put(_ text: StaticString) {
        let bytes = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        UnsafeMutableRawBufferPointer(rebasing: base[count...]).copyMemory(from: bytes)
        count += bytes.count
    }

    mutating func put(_ text: String) {
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes in
            UnsafeMutableRawBufferPointer(rebasing: base[count...]).copyMemory(from: UnsafeRawBufferPointer(bytes))
            return bytes.count
        }
        if let copied {
            count += copied
        } else {
            for byte in text.utf8 { put(byte) }
        }
    }
}
