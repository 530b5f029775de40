import NIOHTTP1

/// What the gateway reads from a request head's fields before it dispatches the request, found in
/// one pass over them: the edge rules' size and `Host` count, the framing and `Expect` fields, the
/// client's request id and trace context, and whether a `Connection` field is there at all.
///
/// Each pass over NIO's `HTTPHeaders` costs about a hundred instructions per field (every field is
/// handed out as two `String`s, retained and released), and a request head was read this way six
/// times (`bench/callgrind`); the digest reads it once.
struct HeadDigest: Equatable, Sendable {
    /// The head's size as sent on HTTP/1.1, request line and `name: value` lines, the empty line
    /// not counted (for HTTP/2 the same measure of the decoded header list): what
    /// `limits.maxHeaderBytes` bounds.
    var size = 0
    var hosts = 0
    var transferEncoding = false
    /// Whether a `Content-Length`, `Content-Type` or `Transfer-Encoding` field is present (none: a
    /// validated route knows without looking that an HTTP/1 request has no body to check).
    var bodyFields = false
    /// Whether a `Connection` field is present (none: the version's default decides keep-alive,
    /// and no field is named for removal).
    var connection = false
    /// The first `Expect` field asks for `100-continue`.
    var expectsContinue = false
    /// The first `x-request-id` field's value.
    var requestId: String?
    /// The first `traceparent` field's value.
    var traceparent: String?

    /// A head without fields, before its request line is counted.
    init() {}

    init(_ head: HTTPRequestHead) {
        self.init(fields: head.headers)
        addRequestLine(of: head)
    }

    /// The digest of the fields alone (`size` counts their lines only): `HTTP1RequestDecoder`
    /// keeps it beside the fields it remembers (`HeadFieldMemo`), so the same fields again are
    /// not read again.
    init(fields: HTTPHeaders) {
        var expectSeen = false
        for (name, value) in fields {
            let n = name.utf8.count
            size += n + value.utf8.count + 4
            switch n {
            case 4 where HeaderRules.equalsLower(name, "host"):
                hosts += 1
            case 6 where HeaderRules.equalsLower(name, "expect"):
                if !expectSeen { expectsContinue = HeaderRules.equalsLowerValue(value, "100-continue") }
                expectSeen = true
            case 10 where HeaderRules.equalsLower(name, "connection"):
                connection = true
            case 11 where HeaderRules.equalsLower(name, "traceparent"):
                if traceparent == nil { traceparent = value }
            case 12 where HeaderRules.equalsLower(name, "x-request-id"):
                if requestId == nil { requestId = value }
            case 12 where HeaderRules.equalsLower(name, "content-type"), 14 where HeaderRules.equalsLower(name, "content-length"):
                bodyFields = true
            case 17 where HeaderRules.equalsLower(name, "transfer-encoding"):
                transferEncoding = true
                bodyFields = true
            default:
                break
            }
        }
    }

    /// Counts `head`'s request line into `size` (to a digest of its fields).
    mutating func addRequestLine(of head: HTTPRequestHead) {
        size += head.method.rawValue.utf8.count + head.uri.utf8.count + 12
    }

    /// Whether the connection stays open after this request (HTTP/1): NIO's reading of the head
    /// when it has a `Connection` field, else the version's default.
    static func isKeepAlive(_ head: HTTPRequestHead, _ digest: HeadDigest) -> Bool {
        digest.connection ? head.isKeepAlive : head.version.major == 1 && head.version.minor >= 1
    }
}
