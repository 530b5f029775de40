import GatewayAuthorizers
import GatewayPlan
import NIOCore
import NIOHTTP1

/// Header rewriting at the proxy boundary (RFC 9110 §7.6.1): hop-by-hop headers and those named in
/// `Connection` are removed, `X-Forwarded-*` and the request id are set.
enum HeaderRules {
    /// A header value that cannot end the header early: no CR, LF or NUL.
    static func isSafeValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    /// The request head sent to an upstream target (`upstreamFields`), as NIO's request head: the
    /// form the tests read fields from (the data plane sends `upstreamRequestHead`'s bytes).
    static func upstreamRequest(_ request: RequestContext, target: Upstream.Target) -> HTTPRequestHead {
        var sink = FieldList()
        sink.fields.reserveCapacity(request.head.headers.count + 8)
        _ = upstreamFields(request, target: target, into: &sink)
        let uri = target.basePath.isEmpty ? request.head.uri : target.basePath + request.head.uri
        return HTTPRequestHead(version: .http1_1, method: request.head.method, uri: uri, headers: HTTPHeaders(sink.fields))
    }

    /// The request head sent to an upstream target (`upstreamFields`), written as HTTP/1.1 bytes
    /// in one pass: the same bytes `UpstreamRequestEncoder` writes for `upstreamRequest`, without
    /// building the fields, NIO's head, or the encoder's passes over them.
    static func upstreamRequestHead(_ request: RequestContext, target: Upstream.Target,
                                    buffers: HeadBuffers? = nil) -> UpstreamRequestHead {
        let method = request.head.method
        // A guess that holds almost every head; a longer one is written again with more room.
        var room = 1024 + request.head.uri.utf8.count + target.basePath.utf8.count
        while true {
            var buffer = buffers?.take(room, allocator: ByteBufferAllocator()) ?? ByteBufferAllocator().buffer(capacity: room)
            var chunked = false
            let written = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { raw in
                var sink = HeadBytes(out: HTTP1HeadWriter(raw))
                sink.out.put(string: method.rawValue)
                sink.out.put(UInt8(ascii: " "))
                sink.out.put(string: target.basePath)
                sink.out.put(string: request.head.uri)
                sink.out.put(" HTTP/1.1\r\n")
                chunked = upstreamFields(request, target: target, into: &sink)
                sink.out.put("\r\n")
                return sink.out.overflowed ? 0 : sink.out.count
            }
            if written > 0 { return UpstreamRequestHead(bytes: buffer, method: method, chunked: chunked) }
            room *= 4
        }
    }

    /// Receives the fields of a head in order.
    protocol FieldSink {
        mutating func add(_ name: String, _ value: String)
        /// A field the gateway adds, its name a literal (written without going through a `String`).
        mutating func add(field name: StaticString, _ value: String)
        /// `traceparent: ` and the trace's value.
        mutating func add(traceparent trace: TraceContext)
        /// `x-request-id: ` and the id.
        mutating func add(requestId: RequestID)
    }

    struct FieldList: FieldSink {
        var fields: [(String, String)] = []
        mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }
        mutating func add(field name: StaticString, _ value: String) { add(name.description, value) }
        mutating func add(traceparent trace: TraceContext) { add("traceparent", trace.traceparent) }
        mutating func add(requestId: RequestID) { add("x-request-id", requestId.text) }
    }

    struct HeadBytes: FieldSink {
        var out: HTTP1HeadWriter
        mutating func add(_ name: String, _ value: String) {
            out.put(string: name)
            out.put(": ")
            out.put(string: value)
            out.put("\r\n")
        }

        mutating func add(field name: StaticString, _ value: String) {
            out.put(name)
            out.put(": ")
            out.put(string: value)
            out.put("\r\n")
        }

        mutating func add(traceparent trace: TraceContext) {
            out.put("traceparent: ")
            out.put(count: TraceContext.traceparentLength) { trace.write(traceparentInto: $0) }
            out.put("\r\n")
        }

        mutating func add(requestId: RequestID) {
            out.put("x-request-id: ")
            out.put(count: requestId.utf8Count) { requestId.write(to: $0) }
            out.put("\r\n")
        }
    }

    /// The fields of the request head sent to an upstream target, in one pass over the client's
    /// headers: hop-by-hop headers (and those `Connection` names), `Expect`, the API key and any
    /// client copy of the gateway's own headers are left out; then `x-api-key-id`, the
    /// authorizer's `x-authorizer-*`, `Host`, `X-Forwarded-*`, `traceparent` and `x-request-id`
    /// are added. Framed as NIO's request encoder frames a request: TRACE carries no
    /// Content-Length; POST, PUT and PATCH without one, and a request the client sent chunked,
    /// end with `transfer-encoding: chunked`. True when the body goes chunked.
    static func upstreamFields<Sink: FieldSink>(_ request: RequestContext, target: Upstream.Target, into sink: inout Sink) -> Bool {
        let source = request.head.headers
        let method = request.head.method
        var named = request.mayHaveConnectionField ? connectionValues(source) : []
        // Tokens that name only hop-by-hop fields (left out for their own names) or `close`.
        if !named.isEmpty { named.removeAll(where: namesOnlyHopByHop) }
        // Read from the route: `request.operation` copies the whole OperationPlan.
        let keyHeader = request.route.keyHeader
        let replacesTrace = request.trace != nil
        var originalHost: String?
        var forwardedFor = false
        /// Whether the client's X-Forwarded-Host goes (it does when there is a Host to put in
        /// its place): decided at the first one.
        var replacesForwardedHost: Bool?
        var transferEncoding = false
        var contentLength = false
        for (name, value) in source {
            switch name.utf8.count {
            case 4 where equalsLower(name, "host"):
                if originalHost == nil { originalHost = value }
                continue
            case 6 where equalsLower(name, "expect"):
                continue
            case 11 where equalsLower(name, "traceparent"):
                if replacesTrace { continue }
            case 12 where equalsLower(name, "x-api-key-id") || equalsLower(name, "x-request-id"):
                continue
            case 15 where equalsLower(name, "x-forwarded-for"):
                // Named in Connection, the client's chain goes like any header named there.
                if !isNamed(name, in: named) { forwardedFor = true }
                continue
            case 17 where equalsLower(name, "transfer-encoding"):
                transferEncoding = true
                continue
            case 17 where equalsLower(name, "x-forwarded-proto"):
                continue
            default:
                break
            }
            if isHopByHop(name) || isNamed(name, in: named) || Authorization.hasPrefix(name) { continue }
            if let keyHeader, equalsIgnoringCase(name, keyHeader) { continue }
            switch name.utf8.count {
            case 14 where equalsLower(name, "content-length"):
                contentLength = true
                if method == .TRACE { continue }
            case 16 where equalsLower(name, "x-forwarded-host"):
                if replacesForwardedHost == nil {
                    replacesForwardedHost = source.contains(name: "host") && !isNamed("host", in: named)
                }
                if replacesForwardedHost == true { continue }
            default:
                break
            }
            sink.add(name, value)
        }
        if let id = request.keyId { sink.add(field: "x-api-key-id", id) }
        if let authorization = request.authorization {
            for (name, value) in zip(authorization.headerNames, authorization.headerValues) { sink.add(name, value) }
        }
        // A Host named in Connection goes like any other header named there.
        if originalHost != nil, isNamed("host", in: named) { originalHost = nil }
        sink.add(field: "host", target.authority)
        if let originalHost { sink.add(field: "x-forwarded-host", originalHost) }
        if forwardedFor {
            let prior = source[canonicalForm: "x-forwarded-for"]
            sink.add(field: "x-forwarded-for", prior.joined(separator: ", ") + ", " + request.remoteIP)
        } else {
            sink.add(field: "x-forwarded-for", request.remoteIP)
        }
        sink.add(field: "x-forwarded-proto", request.scheme)
        if let trace = request.trace { sink.add(traceparent: trace) }
        sink.add(requestId: request.requestIdValue)
        let chunked: Bool
        switch method {
        case .TRACE:
            chunked = false
        case .POST, .PUT, .PATCH:
            chunked = !contentLength
        default:
            chunked = transferEncoding && !contentLength
                && source[canonicalForm: "transfer-encoding"].last?.lowercased() == "chunked"
        }
        if chunked { sink.add(field: "transfer-encoding", "chunked") }
        return chunked
    }

    /// A Content-Length value: plain decimal digits (at most 18, so it cannot overflow), else nil.
    static func contentLength(_ value: String) -> Int? {
        contentLength(bytes: value.utf8)
    }

    static func contentLength<Bytes: Sequence<UInt8>>(bytes value: Bytes) -> Int? {
        var result = 0, digits = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), digits < 18 else { return nil }
            result = result * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? result : nil
    }

    /// The values of every `Connection` header, whose tokens name more hop-by-hop headers: empty,
    /// with nothing allocated, when there is none.
    static func connectionValues(_ headers: HTTPHeaders) -> [String] {
        var values: [String] = []
        for (name, value) in headers where name.utf8.count == 10 && equalsLower(name, "connection") { values.append(value) }
        return values
    }

    /// `name` is one of the comma-separated tokens of `list` (spaces and tabs around a token do not
    /// count), ignoring the case of ASCII letters.
    static func tokenList(_ list: String, contains name: String) -> Bool {
        withBytes(list) { l in
            withBytes(name) { n in
                !everyToken(of: l) { token in
                    guard token.count == n.count else { return true }
                    for i in 0..<n.count where !sameIgnoringCase(token[i], n[i]) { return true }
                    return false
                }
            }
        }
    }

    /// Every comma-separated token of a `Connection` value is empty, `close` or a hop-by-hop field
    /// (removed for its own name anyway), ignoring the case of ASCII letters.
    static func namesOnlyHopByHop(_ list: String) -> Bool {
        withBytes(list) { l in
            everyToken(of: l) { token in token.isEmpty || equalsLower(token, "close") || isHopByHop(token) }
        }
    }

    /// What a `Connection` value's comma-separated tokens say, read in one pass over its bytes.
    struct ConnectionTokens: Equatable {
        /// A token is `close`.
        var close = false
        /// A token is `keep-alive`.
        var keepAlive = false
        /// A token names a field that is not hop-by-hop anyway (one to remove for that reason).
        var namesOthers = false
    }

    /// The tokens of one `Connection` value, ignoring the case of ASCII letters (as `tokenList`
    /// and `namesOnlyHopByHop` read them, without making a `String` of the value).
    static func connectionTokens(_ value: UnsafeBufferPointer<UInt8>) -> ConnectionTokens {
        var found = ConnectionTokens()
        _ = everyToken(of: value) { token in
            if token.count == 5 && equalsIgnoringCase(token, "close") {
                found.close = true
            } else if token.count == 10 && equalsIgnoringCase(token, "keep-alive") {
                found.keepAlive = true
            } else if !token.isEmpty && !isHopByHop(token) {
                found.namesOthers = true
            }
            return true
        }
        return found
    }

    @inline(__always)
    private static func equalsIgnoringCase(_ token: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        guard token.count == lower.utf8CodeUnitCount else { return false }
        let l = UnsafeBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        for i in 0..<token.count where !sameIgnoringCase(token[i], l[i]) { return false }
        return true
    }

    /// Whether `test` holds for every comma-separated token of `list`, spaces and tabs around each
    /// trimmed (it stops at the first that fails).
    @inline(__always)
    private static func everyToken(of list: UnsafeBufferPointer<UInt8>, _ test: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        var start = 0
        while start <= list.count {
            var end = start
            while end < list.count && list[end] != UInt8(ascii: ",") { end += 1 }
            var a = start, b = end
            while a < b && (list[a] == 0x20 || list[a] == 0x09) { a += 1 }
            while b > a && (list[b - 1] == 0x20 || list[b - 1] == 0x09) { b -= 1 }
            if !test(UnsafeBufferPointer(rebasing: list[a..<b])) { return false }
            start = end + 1
        }
        return true
    }

    /// A string's UTF-8 bytes in place (a copy only for a string without contiguous storage).
    @inline(__always)
    private static func withBytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = s.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(s.utf8).withUnsafeBufferPointer(body)
    }

    /// One of RFC 9110's hop-by-hop fields (and the older ones proxies still remove), in any case:
    /// connection, keep-alive, proxy-connection, te, trailer, transfer-encoding, upgrade,
    /// proxy-authenticate, proxy-authorization.
    static func isHopByHop(_ name: String) -> Bool {
        withBytes(name) { isHopByHop($0) }
    }

    static func isHopByHop(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        switch name.count {
        case 2: equalsLower(name, "te")
        case 7: equalsLower(name, "trailer") || equalsLower(name, "upgrade")
        case 10: equalsLower(name, "connection") || equalsLower(name, "keep-alive")
        case 16: equalsLower(name, "proxy-connection")
        case 17: equalsLower(name, "transfer-encoding")
        case 18: equalsLower(name, "proxy-authenticate")
        case 19: equalsLower(name, "proxy-authorization")
        default: false
        }
    }

    private static func isNamed(_ name: String, in connection: [String]) -> Bool {
        !connection.isEmpty && connection.contains { tokenList($0, contains: name) }
    }

    /// `name` equals the lower-case `lower`, ignoring the case of ASCII letters in `name` (header
    /// names are tokens: no byte of one differs from a letter only in bit 0x20).
    @inline(__always)
    static func equalsLower(_ name: String, _ lower: StaticString) -> Bool {
        guard name.utf8.count == lower.utf8CodeUnitCount else { return false }
        let l = UnsafeBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        return withBytes(name) { n in
            for i in 0..<n.count where n[i] | 0x20 != l[i] { return false }
            return true
        }
    }

    /// A field value equal to a lower-case literal, ignoring the case of ASCII letters only (any
    /// byte of a value may be there, so `| 0x20` alone would match a control byte for a digit).
    static func equalsLowerValue(_ value: String, _ lower: StaticString) -> Bool {
        guard value.utf8.count == lower.utf8CodeUnitCount else { return false }
        let l = UnsafeBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        return withBytes(value) { v in
            for i in 0..<v.count where v[i] != l[i] && !(v[i] >= 0x41 && v[i] <= 0x5A && v[i] | 0x20 == l[i]) { return false }
            return true
        }
    }

    @inline(__always)
    static func equalsLower(_ name: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        guard name.count == lower.utf8CodeUnitCount else { return false }
        let l = UnsafeBufferPointer(start: lower.utf8Start, count: lower.utf8CodeUnitCount)
        for i in 0..<name.count where name[i] | 0x20 != l[i] { return false }
        return true
    }

    /// Two header names, equal ignoring the case of ASCII letters.
    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return withBytes(a) { x in
            withBytes(b) { y in
                for i in 0..<x.count where !sameIgnoringCase(x[i], y[i]) { return false }
                return true
            }
        }
    }

    @inline(__always)
    private static func sameIgnoringCase(_ x: UInt8, _ y: UInt8) -> Bool {
        x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A)
    }
}
