import NIOCore
import NIOHPACK

/// Which of a response's fields go into HPACK's dynamic table, per HTTP/2 connection, for the two
/// fields whose values mostly differ from one response to the next. NIOHPACK's encoder looks for
/// every field of every response in the whole table, entry by entry, so single-use entries cost
/// twice: each pushes out one a later response could have reused, and each makes every lookup
/// longer. With a table full of them (4,096 bytes, about 85 such entries), a response took
/// 51,900 instructions in the encoder instead of about 16,000 (`bench/callgrind http2-sizes`).
///
/// - `x-request-id` differs on every response, and is sent without indexing (RFC 7541 §6.2.2).
///   But a field sent without indexing still refers to its name by index when the encoder finds
///   the name in a table, and `x-request-id` is in no static table: without an entry of that name,
///   its 12 bytes are Huffman-coded anew in every response (about 2,000 instructions, and 9 bytes
///   on the wire). So the field is indexed on the connection's first response, the entry (76
///   bytes) gives later responses the name, and it is indexed again every `refresh` in case other
///   entries pushed it out.
/// - `content-length` differs with every response's size: it is indexed only when it is the
///   same as the connection's last response's (a client asking for the same thing again), and
///   then found whole in the table by the next ones; a different one is sent without indexing,
///   its name taken from the static table.
///
/// Only the connection's event loop uses it (its streams' codecs, in turn).
final class HTTP2FieldIndexing {
    static let refresh = TimeAmount.seconds(30)
    private var nextRequestId: NIODeadline?
    private var lastContentLength = ""

    /// How the request id of a response to a request that started at `now` is to be sent.
    func requestId(at now: NIODeadline) -> HPACKIndexing {
        if let nextRequestId, now < nextRequestId { return .nonIndexable }
        nextRequestId = now + Self.refresh
        return .indexable
    }

    /// How a response's Content-Length is to be sent.
    func contentLength(_ value: String) -> HPACKIndexing {
        if value == lastContentLength { return .indexable }
        lastContentLength = value
        return .nonIndexable
    }
}
