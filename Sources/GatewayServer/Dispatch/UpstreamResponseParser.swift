#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1

/// The upstream leg's HTTP/1.x response parser: a pure state machine, fed the connection's bytes,
/// that yields one response part at a time (`next`). `UpstreamHandler` hands each part to the
/// exchange that owns the connection — no decoder handler before it, no pipeline step and no
/// `NIOAny` per part, and no per-field callbacks as NIO's llhttp-based decoder makes them (about
/// 11,000 instructions per response in all, `bench/callgrind pass-through`).
///
/// What it accepts (RFC 9112):
/// - a status line `HTTP/1.x SP 3DIGIT [SP reason]`, empty lines before it skipped; the status is
///   kept by its code (as NIO's decoder does, the reason phrase is the standard one);
/// - header fields `token ":" OWS value OWS`, lines ending in CRLF or a bare LF; a line folded
///   onto the previous one, a space before the colon, a bare CR or another control byte in a
///   value, and a head over `maxHeadSize` bytes are errors;
/// - framing (§6.3): no body for a response to HEAD or CONNECT, for 1xx, 204 and 304; a chunked
///   body when the last transfer coding is `chunked` (chunk extensions ignored, trailer fields
///   handed on with the end), read until the connection closes for another transfer coding or
///   when neither Transfer-Encoding nor Content-Length frames the body; else Content-Length.
///   Transfer-Encoding beside Content-Length, a repeated Content-Length, one that is not plain
///   digits, and a malformed chunk are errors (each could make the gateway and a cache or another
///   hop see different messages);
/// - 1xx answers other than 101 are skipped and the final answer follows; 101 is an error (the
///   gateway removes Upgrade from requests, so a backend that switches protocols is broken);
/// - each response answers the oldest request sent (`requestSent`); a response to no request is
///   an error;
/// - the head handed on has no hop-by-hop fields (`Connection`, `Keep-Alive`, `Transfer-Encoding`,
///   … and the fields a `Connection` header names, RFC 9110 §7.6.1): they were read for the
///   framing and for keep-alive, and belong to this connection, not to the client's; nor, for a
///   1xx or 204 answer, a Content-Length (RFC 9110 §8.6: a server must not send one there).
///
/// After an error it yields nothing more: the connection is to be closed.
struct UpstreamResponseParser {
    struct Failure: Error, CustomStringConvertible, Equatable {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private enum State: Equatable {
        case head
        case fixed(Int)
        case chunkSize
        case chunk(Int)
        case chunkEnd
        case trailers
        case untilClose
        case end
        case failed
    }

    /// The largest head (status line and fields) or trailer section accepted.
    static let maxHeadSize = 64 * 1024
    /// The longest chunk-size line accepted (with its extensions).
    static let maxChunkLine = 4096

    private var state = State.head
    /// Whether the connection stays open after the last final response parsed: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`, and never after a body
    /// that the close ends. (NIO's `HTTPResponseHead.isKeepAlive` would look at every field
    /// again, about 8,000 instructions, on a head made from parsed fields.)
    private(set) var keepAlive = false
    /// Per request sent and not answered yet (oldest first): whether its answer has no body.
    private var bodiless: [Bool] = []
    private var answered = 0
    /// How much of an incomplete head (or trailer section) was searched for its end already.
    private var scanned = 0

    /// A request with this method went out on the connection.
    mutating func requestSent(method: HTTPMethod) {
        if answered > 0 && answered == bodiless.count {
            bodiless.removeAll(keepingCapacity: true)
            answered = 0
        }
        switch method {
        case .HEAD, .CONNECT: bodiless.append(true)
        default: bodiless.append(false)
        }
    }

    /// The next part that `buffer` completes, consuming its bytes; nil when more bytes are
    /// needed (an incomplete line stays in `buffer`). A head's lines are compared with the last
    /// head's in `memo` (the connection's), when there is one.
    mutating func next(_ buffer: inout ByteBuffer, memo: ResponseHeadMemo? = nil) throws -> UpstreamResponsePart? {
        while true {
            switch state {
            case .end:
                state = .head
                return .end(nil)
            case .head:
                guard buffer.readableBytes > 0 else { return nil }
                guard let head = try readHead(&buffer, memo: memo) else { return nil }
                // An interim answer is not handed on (as NIO's decoder does): the final one follows.
                if head.status.code < 200 { continue }
                return .head(head)
            case .fixed(let left):
                guard buffer.readableBytes > 0 else { return nil }
                let n = min(left, buffer.readableBytes)
                state = n == left ? .end : .fixed(left - n)
                return .body(buffer.readSlice(length: n)!)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .body(buffer.readSlice(length: buffer.readableBytes)!)
            case .chunk(let left):
                guard buffer.readableBytes > 0 else { return nil }
                let n = min(left, buffer.readableBytes)
                state = n == left ? .chunkEnd : .chunk(left - n)
                return .body(buffer.readSlice(length: n)!)
            case .chunkSize:
                guard let size = try readChunkSize(&buffer) else { return nil }
                state = size == 0 ? .trailers : .chunk(size)
            case .chunkEnd:
                guard let empty = try readLine(&buffer, limit: 2, { $0.isEmpty }) else { return nil }
                guard empty else { throw fail("a chunk does not end where its size says") }
                state = .chunkSize
            case .trailers:
                guard let fields = try readSection(&buffer) else { return nil }
                state = .head
                return .end(fields.isEmpty ? nil : HTTPHeaders(fields))
            case .failed:
                if buffer.readableBytes > 0 { throw Failure("data after a failed response") }
                return nil
            }
        }
    }

    /// The connection closed with `unparsed` bytes not consumed: the end of a body read until the
    /// close, nothing between responses, else an error.
    mutating func endOfInput(unparsed: Int) throws -> UpstreamResponsePart? {
        switch state {
        case .untilClose:
            state = .head
            return .end(nil)
        case .head where unparsed == 0, .failed:
            return nil
        default:
            throw fail("the upstream closed the connection inside a response")
        }
    }

    private mutating func fail(_ reason: String) -> Failure {
        state = .failed
        return Failure(reason)
    }

    // MARK: lines

    /// The next line (CRLF or LF ended, without them) given to `body`, and consumed; nil when
    /// `buffer` holds no whole line yet. Longer than `limit`: an error.
    private mutating func readLine<R>(_ buffer: inout ByteBuffer, limit: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R? {
        let found = try buffer.withUnsafeReadableBytes { raw -> (R, Int)? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let lf = Self.lineFeed(in: bytes, from: 0) else {
                if bytes.count > limit { throw fail("a line longer than \(limit) bytes") }
                return nil
            }
            var end = lf
            if end > 0 && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            guard end <= limit else { throw fail("a line longer than \(limit) bytes") }
            return (try body(UnsafeBufferPointer(rebasing: bytes[0..<end])), lf + 1)
        }
        guard let (result, consumed) = found else { return nil }
        buffer.moveReaderIndex(forwardBy: consumed)
        return result
    }

    private mutating func readChunkSize(_ buffer: inout ByteBuffer) throws -> Int? {
        var invalid = false
        let size = try readLine(&buffer, limit: Self.maxChunkLine) { line -> Int in
            var size = 0, digits = 0
            for byte in line {
                let value: Int
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
                default: value = -1
                }
                if value < 0 { break }
                size = size * 16 + value
                digits += 1
                if digits > 15 { invalid = true; return 0 }
            }
            // After the digits: nothing, or chunk extensions (`;`, spaces or tabs before it).
            var rest = digits
            while rest < line.count && (line[rest] == 0x20 || line[rest] == 0x09) { rest += 1 }
            if digits == 0 || (rest < line.count && line[rest] != UInt8(ascii: ";")) { invalid = true }
            if line.contains(UInt8(ascii: "\r")) { invalid = true }
            return size
        }
        if invalid { throw fail("a malformed chunk size") }
        return size
    }

    /// The index of the first LF in `bytes` at or after `from` (memchr: a byte at a time through
    /// a slice's indices cost several instructions per byte).
    @inline(__always)
    private static func lineFeed(in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress,
              let found = memchr(base + from, 0x0A, bytes.count - from) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    // MARK: heads

    /// Where the section that starts `bytes` ends (after its empty line), searching from `from`.
    private static func sectionEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = max(from, 0)
        while i < bytes.count {
            guard let lf = lineFeed(in: bytes, from: i) else { return nil }
            if lf == 0 { return 1 }
            // The line before this LF is empty: the previous byte is an LF, or a CR after one.
            if bytes[lf - 1] == UInt8(ascii: "\n") { return lf + 1 }
            if bytes[lf - 1] == UInt8(ascii: "\r") && (lf == 1 || bytes[lf - 2] == UInt8(ascii: "\n")) { return lf + 1 }
            i = lf + 1
        }
        return nil
    }

    /// A trailer section (possibly empty), once whole.
    private mutating func readSection(_ buffer: inout ByteBuffer) throws -> [(String, String)]? {
        let scannedSoFar = scanned
        let parsed = try buffer.withUnsafeReadableBytes { raw -> ([(String, String)], Int)? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let end = Self.sectionEnd(bytes, from: scannedSoFar - 3) else {
                if bytes.count > Self.maxHeadSize { throw fail("trailer fields over \(Self.maxHeadSize) bytes") }
                return nil
            }
            var fields: [(String, String)] = []
            try Self.lines(UnsafeBufferPointer(rebasing: bytes[0..<end])) { line in
                if line.isEmpty { return }
                let (nameEnd, valueStart, valueEnd) = try field(line)
                fields.append((String(decoding: UnsafeBufferPointer(rebasing: line[0..<nameEnd]), as: UTF8.self),
                               String(decoding: UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd]), as: UTF8.self)))
            }
            return (fields, end)
        }
        guard let (fields, end) = parsed else {
            scanned = buffer.readableBytes
            return nil
        }
        scanned = 0
        buffer.moveReaderIndex(forwardBy: end)
        return fields
    }

    private mutating func readHead(_ buffer: inout ByteBuffer, memo: ResponseHeadMemo?) throws -> UpstreamResponseHead? {
        // Empty lines before a status line are skipped (RFC 9112 §2.2).
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              first == UInt8(ascii: "\r") || first == UInt8(ascii: "\n") {
            if first == UInt8(ascii: "\r") {
                guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { return nil }
                guard second == UInt8(ascii: "\n") else { throw fail("a bare CR before a status line") }
                buffer.moveReaderIndex(forwardBy: 2)
            } else {
                buffer.moveReaderIndex(forwardBy: 1)
            }
        }
        guard buffer.readableBytes > 0 else { return nil }
        guard answered < bodiless.count else { throw fail("a response to no request") }
        let scannedSoFar = scanned
        let parsed = try buffer.withUnsafeReadableBytes { raw -> ParsedHead? in
            let bytes = raw.bindMemory(to: UInt8.self)
            // A head that arrives whole, as heads mostly do, is parsed in the pass that finds its
            // end. One that did not is only searched for its end in the bytes each read adds, and
            // parsed once whole: a head that trickles in costs time linear in its size.
            if scannedSoFar == 0 {
                if let head = try parseHead(bytes, memo: memo) { return head }
            } else if let end = Self.sectionEnd(bytes, from: scannedSoFar - 3) {
                return try parseHead(UnsafeBufferPointer(rebasing: bytes[0..<end]), memo: memo)
            }
            if bytes.count > Self.maxHeadSize { throw fail("a response head over \(Self.maxHeadSize) bytes") }
            return nil
        }
        guard let parsed else {
            scanned = buffer.readableBytes
            return nil
        }
        scanned = 0
        let head = UpstreamResponseHead(version: parsed.version, status: HTTPResponseStatus(statusCode: parsed.code),
                                        fields: parsed.fields.lines(in: buffer), contentLength: parsed.contentLength,
                                        hasGatewayFieldNames: parsed.gatewayNames)
        buffer.moveReaderIndex(forwardBy: parsed.end)
        let code = parsed.code
        if code < 200 {
            if code == 101 { throw fail("the upstream switched protocols (101)") }
            return head
        }
        let noBody = bodiless[answered]
        answered += 1
        keepAlive = parsed.framing.keepAlive
        if noBody || code == 204 || code == 304 {
            state = .end
            return head
        }
        switch parsed.framing.body {
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose; keepAlive = false
        case .length(0): state = .end
        case .length(let n): state = .fixed(n)
        }
        return head
    }

    private struct Framing {
        enum Body { case chunked, untilClose, length(Int) }
        var body: Body
        var keepAlive: Bool
    }

    /// 1xx and 204 answers have no body, and a server must not send Content-Length with them
    /// (RFC 9110 §8.6): an upstream's is not handed on.
    static func forbidsContentLength(_ code: Int) -> Bool { code < 200 || code == 204 }

    /// A response head as `parseHead` read it.
    private struct ParsedHead {
        var version: HTTPVersion
        var code: Int
        var fields: ForwardedFieldLines
        var contentLength: Int?
        var gatewayNames: Bool
        var framing: Framing
        /// Where the head ends (after its empty line).
        var end: Int
    }

    /// Calls `body` with each line of `section` (CRLF or LF ended, without them).
    private static func lines(_ section: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        var start = 0
        while start < section.count {
            guard let lf = lineFeed(in: section, from: start) else { return }
            var end = lf
            if end > start && section[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            try body(UnsafeBufferPointer(rebasing: section[start..<end]))
            start = lf + 1
        }
    }

    /// The head at the start of `bytes`, read line by line up to the empty line that ends it; nil
    /// when `bytes` has no such line yet. A line that is the same bytes as the last head's at its
    /// place takes that line's reading over (`ResponseHeadMemo`).
    private mutating func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, memo: ResponseHeadMemo?) throws -> ParsedHead? {
        var status: (version: HTTPVersion, code: Int)?
        var length: Int?
        var close = false, keepAliveToken = false
        var gatewayNames = false
        /// `Connection` values that name fields besides the hop-by-hop ones.
        var named: [String] = []
        var lengthSeen = false, lengthInvalid = false
        var chunkedLast: Bool?
        var fields = ForwardedFieldLines()
        var start = 0
        var end = 0
        var index = 0
        /// Whether a line was read anew (or the head has fewer lines than the memo's): the head
        /// is then remembered in place of the last one. The lines after one read anew are still
        /// compared with the memo's at their place.
        var missed = false
        while true {
            guard start < bytes.count else { return nil }
            // The empty line that ends the head.
            if bytes[start] == UInt8(ascii: "\n") {
                end = start + 1
                break
            }
            if bytes[start] == UInt8(ascii: "\r") && start + 1 < bytes.count && bytes[start + 1] == UInt8(ascii: "\n") {
                end = start + 2
                break
            }
            let lineStart = start
            let reading: ResponseHeadMemo.Reading
            if let (remembered, length) = memo?.reading(index, in: bytes, at: start) {
                reading = remembered
                start += length
            } else {
                guard let lf = Self.lineFeed(in: bytes, from: start) else { return nil }
                let crlf = lf > start && bytes[lf - 1] == UInt8(ascii: "\r")
                let line = UnsafeBufferPointer(rebasing: bytes[start..<(crlf ? lf - 1 : lf)])
                start = lf + 1
                if status == nil {
                    guard let parsed = Self.statusLine(line) else { throw fail("a malformed status line") }
                    reading = .status(parsed.version, code: parsed.code)
                } else {
                    reading = .field(try readField(line, crlf: crlf))
                }
                if !missed {
                    missed = true
                    memo?.start(sameUpTo: index)
                }
            }
            if missed { memo?.add(.init(end: start, reading: reading)) }
            index += 1
            switch reading {
            case .status(let version, let code):
                guard status == nil else { throw fail("a malformed header line") }
                status = (version, code)
                continue
            case .field(let field):
                guard status != nil else { throw fail("a malformed status line") }
                switch field.role {
                case .other:
                    break
                case .gatewayName:
                    gatewayNames = true
                case .contentLength(let parsed):
                    // A repeated Content-Length is refused even with the same value (as llhttp does).
                    if parsed == nil || lengthSeen { lengthInvalid = true }
                    length = parsed
                    lengthSeen = true
                case .transferEncoding(let chunked):
                    chunkedLast = chunked
                case .connection(let tokens):
                    if tokens.close { close = true }
                    if tokens.keepAlive { keepAliveToken = true }
                    if tokens.namesOthers {
                        named.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[(lineStart + field.valueStart)..<(lineStart + field.valueEnd)]),
                                            as: UTF8.self))
                    }
                }
                // Hop-by-hop fields belong to this connection: they are not part of the head handed
                // on (RFC 9110 §7.6.1).
                if field.hopByHop { continue }
                // Nor is a Content-Length of a 1xx or 204 answer, which has no body and which a
                // server must not send (RFC 9110 §8.6): over HTTP/2, NIOHTTP2 would refuse the
                // head for a length its (absent) body does not have.
                if case .contentLength = field.role, let code = status?.code, Self.forbidsContentLength(code) { continue }
                if field.plain {
                    fields.keep(lineStart..<start, of: bytes)
                } else {
                    fields.keep(name: UnsafeBufferPointer(rebasing: bytes[lineStart..<(lineStart + field.nameEnd)]),
                                value: UnsafeBufferPointer(rebasing: bytes[(lineStart + field.valueStart)..<(lineStart + field.valueEnd)]),
                                of: bytes)
                }
            }
        }
        if let memo {
            // The same lines, fewer of them: the head is remembered too.
            if !missed && index != memo.count {
                missed = true
                memo.start(sameUpTo: index)
            }
            if missed { memo.remember(bytes) }
        }
        fields.finish(of: bytes)
        if !named.isEmpty { fields.remove(named: named, of: bytes) }
        guard let status else { throw fail("a malformed status line") }
        let body: Framing.Body
        if let chunkedLast {
            if lengthSeen { throw fail("both Transfer-Encoding and Content-Length") }
            body = chunkedLast ? .chunked : .untilClose
        } else if lengthSeen {
            guard !lengthInvalid, let length else { throw fail("an invalid Content-Length") }
            body = .length(length)
        } else {
            body = .untilClose
        }
        let keepAlive = status.version.minor >= 1 ? !close : keepAliveToken && !close
        return ParsedHead(version: status.version, code: status.code, fields: fields,
                          contentLength: lengthSeen && !Self.forbidsContentLength(status.code) ? length : nil,
                          gatewayNames: gatewayNames,
                          framing: Framing(body: body, keepAlive: keepAlive), end: end)
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason]`.
    private static func statusLine(_ line: UnsafeBufferPointer<UInt8>) -> (version: HTTPVersion, code: Int)? {
        guard line.count >= 12, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
              line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/"), line[5] == UInt8(ascii: "1"),
              line[6] == UInt8(ascii: "."), isDigit(line[7]), line[8] == 0x20,
              isDigit(line[9]), isDigit(line[10]), isDigit(line[11]) else { return nil }
        if line.count > 12 {
            guard line[12] == 0x20, FieldBytes.valueIsAllowed(line, from: 13, to: line.count, obsText: true) else { return nil }
        }
        let code = Int(line[9] - 48) * 100 + Int(line[10] - 48) * 10 + Int(line[11] - 48)
        guard code >= 100 else { return nil }
        return (HTTPVersion(major: 1, minor: line[7] == UInt8(ascii: "0") ? 0 : 1), code)
    }

    /// A field line (without its line ending) read: its name and value, and what they mean to the
    /// parser (`crlf`: the line ended in CRLF).
    private mutating func readField(_ line: UnsafeBufferPointer<UInt8>, crlf: Bool) throws -> FieldLineReading {
        let (nameEnd, valueStart, valueEnd) = try field(line)
        let name = UnsafeBufferPointer(rebasing: line[0..<nameEnd])
        let value = UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd])
        let role: FieldLineReading.Role
        switch nameEnd {
        case 9 where HeaderRules.equalsLower(name, "ratelimit"): role = .gatewayName
        case 12 where HeaderRules.equalsLower(name, "x-request-id"): role = .gatewayName
        case 14 where HeaderRules.equalsLower(name, "content-length"): role = .contentLength(HeaderRules.contentLength(bytes: value))
        case 16 where HeaderRules.equalsLower(name, "ratelimit-policy"): role = .gatewayName
        case 17 where HeaderRules.equalsLower(name, "transfer-encoding"):
            role = .transferEncoding(chunkedLast: Self.lastCodingIsChunked(String(decoding: value, as: UTF8.self)))
        case 10 where HeaderRules.equalsLower(name, "connection"): role = .connection(HeaderRules.connectionTokens(value))
        default: role = .other
        }
        let plain = crlf && valueStart == nameEnd + 2 && valueEnd == line.count && line[nameEnd + 1] == 0x20
        return FieldLineReading(nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd, plain: plain,
                                hopByHop: HeaderRules.isHopByHop(name), role: role)
    }

    /// `name: value`: where the name ends and where the value, without the spaces and tabs
    /// around it, starts and ends.
    private mutating func field(_ line: UnsafeBufferPointer<UInt8>) throws -> (nameEnd: Int, valueStart: Int, valueEnd: Int) {
        // The name: token bytes up to the colon, in one pass.
        let colon = FieldBytes.tokenEnd(line, from: 0, to: line.count)
        guard colon > 0, colon < line.count, line[colon] == UInt8(ascii: ":") else {
            if line.first == 0x20 || line.first == 0x09 { throw fail("a folded header line") }
            throw fail(line.contains(UInt8(ascii: ":")) ? "a malformed header name" : "a header line without a name")
        }
        var start = colon + 1, end = line.count
        while start < end && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        while end > start && (line[end - 1] == 0x20 || line[end - 1] == 0x09) { end -= 1 }
        guard FieldBytes.valueIsAllowed(line, from: start, to: end, obsText: true) else {
            throw fail("a control character in a header value")
        }
        return (colon, start, end)
    }

    /// Whether the last coding of a Transfer-Encoding list is `chunked`.
    static func lastCodingIsChunked(_ value: String) -> Bool {
        var last: Substring = ""
        for token in value.split(separator: ",") {
            let trimmed = token.drop { $0 == " " || $0 == "\t" }
            if !trimmed.isEmpty { last = trimmed }
        }
        while let tail = last.last, tail == " " || tail == "\t" { last = last.dropLast() }
        return last.count == 7 && last.lowercased() == "chunked"
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

}
