#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1

/// The client leg's HTTP/1.x request decoder: the common request heads are parsed here, and a
/// connection whose request is anything else is handed, from that request on, to NIO's
/// `HTTPRequestDecoder` (llhttp), whose strictness the edge rules rely on.
///
/// What is parsed here is a subset of what llhttp accepts, and yields the same parts NIO's decoder
/// yields for it (a test feeds both the same requests and compares them):
/// - a request line `METHOD SP origin-form SP HTTP/1.1` (or `HTTP/1.0`), single spaces, with one of
///   GET, HEAD, POST, PUT, DELETE, OPTIONS and PATCH, and a target of visible ASCII that starts
///   with `/`;
/// - fields `token ":" OWS value`, the value of visible ASCII, spaces and tabs, not ending in a
///   space or tab; every line ends in CRLF;
/// - no Transfer-Encoding and no Upgrade; at most one Content-Length, of 1 to 18 digits: its body
///   is handed on as it arrives, then the end; without one the request has no body;
/// - at most `maxFields` fields and `maxHeadBytes` bytes in all.
///
/// Anything else — a chunked body, an upgrade, another method or target form, a bare LF, a folded
/// line, a control or non-ASCII byte, a space before a colon, limits exceeded, a malformed line —
/// goes to NIO's decoder with the request's first byte, and the connection stays with it: NIO
/// accepts it or refuses it exactly as it did before this decoder existed. What this saves is
/// llhttp's state machine and its callback per field and part (about 4,000 instructions per
/// request, `bench/callgrind pass-through`).
final class HTTP1RequestDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPServerRequestPart

    private enum State {
        case head
        case body(left: Int)
        /// NIO's decoder has the connection.
        case nio(HTTPRequestDecoder)
    }

    private var state = State.head
    private let maxHeadBytes: Int
    private let maxFields: Int
    /// Where the whole lines of an incomplete head that were looked at end (none of them is the
    /// empty line, so its end is searched for from there), and how many of them were fields.
    private var checkedLines = 0
    private var checkedFields = 0
    /// The last head's field lines and target, and what they were parsed into.
    private let memo = HeadFieldMemo()

    /// The handler right after this decoder's in the pipeline, called directly with each part
    /// this decoder parses (NIO's decoder fires its parts down the pipeline, which reaches the
    /// same handler). Nil: parts are fired down the pipeline (the tests read them there).
    ///
    /// The direct call skips a pipeline step, and the wrapping of each part in a `NIOAny` and its
    /// dynamic cast out of it: about 1,400 instructions per request (bench/callgrind).
    var receiver: GatewayHandler?

    /// Whether NIO's decoder has taken the connection over (for tests).
    var handedToNIO: Bool {
        if case .nio = state { return true }
        return false
    }

    init(maxHeadBytes: Int, maxFields: Int) {
        self.maxHeadBytes = maxHeadBytes
        self.maxFields = maxFields
    }

    /// NIO's request decoder with the same limits: over `maxHeadBytes` bytes of header names and
    /// values, or over `maxFields` fields, is an error (GatewayHandler's 431).
    static func nioDecoder(maxHeadBytes: Int, maxFields: Int) -> HTTPRequestDecoder {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = maxHeadBytes
        limits.maxHeaderFieldSize = maxHeadBytes
        limits.maxHeaderFieldCount = maxFields
        return HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: limits)
    }

    /// Hands the connection to NIO's decoder, made now: most connections never need it, and an
    /// idle connection that holds one holds about 1.1 KB more (its llhttp parser and buffers).
    private func handToNIO(context: ChannelHandlerContext) -> HTTPRequestDecoder {
        let nio = Self.nioDecoder(maxHeadBytes: maxHeadBytes, maxFields: maxFields)
        nio.decoderAdded(context: context)
        state = .nio(nio)
        return nio
    }

    func decoderAdded(context: ChannelHandlerContext) {}

    func decoderRemoved(context: ChannelHandlerContext) {
        receiver = nil
        if case .nio(let nio) = state { nio.decoderRemoved(context: context) }
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch state {
        case .nio(let nio):
            return try nio.decode(context: context, buffer: &buffer)
        case .body(let left):
            guard buffer.readableBytes > 0 else { return .needMoreData }
            let n = min(left, buffer.readableBytes)
            let part = buffer.readSlice(length: n)!
            // The state is set before each part goes on: a handler may read again synchronously.
            if n == left {
                state = .head
                GatewayHandler.deliver(.body(part), to: receiver, from: context)
                GatewayHandler.deliver(.end(nil), to: receiver, from: context)
            } else {
                state = .body(left: left - n)
                GatewayHandler.deliver(.body(part), to: receiver, from: context)
            }
            return .continue
        case .head:
            guard buffer.readableBytes > 0 else { return .needMoreData }
            switch parse(buffer) {
            case .incomplete:
                return .needMoreData
            case .other:
                return try handToNIO(context: context).decode(context: context, buffer: &buffer)
            case .request(let head, let length, let size, let digest):
                buffer.moveReaderIndex(forwardBy: size)
                if length > 0 {
                    state = .body(left: length)
                    GatewayHandler.deliver(.head(head), digest: digest, to: receiver, from: context)
                } else {
                    GatewayHandler.deliver(.head(head), digest: digest, to: receiver, from: context)
                    GatewayHandler.deliver(.end(nil), to: receiver, from: context)
                }
                return .continue
            }
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        switch state {
        case .nio(let nio):
            return try nio.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
        case .body:
            if buffer.readableBytes > 0 {
                _ = try decode(context: context, buffer: &buffer)
                if case .body = state {} else { return .continue }
            }
            // The connection ended inside a body: the error llhttp reports for it.
            throw HTTPParserError.invalidEOFState
        case .head:
            guard buffer.readableBytes > 0 else { return .needMoreData }
            // Part of a head: NIO's decoder says what it is.
            return try handToNIO(context: context).decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
        }
    }

    // MARK: the head

    enum Parsed {
        /// No whole head yet.
        case incomplete
        /// Not in this decoder's subset: NIO's decoder takes it.
        case other
        /// With the head's digest (`HeadDigest`), made here: for fields taken over from the memo
        /// it is the memo's.
        case request(HTTPRequestHead, bodyLength: Int, size: Int, digest: HeadDigest)
    }

    private func parse(_ buffer: ByteBuffer) -> Parsed {
        let maxHeadBytes = maxHeadBytes, maxFields = maxFields, memo = memo
        var checked = checkedLines, fields = checkedFields
        let parsed = buffer.withUnsafeReadableBytes { raw -> Parsed in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let end = Self.headEnd(bytes, from: checked) else {
                if bytes.count > maxHeadBytes { return .other }
                // The lines that came must be this decoder's; if not, NIO's decoder says what is
                // wrong with them now, not when the head ends. Each line is looked at once.
                guard let next = Self.linesSoFar(bytes, from: checked, fields: &fields, maxFields: maxFields) else { return .other }
                checked = next
                return .incomplete
            }
            guard end <= maxHeadBytes else { return .other }
            return Self.head(UnsafeBufferPointer(rebasing: bytes[0..<end]), maxFields: maxFields, memo: memo)
        }
        if case .incomplete = parsed {
            checkedLines = checked
            checkedFields = fields
        } else {
            checkedLines = 0
            checkedFields = 0
        }
        return parsed
    }

    /// The index after the CRLF CRLF that ends the head, searching from `from`; nil when there is
    /// none yet. (A bare LF is found too, and the head is then not this decoder's.)
    private static func headEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var i = from
        while i < bytes.count, let found = memchr(base + i, 0x0A, bytes.count - i) {
            let lf = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            // The line this LF ends is empty (CRLF, or a bare LF, after an LF or at the start).
            if lf == 0 || bytes[lf - 1] == 0x0A { return lf + 1 }
            if bytes[lf - 1] == 0x0D && (lf == 1 || bytes[lf - 2] == 0x0A) { return lf + 1 }
            i = lf + 1
        }
        return nil
    }

    /// The request line `head[0..<end]`: its method, target and minor version; nil when it is not
    /// one of this decoder's.
    private static func requestLine(_ head: UnsafeBufferPointer<UInt8>, end: Int) -> (HTTPMethod, Range<Int>, Int)? {
        guard let (method, methodEnd) = method(head) else { return nil }
        var i = methodEnd + 1
        let targetStart = i
        guard i < end, head[i] == UInt8(ascii: "/") else { return nil }
        while i < end && head[i] > 0x20 && head[i] < 0x7F { i += 1 }
        let targetEnd = i
        guard end - i == 9, head[i] == 0x20, head[i + 1] == UInt8(ascii: "H"), head[i + 2] == UInt8(ascii: "T"),
              head[i + 3] == UInt8(ascii: "T"), head[i + 4] == UInt8(ascii: "P"), head[i + 5] == UInt8(ascii: "/"),
              head[i + 6] == UInt8(ascii: "1"), head[i + 7] == UInt8(ascii: ".") else { return nil }
        switch head[i + 8] {
        case UInt8(ascii: "1"): return (method, targetStart..<targetEnd, 1)
        case UInt8(ascii: "0"): return (method, targetStart..<targetEnd, 0)
        default: return nil
        }
    }

    /// The field line `head[start..<end]`: where its name ends and its value starts; nil when it is
    /// not one of this decoder's.
    private static func field(_ head: UnsafeBufferPointer<UInt8>, start: Int, end: Int) -> (nameEnd: Int, valueStart: Int)? {
        let colon = FieldBytes.tokenEnd(head, from: start, to: end)
        guard colon > start, colon < end, head[colon] == UInt8(ascii: ":") else { return nil }
        var valueStart = colon + 1
        while valueStart < end && (head[valueStart] == 0x20 || head[valueStart] == 0x09) { valueStart += 1 }
        guard FieldBytes.valueIsAllowed(head, from: valueStart, to: end, obsText: false) else { return nil }
        if end > valueStart && (head[end - 1] == 0x20 || head[end - 1] == 0x09) { return nil }
        return (colon, valueStart)
    }

    /// Whether the whole lines of an incomplete head, from `from` (the start of a line) on, are
    /// this decoder's, and where the lines looked at end; `fields`: field lines before `from`.
    private static func linesSoFar(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, fields: inout Int, maxFields: Int) -> Int? {
        var start = from
        while start < bytes.count, let base = bytes.baseAddress, memchr(base + start, 0x0A, bytes.count - start) != nil {
            guard let end = lineEnd(bytes, from: start) else { return nil }
            if start == 0 {
                guard requestLine(bytes, end: end) != nil else { return nil }
            } else {
                guard fields < maxFields, field(bytes, start: start, end: end) != nil else { return nil }
                fields += 1
            }
            start = end + 2
        }
        // A request line still without its end must begin like one of this decoder's.
        if start == 0 && !mayBeginRequestLine(bytes) { return nil }
        return start
    }

    /// Whether `bytes` (no whole line yet) can begin a request line of this decoder's.
    private static func mayBeginRequestLine(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for start in ["GET /", "HEAD /", "POST /", "PUT /", "DELETE /", "OPTIONS /", "PATCH /"] as [StaticString] {
            let n = min(bytes.count, start.utf8CodeUnitCount)
            if memcmp(bytes.baseAddress!, start.utf8Start, n) == 0 { return true }
        }
        return false
    }

    /// The request in `head` (its bytes up to and with the empty line), or `.other`. Field lines
    /// that are the same bytes as the connection's last head's are not parsed again (`memo`).
    static func head(_ head: UnsafeBufferPointer<UInt8>, maxFields: Int, memo: HeadFieldMemo) -> Parsed {
        guard let lineEnd = lineEnd(head, from: 0), let (method, target, minor) = requestLine(head, end: lineEnd) else {
            return .other
        }
        let version = HTTPVersion(major: 1, minor: minor)
        let uri = memo.target(UnsafeBufferPointer(rebasing: head[target]))
        let fieldsStart = lineEnd + 2
        // A head that ends in CRLF CRLF after its request line: its field lines (each with its
        // CRLF, without the empty line's) may be the memo's. (One that ends otherwise, as
        // `GET / HTTP/1.1\r\n\n` does, is parsed, and refused, below.)
        if head.count >= fieldsStart + 2, head[head.count - 4] == 0x0D, head[head.count - 3] == 0x0A,
           head[head.count - 2] == 0x0D,
           let (fields, contentLength, fieldsDigest) = memo.fields(
               matching: UnsafeBufferPointer(rebasing: head[fieldsStart..<(head.count - 2)])) {
            let request = HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(fields))
            var digest = fieldsDigest
            digest.addRequestLine(of: request)
            return .request(request, bodyLength: contentLength ?? 0, size: head.count, digest: digest)
        }
        var fields: [(String, String)] = []
        fields.reserveCapacity(8)
        var contentLength: Int?
        var start = fieldsStart
        while true {
            guard let end = Self.lineEnd(head, from: start) else { return .other }
            if end == start { break }
            guard fields.count < maxFields, let (nameEnd, valueStart) = field(head, start: start, end: end) else { return .other }
            let name = UnsafeBufferPointer(rebasing: head[start..<nameEnd])
            let value = UnsafeBufferPointer(rebasing: head[valueStart..<end])
            switch name.count {
            case 7 where HeaderRules.equalsLower(name, "upgrade"):
                return .other
            case 14 where HeaderRules.equalsLower(name, "content-length"):
                guard contentLength == nil, let length = HeaderRules.contentLength(bytes: value) else { return .other }
                contentLength = length
            case 17 where HeaderRules.equalsLower(name, "transfer-encoding"):
                return .other
            default:
                break
            }
            fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            start = end + 2
        }
        let headers = HTTPHeaders(fields)
        let fieldsDigest = HeadDigest(fields: headers)
        // The field lines end where the empty line starts.
        memo.remember(UnsafeBufferPointer(rebasing: head[fieldsStart..<start]), fields: fields, contentLength: contentLength,
                      digest: fieldsDigest)
        let request = HTTPRequestHead(version: version, method: method, uri: uri, headers: headers)
        var digest = fieldsDigest
        digest.addRequestLine(of: request)
        return .request(request, bodyLength: contentLength ?? 0, size: head.count, digest: digest)
    }

    /// Where the line that starts at `from` ends (the index of its CR); nil when it does not end in
    /// CRLF.
    @inline(__always)
    private static func lineEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress,
              let found = memchr(base + from, 0x0A, bytes.count - from) else { return nil }
        let lf = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        guard lf > from, bytes[lf - 1] == 0x0D else { return nil }
        // A CR elsewhere in the line is a bare CR: not this decoder's.
        guard memchr(base + from, 0x0D, lf - 1 - from) == nil else { return nil }
        return lf - 1
    }

    /// The method that starts the request line, and where it ends (at its space).
    private static func method(_ line: UnsafeBufferPointer<UInt8>) -> (HTTPMethod, Int)? {
        func starts(_ name: StaticString) -> Bool {
            let n = name.utf8CodeUnitCount
            guard line.count > n, line[n] == 0x20 else { return false }
            return memcmp(line.baseAddress!, name.utf8Start, n) == 0
        }
        switch line.first {
        case UInt8(ascii: "G"): return starts("GET") ? (.GET, 3) : nil
        case UInt8(ascii: "H"): return starts("HEAD") ? (.HEAD, 4) : nil
        case UInt8(ascii: "P"):
            if starts("POST") { return (.POST, 4) }
            if starts("PUT") { return (.PUT, 3) }
            if starts("PATCH") { return (.PATCH, 5) }
            return nil
        case UInt8(ascii: "D"): return starts("DELETE") ? (.DELETE, 6) : nil
        case UInt8(ascii: "O"): return starts("OPTIONS") ? (.OPTIONS, 7) : nil
        default: return nil
        }
    }
}
