import NIOCore
import NIOHTTP1

/// The client leg's HTTP/1.1 response encoder. It frames a response as NIO's `HTTPResponseEncoder`
/// does when `configureHTTPServerPipeline` pairs it with the request decoder, and writes the head
/// in one pass (`HTTP1HeadWriter`):
///
/// - a response to HEAD keeps the framing headers an equivalent GET would have, but carries no
///   body (body parts fail with `BodyNotAllowed` and nothing of them is written); a response to
///   CONNECT carries neither framing headers nor a body;
/// - 1xx, 204 and 304 responses carry no framing headers (RFC 9110 §6.4.1);
/// - otherwise Content-Length frames the body, else an HTTP/1.1 response is chunked.
///
/// `GatewayHandler` records the method of every request head it reads (`record`), in order, as
/// NIO's decoder does for its encoder; a non-final 1xx answer does not consume one.
///
/// A small body framed by Content-Length (at most `mergedBodyLimit` bytes) goes out in the same
/// buffer as the head: the head is held, with room for the body, until the body's last byte is
/// copied in (or anything else is written), and the two are one write of one buffer instead of two.
///
/// An upstream's head reaches it as bytes (`write(forwarded:…)`): its fields are copied as they
/// are, the gateway's own and the chunked framing written after them, when framing removes none of
/// them (`canWrite(forwarded:)`); else the head comes as `HTTPResponseHead`, decorated.
///
/// On a client connection it is not a handler in the pipeline: `GatewayHandler` hands it each
/// response part (`write(_:context:promise:)`), which saves a pipeline step and a dynamic cast of
/// the part per write. As a handler it encodes the parts written through it.
final class HTTP1ResponseEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = IOData

    struct BodyNotAllowed: Error {}

    /// The largest body copied into its head's buffer.
    static let mergedBodyLimit = 4096
    /// The framing field of a body without Content-Length, after a forwarded head's fields.
    static let chunkedField: StaticString = "transfer-encoding: chunked\r\n"

    private var isChunked = false
    private var suppressBody = false
    /// A head not yet written, waiting for the `bodyLeft` bytes of its body to be copied in; the
    /// promise of the head and of every part copied in (chained).
    private var held: ByteBuffer?
    private var heldPromise: EventLoopPromise<Void>?
    private var bodyLeft = 0
    /// Methods of the requests still awaiting their response's head: the first inline (the usual
    /// case, one at a time), pipelined ones after it.
    private var nextMethod: HTTPMethod?
    private var laterMethods: [HTTPMethod] = []
    /// The event loop's spare head buffers (set by the connection's handler): a forwarded head is
    /// written into one, and every head's buffer is given back once written.
    var headBuffers: HeadBuffers?

    func record(_ method: HTTPMethod) {
        if nextMethod == nil { nextMethod = method } else { laterMethods.append(method) }
    }

    private func takeMethod() -> HTTPMethod? {
        let method = nextMethod
        nextMethod = laterMethods.isEmpty ? nil : laterMethods.removeFirst()
        return method
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        write(unwrapOutboundIn(data), context: context, promise: promise)
    }

    /// Encodes `part` and writes its bytes from `context` (the encoder's own, or that of the
    /// handler that calls it directly).
    func write(_ part: HTTPServerResponsePart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch part {
        case .head(var head):
            let connect = begin(status: head.status.code, context: context)
            let framing = Self.frame(&head, hasBody: !connect && head.status.mayHaveResponseBody)
            isChunked = suppressBody ? false : framing.chunked
            let length = suppressBody ? nil : framing.contentLength
            let extra = Self.merges(length) ? length! : 0
            let buffer = Self.encode(head, fieldsSize: framing.fieldsSize, extraCapacity: extra, allocator: context.channel.allocator)
            emit(buffer, bodyLength: extra, context: context, promise: promise)
        case .body(let part):
            if suppressBody {
                promise?.fail(BodyNotAllowed())
            } else if var head = held, case .byteBuffer(var bytes) = part, bytes.readableBytes <= bodyLeft {
                bodyLeft -= bytes.readableBytes
                // Taken out, appended to, put back: no access to `held` spans a call, so the
                // compiler needs no run-time exclusivity check on it (nor on its other uses).
                held = nil
                head.writeBuffer(&bytes)
                held = head
                if let promise {
                    if let heldPromise { heldPromise.futureResult.cascade(to: promise) } else { heldPromise = promise }
                }
                if bodyLeft == 0 { writeHeld(context: context) }
            } else {
                writeHeld(context: context)
                HTTP1HeadWriter.writeBody(part, chunked: isChunked, context: context, promise: promise)
            }
        case .end(let trailers):
            suppressBody = false
            writeHeld(context: context)
            HTTP1HeadWriter.writeEnd(trailers, chunked: isChunked, context: context, promise: promise)
        }
    }

    /// Whether `write(forwarded:…)` can write `head` as it is: framing changes none of its fields
    /// (a response to CONNECT has none, and one without a body no Content-Length).
    func canWrite(forwarded head: UpstreamResponseHead) -> Bool {
        nextMethod != .CONNECT && (head.contentLength == nil || head.status.mayHaveResponseBody)
    }

    /// Writes an upstream's final response head from its field bytes (`canWrite(forwarded:)` said
    /// it can), with the status line in the client's `version`, then the `appended` fields, and
    /// `Transfer-Encoding: chunked` when no Content-Length frames an HTTP/1.1 body (the upstream's
    /// own framing fields went with the hop-by-hop ones). The same framing as `frame`, with no
    /// field removed.
    func write(forwarded head: UpstreamResponseHead, version: HTTPVersion, appending appended: ResponseDecorator.Appended,
               context: ChannelHandlerContext) {
        _ = begin(status: head.status.code, context: context)
        let hasBody = head.status.mayHaveResponseBody
        let chunked = hasBody && head.contentLength == nil && version.major == 1 && version.minor >= 1
        isChunked = suppressBody ? false : chunked
        let length = suppressBody || !hasBody ? nil : head.contentLength
        let extra = Self.merges(length) ? length! : 0
        let code = head.status.code, reason = head.status.reasonPhrase
        let size = HTTP1HeadWriter.statusLineSize(version, code: code, reason: reason) + head.fields.readableBytes + appended.size
            + (chunked ? Self.chunkedField.utf8CodeUnitCount : 0) + 2
        var buffer = headBuffers?.take(size + extra, allocator: context.channel.allocator)
            ?? context.channel.allocator.buffer(capacity: size + extra)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = HTTP1HeadWriter(raw)
            out.put(statusLine: version, code: code, reason: reason)
            head.fields.withUnsafeReadableBytes { out.put($0.bindMemory(to: UInt8.self)) }
            appended.put(into: &out)
            if chunked { out.put(Self.chunkedField) }
            out.put("\r\n")
            precondition(!out.overflowed, "HTTP/1 head larger than the space reserved for it")
            return out.count
        }
        emit(buffer, bodyLength: extra, context: context, promise: nil)
    }

    /// A head begins: the method of the request it answers decides whether a body follows (a
    /// non-final 1xx answer takes none). Returns whether it answers CONNECT.
    private func begin(status code: UInt, context: ChannelHandlerContext) -> Bool {
        var connect = false
        if !((100..<200).contains(code) && code != 101), let method = takeMethod() {
            switch method {
            case .HEAD: suppressBody = true
            case .CONNECT: suppressBody = true; connect = true
            default: suppressBody = false
            }
        }
        writeHeld(context: context)
        return connect
    }

    /// Whether a body of this Content-Length is copied into its head's buffer.
    private static func merges(_ length: Int?) -> Bool {
        length.map { $0 > 0 && $0 <= mergedBodyLimit } ?? false
    }

    /// A head's bytes: held for the `bodyLength` bytes of its body, or written now.
    private func emit(_ buffer: ByteBuffer, bodyLength: Int, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if bodyLength > 0 {
            held = buffer
            heldPromise = promise
            bodyLeft = bodyLength
        } else {
            context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
            headBuffers?.giveBack(buffer)
        }
    }

    /// Writes the held head (and what of its body was copied in).
    private func writeHeld(context: ChannelHandlerContext) {
        guard let buffer = held else { return }
        held = nil
        let promise = heldPromise
        heldPromise = nil
        context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
        headBuffers?.giveBack(buffer)
    }

    /// A head held for its body is written now, so that the flush that follows sends it (the
    /// connection's owner calls this before it flushes or closes while a response is under way).
    func writePending(context: ChannelHandlerContext) {
        writeHeld(context: context)
    }

    func flush(context: ChannelHandlerContext) {
        writeHeld(context: context)
        context.flush()
    }

    /// NIO's framing rules for responses: without a body, no Content-Length or Transfer-Encoding;
    /// with one, Content-Length (a Transfer-Encoding beside it is dropped), else chunked for
    /// HTTP/1.1. Returns whether the body is chunked; the size of the fields as written
    /// (`HTTP1HeadWriter.size(of:)`), measured in the same pass, when framing changed none; and the
    /// body's length when one Content-Length of decimal digits frames it.
    static func frame(_ head: inout HTTPResponseHead, hasBody: Bool) -> (chunked: Bool, fieldsSize: Int?, contentLength: Int?) {
        var contentLength = false, transferEncoding = false
        var length: Int?
        var size = 2
        for (name, value) in head.headers {
            size += name.utf8.count + value.utf8.count + 4
            switch name.utf8.count {
            case 14 where HeaderRules.equalsLower(name, "content-length"):
                length = contentLength ? nil : HeaderRules.contentLength(value)
                contentLength = true
            case 17 where HeaderRules.equalsLower(name, "transfer-encoding"): transferEncoding = true
            default: break
            }
        }
        guard hasBody else {
            if contentLength { head.headers.remove(name: "content-length") }
            if transferEncoding { head.headers.remove(name: "transfer-encoding") }
            return (false, contentLength || transferEncoding ? nil : size, nil)
        }
        if contentLength {
            if transferEncoding { head.headers.remove(name: "transfer-encoding") }
            return (false, transferEncoding ? nil : size, length)
        }
        guard head.version.major == 1 && head.version.minor >= 1 else { return (false, size, nil) }
        head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
        return (true, nil, nil)
    }

    /// `HTTP/x.y SP code SP reason CRLF`, the fields and the empty line, in one buffer allocated
    /// at its size (growing an empty one would allocate twice), with `extraCapacity` bytes more.
    static func encode(_ head: HTTPResponseHead, fieldsSize: Int? = nil, extraCapacity: Int = 0,
                       allocator: ByteBufferAllocator) -> ByteBuffer {
        let code = head.status.code, reason = head.status.reasonPhrase
        let size = HTTP1HeadWriter.statusLineSize(head.version, code: code, reason: reason)
            + (fieldsSize ?? HTTP1HeadWriter.size(of: head.headers))
        var buffer = allocator.buffer(capacity: size + extraCapacity)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = HTTP1HeadWriter(raw)
            out.put(statusLine: head.version, code: code, reason: reason)
            out.put(fields: head.headers)
            precondition(!out.overflowed, "HTTP/1 head larger than the space reserved for it")
            return out.count
        }
        return buffer
    }
}
