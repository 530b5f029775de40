import NIOCore
import NIOHPACK

/// Which of a response's fields go into HPACK's dynamic table, per HTTP/2 connection: the request
/// id now and then, an upstream's fields when they repeat. NIOHPACK's encoder looks for
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
/// - An upstream's field is indexed only when its line is the same bytes as the line at the same
///   place in the connection's last forwarded response (a client asking for the same thing
///   again): the next ones then find it whole in the table. A line that differs — Content-Length
///   with every size, an ETag, a Set-Cookie, a correlation id, the Date of a new second — is sent
///   without indexing, its name from the static table when it is there. So is every line of the
///   connection's first response. (The last head's lines are kept, in memory grown to what they
///   take, up to `maxBytes` and `maxLines`; a longer head is compared with nothing.)
/// - In a head the gateway makes (an error, a function's answer), `content-length` is indexed
///   only when it is the connection's last one again.
///
/// Only the connection's event loop uses it (its streams' codecs, in turn).
final class HTTP2FieldIndexing {
    static let refresh = TimeAmount.seconds(30)
    static let maxBytes = 2048
    static let maxLines = 64

    private var nextRequestId: NIODeadline?
    private var lastContentLength = ""

    /// The last forwarded head's field lines, in memory of their own (`MemoStorage`: grown to
    /// what they take; a class's stored property would be checked for exclusive access at every
    /// use).
    private struct Lines {
        var bytes = MemoStorage<UInt8>()
        /// Where each line ends in `bytes` (after its CRLF).
        var ends = MemoStorage<Int>()
        var count = 0
        /// A line of the head being written differed (or was past the last head's).
        var changed = false
    }

    private let lines: UnsafeMutablePointer<Lines>

    init() {
        lines = .allocate(capacity: 1)
        lines.initialize(to: Lines())
    }

    deinit {
        lines.pointee.bytes.deallocate()
        lines.pointee.ends.deallocate()
        lines.deallocate()
    }

    /// How the request id of a response to a request that started at `now` is to be sent.
    func requestId(at now: NIODeadline) -> HPACKIndexing {
        if let nextRequestId, now < nextRequestId { return .nonIndexable }
        nextRequestId = now + Self.refresh
        return .indexable
    }

    /// How a gateway-made head's Content-Length is to be sent.
    func contentLength(_ value: String) -> HPACKIndexing {
        if value == lastContentLength { return .indexable }
        lastContentLength = value
        return .nonIndexable
    }

    /// How line `index` (its bytes, CRLF included, at `line`) of a forwarded head is to be sent:
    /// indexed when the last forwarded head's line there is the same bytes. After its lines,
    /// `forwarded(_:)`.
    func line(_ index: Int, _ line: UnsafeRawBufferPointer) -> HPACKIndexing {
        let last = lines.pointee
        if index < last.count, let ends = last.ends.base, let bytes = last.bytes.base {
            let start = index == 0 ? 0 : ends[index - 1]
            if ends[index] - start == line.count,
               ResponseHeadMemo.equal(UnsafeRawPointer(bytes + start), line.baseAddress!, count: line.count) {
                return .indexable
            }
        }
        lines.pointee.changed = true
        return .nonIndexable
    }

    /// The forwarded head's field lines (`name: value\r\n` each), after `line(_:_:)` was asked of
    /// each: remembered in place of the last head's when they differ.
    func forwarded(_ fields: UnsafeRawBufferPointer, lineCount: Int) {
        guard lines.pointee.changed || lineCount != lines.pointee.count else { return }
        lines.pointee.changed = false
        guard fields.count <= Self.maxBytes, lineCount <= Self.maxLines else {
            lines.pointee.count = 0
            return
        }
        lines.pointee.bytes.reserve(fields.count, keeping: 0, limit: Self.maxBytes)
        lines.pointee.ends.reserve(lineCount, keeping: 0, limit: Self.maxLines)
        if let base = fields.baseAddress, let bytes = lines.pointee.bytes.base {
            UnsafeMutableRawPointer(bytes).copyMemory(from: base, byteCount: fields.count)
        }
        var count = 0
        if let ends = lines.pointee.ends.base {
            let room = lines.pointee.ends.capacity
            UpstreamResponseHead.forEachLine(fields.bindMemory(to: UInt8.self)) { _, _, end in
                guard count < room else { return }
                ends[count] = end
                count += 1
            }
        }
        lines.pointee.count = count
    }
}
