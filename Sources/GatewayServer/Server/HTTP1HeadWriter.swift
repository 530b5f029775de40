import NIOCore
import NIOHTTP1

/// Copies an HTTP/1.1 head's bytes into space its caller reserved once (`size(of:)` and friends
/// give the sizes): the encoders write a head with one `ByteBuffer` call, where NIO's make four per
/// header field, each checking capacity, uniqueness and exclusivity.
///
/// Nothing is written past the space: a write that does not fit sets `overflowed` and the writer
/// writes no more (a caller that reserved a guess tries again with more; one that reserved the
/// exact size checks that it did not happen).
struct HTTP1HeadWriter {
    let base: UnsafeMutableRawBufferPointer
    private(set) var count = 0
    private(set) var overflowed = false

    init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    /// The bytes of `fields` as written by `put(fields:)`, the empty line that ends them included.
    static func size(of fields: HTTPHeaders) -> Int {
        var size = 2
        for (name, value) in fields { size += name.utf8.count + value.utf8.count + 4 }
        return size
    }

    static func versionSize(_ version: HTTPVersion) -> Int {
        if version.major == 1 && version.minor == 1 { return 8 }
        return 5 + String(version.major).utf8.count + 1 + String(version.minor).utf8.count
    }

    /// The end of a chunked body: `0`, the trailer fields and the empty line.
    static func write(trailers: HTTPHeaders?, into buffer: inout ByteBuffer) {
        guard let trailers else {
            buffer.writeStaticString("0\r\n\r\n")
            return
        }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 3 + size(of: trailers)) { raw in
            var out = HTTP1HeadWriter(raw)
            out.put("0\r\n")
            out.put(fields: trailers)
            precondition(!out.overflowed, "HTTP/1 head larger than the space reserved for it")
            return out.count
        }
    }

    /// A body part: as it is, or as one chunk (size line, bytes, CRLF) of a chunked body. An
    /// empty part would end a chunked body: it is written as nothing (its promise in order).
    static func writeBody(_ part: IOData, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard chunked, part.readableBytes > 0 else {
            context.write(NIOAny(part), promise: promise)
            return
        }
        var size = context.channel.allocator.buffer(capacity: 18)
        size.writeString(String(part.readableBytes, radix: 16))
        size.writeStaticString("\r\n")
        context.write(NIOAny(IOData.byteBuffer(size)), promise: nil)
        context.write(NIOAny(part), promise: nil)
        var crlf = context.channel.allocator.buffer(capacity: 2)
        crlf.writeStaticString("\r\n")
        // Writes complete in order, and a failed one fails those after it: the last one's promise
        // stands for the three.
        context.write(NIOAny(IOData.byteBuffer(crlf)), promise: promise)
    }

    /// A message's end: the last chunk and trailers of a chunked body, else nothing (an empty write
    /// when there is a promise, so that it completes in order).
    static func writeEnd(_ trailers: HTTPHeaders?, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if chunked {
            var buffer = context.channel.allocator.buffer(capacity: 5)
            write(trailers: trailers, into: &buffer)
            context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
        } else if let promise {
            context.write(NIOAny(IOData.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise)
        }
    }

    /// Whether `n` more bytes fit; if not, the writer has overflowed.
    @inline(__always)
    private mutating func fits(_ n: Int) -> Bool {
        guard !overflowed, count + n <= base.count else {
            overflowed = true
            return false
        }
        return true
    }

    @inline(__always)
    mutating func put(_ byte: UInt8) {
        guard fits(1) else { return }
        base[count] = byte
        count += 1
    }

    /// Inlined: a literal's length is then a constant, and its copy a move of that many bytes
    /// rather than a call to `memcpy`.
    @inline(__always)
    mutating func put(_ text: StaticString) {
        guard fits(text.utf8CodeUnitCount) else { return }
        (base.baseAddress! + count).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    /// `n` bytes that `body` writes into the space (nothing when they do not fit).
    @inline(__always)
    mutating func put(count n: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        guard fits(n) else { return }
        body(UnsafeMutableBufferPointer(start: (base.baseAddress! + count).bindMemory(to: UInt8.self, capacity: n), count: n))
        count += n
    }

    /// (Labelled: unlabelled, a string literal would take this overload, not the `StaticString`
    /// one, and go through a `String` at 60 instructions more per call.)
    mutating func put(string text: String) {
        // The bytes are copied without slicing `base` (a closure capturing `self` and a rebased
        // slice cost more than the copy).
        guard fits(text.utf8.count) else { return }
        let destination = base.baseAddress! + count
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes -> Int in
            if let source = bytes.baseAddress { destination.copyMemory(from: source, byteCount: bytes.count) }
            return bytes.count
        }
        if let copied {
            count += copied
        } else {
            for byte in text.utf8 { put(byte) }
        }
    }

    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard fits(bytes.count) else { return }
        if let source = bytes.baseAddress { (base.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
    }

    /// The digits of `value` in decimal.
    static func decimalSize(_ value: UInt) -> Int {
        var digits = 1, rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        return digits
    }

    /// `value` in decimal (a status code, a RateLimit number: no String made for it). The digits
    /// are made once, from the last, into a word-sized scratch space, then copied (counting them
    /// first divided by ten twice as often).
    mutating func put(decimal value: UInt) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt.max has 20 digits
        let n = withUnsafeMutableBytes(of: &scratch) { raw -> Int in
            var rest = value, i = raw.count
            repeat {
                i -= 1
                raw[i] = UInt8(truncatingIfNeeded: 48 + rest % 10)
                rest /= 10
            } while rest > 0
            let n = raw.count - i
            guard fits(n) else { return 0 }
            (base.baseAddress! + count).copyMemory(from: raw.baseAddress! + i, byteCount: n)
            return n
        }
        count += n
    }

    /// `HTTP/x.y SP code SP reason CRLF`, as `put(statusLine:code:reason:)` writes it.
    static func statusLineSize(_ version: HTTPVersion, code: UInt, reason: String) -> Int {
        versionSize(version) + 1 + decimalSize(code) + 1 + reason.utf8.count + 2
    }

    /// A response's status line (`reason`: the status's `reasonPhrase`, asked once by the caller).
    mutating func put(statusLine version: HTTPVersion, code: UInt, reason: String) {
        put(version: version)
        put(UInt8(ascii: " "))
        put(decimal: code)
        put(UInt8(ascii: " "))
        put(string: reason)
        put("\r\n")
    }

    /// `HTTP/1.1`.
    mutating func put(version: HTTPVersion) {
        if version.major == 1 && version.minor == 1 {
            put("HTTP/1.1")
        } else {
            put("HTTP/")
            put(string: String(version.major))
            put(UInt8(ascii: "."))
            put(string: String(version.minor))
        }
    }

    /// `name: value` lines and the empty line that ends them.
    mutating func put(fields: HTTPHeaders) {
        for (name, value) in fields {
            put(string: name)
            put(": ")
            put(string: value)
            put("\r\n")
        }
        put("\r\n")
    }
}
