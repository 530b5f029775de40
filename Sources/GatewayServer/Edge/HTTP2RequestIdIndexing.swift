import NIOCore
import NIOHPACK

/// When a response's `x-request-id` goes into HPACK's dynamic table, per HTTP/2 connection.
///
/// The field's value differs on every response, so it is sent without indexing (RFC 7541
/// §6.2.2): indexed, each would push out an entry later responses could reuse. But a field sent
/// without indexing still refers to its name by index when the encoder finds the name in a table,
/// and `x-request-id` is in no static table: without an entry of that name, its 12 bytes are
/// Huffman-coded anew in every response (about 2,000 instructions, `bench/callgrind http2`, and
/// 9 bytes on the wire). So the field is indexed on the connection's first response, the entry
/// (76 bytes of the table's 4,096) gives later responses the name, and it is indexed again every
/// `refresh` in case other entries pushed it out; in between it is sent without indexing, as
/// before. An entry a minute or less adds no more than the `date` field's one a second.
///
/// Only the connection's event loop uses it (its streams' codecs, in turn).
final class HTTP2RequestIdIndexing {
    static let refresh = TimeAmount.seconds(30)
    private var next: NIODeadline?

    /// How the field of a response to a request that started at `now` is to be sent.
    func indexing(at now: NIODeadline) -> HPACKIndexing {
        if let next, now < next { return .nonIndexable }
        next = now + Self.refresh
        return .indexable
    }
}
