import NIOCore
import NIOHTTP1

/// A response part as the upstream leg parses it.
typealias UpstreamResponsePart = HTTPPart<UpstreamResponseHead, ByteBuffer>

/// A response head as the upstream leg parsed it (`UpstreamResponseParser`): its status, and the
/// fields the gateway forwards as bytes, one `name: value` line each (the name as the upstream
/// spelled it, the value without the spaces around it, lines ending in CRLF), with no hop-by-hop
/// field among them. When the upstream's own lines already read so, one after another, they are a
/// slice of the bytes read from it, not a copy (`ForwardedFieldLines`).
///
/// An HTTP/1.1 client's response is written from these bytes as they are, with the gateway's own
/// fields after them (`HTTP1ResponseEncoder.write(forwarded:…)`): no `String` per name and value,
/// no `HTTPHeaders` built, decorated and encoded again. Whoever needs the fields as
/// `HTTPHeaders` (HTTP/2, migrations, a decoration that edits fields) asks for `head`.
struct UpstreamResponseHead: Equatable, Sendable {
    var version: HTTPVersion
    var status: HTTPResponseStatus
    /// The field lines, each `name: value\r\n`.
    var fields: ByteBuffer
    /// The body's length, when a Content-Length field (one of `fields`) gives it.
    var contentLength: Int?
    /// Whether a field has a name the gateway may set on a response it forwards (`x-request-id`,
    /// `ratelimit`, `ratelimit-policy`): decorating the head then edits fields, not only adds.
    var hasGatewayFieldNames: Bool

    /// The fields as `HTTPHeaders`.
    var headers: HTTPHeaders {
        var pairs: [(String, String)] = []
        fields.withUnsafeReadableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            Self.forEachLine(bytes) { name, value, _ in
                pairs.append((String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self),
                              String(decoding: UnsafeBufferPointer(rebasing: bytes[value]), as: UTF8.self)))
            }
        }
        return HTTPHeaders(pairs)
    }

    /// Calls `body` with each `name: value\r\n` line of `bytes` (as `fields` holds them): where
    /// its name and its value are, and where the line ends (after its CRLF). The name ends at the
    /// first colon (a name has none), the value at the CR (a value has none).
    static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (_ name: Range<Int>, _ value: Range<Int>, _ end: Int) -> Void) {
        var start = 0
        while start < bytes.count {
            var colon = start
            while bytes[colon] != UInt8(ascii: ":") { colon += 1 }
            var cr = colon + 2
            while bytes[cr] != UInt8(ascii: "\r") { cr += 1 }
            body(start..<colon, (colon + 2)..<cr, cr + 2)
            start = cr + 2
        }
    }

    /// The head as NIO's type.
    var head: HTTPResponseHead {
        HTTPResponseHead(version: version, status: status, headers: headers)
    }
}
