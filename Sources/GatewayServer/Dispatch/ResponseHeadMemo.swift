import NIOHTTP1

/// The last response head of an upstream connection, line by line, with what
/// `UpstreamResponseParser` read each line as: a line of the next head that is the same bytes again
/// (its line ending too) at the same place in the head takes its reading over instead of being read
/// anew — the name checked for token bytes, the value for control bytes, the name compared with
/// the ones the parser looks for, a Content-Length's digits, a Connection value's tokens.
///
/// A backend's heads mostly repeat line by line (`Server`, `Content-Type`, `Connection`, the same
/// Content-Length for the same resource); the `Date` line changes once a second, and a line that
/// differs is read as before, the lines after it still compared by their place. A head with any
/// line read anew is remembered in place of the last one, when it is at most `maxBytes` long and
/// has at most `maxLines` lines.
///
/// The comparison looks at every byte of the line, eight at a time, with no early exit: an
/// upstream connection carries the responses of many clients, and a response line (a
/// `Set-Cookie`, say) may hold another client's secret.
///
/// One per upstream connection (`UpstreamHandler`), used on its event loop only; its memory is
/// what the last head took (`MemoStorage`).
final class ResponseHeadMemo {
    /// What a line was read as.
    enum Reading: Equatable {
        case status(HTTPVersion, code: Int)
        case field(FieldLineReading)
    }

    static let maxBytes = 1024
    static let maxLines = 32

    struct Line {
        /// Where the line ends in the head (after its LF); it starts where the one before ends.
        var end: Int
        var reading: Reading
    }

    /// Everything in memory of its own, not in stored properties: the parser asks on every line,
    /// and a class's stored property would be checked for exclusive access on every use.
    private struct State {
        /// The remembered head's lines, one after another, up to its empty line (not included).
        var bytes = MemoStorage<UInt8>()
        var lines = MemoStorage<Line>()
        var count = 0
        /// The head being read: its lines so far, once one was read anew.
        var next = MemoStorage<Line>()
        var nextCount = 0
        /// The head being read has more lines than are remembered.
        var overflow = false
    }

    private let state: UnsafeMutablePointer<State>

    init() {
        state = .allocate(capacity: 1)
        state.initialize(to: State())
    }

    deinit {
        state.pointee.bytes.deallocate()
        state.pointee.lines.deallocate()
        state.pointee.next.deallocate()
        state.deallocate()
    }

    /// Lines remembered.
    var count: Int { state.pointee.count }

    /// Line `index`'s reading and length, when `head[start...]` begins with its bytes.
    func reading(_ index: Int, in head: UnsafeBufferPointer<UInt8>, at start: Int) -> (Reading, length: Int)? {
        let state = state.pointee
        guard index < state.count, let lines = state.lines.base, let bytes = state.bytes.base else { return nil }
        let from = index == 0 ? 0 : lines[index - 1].end
        let length = lines[index].end - from
        guard start + length <= head.count,
              Self.equal(UnsafeRawPointer(bytes + from), UnsafeRawPointer(head.baseAddress! + start), count: length) else { return nil }
        return (lines[index].reading, length)
    }

    /// Starts gathering the head being read, whose first `index` lines were the remembered ones.
    func start(sameUpTo index: Int) {
        state.pointee.nextCount = 0
        state.pointee.overflow = false
        for i in 0..<index { add(state.pointee.lines.base![i]) }
    }

    /// The next line of the head being read.
    func add(_ line: Line) {
        let count = state.pointee.nextCount
        guard count < Self.maxLines else {
            state.pointee.overflow = true
            return
        }
        state.pointee.next.reserve(count + 1, keeping: count, limit: Self.maxLines)
        (state.pointee.next.base! + count).initialize(to: line)
        state.pointee.nextCount = count + 1
    }

    /// Remembers the head gathered (`head` holds its bytes) in place of the last one; a head over
    /// the limits is not remembered, and the last one is forgotten.
    func remember(_ head: UnsafeBufferPointer<UInt8>) {
        let gathered = state.pointee.nextCount
        let end = gathered == 0 ? 0 : state.pointee.next.base![gathered - 1].end
        guard !state.pointee.overflow, gathered > 0, end <= Self.maxBytes else {
            state.pointee.count = 0
            return
        }
        state.pointee.bytes.reserve(end, keeping: 0, limit: Self.maxBytes)
        state.pointee.bytes.base!.update(from: head.baseAddress!, count: end)
        swap(&state.pointee.lines, &state.pointee.next)
        state.pointee.count = gathered
        state.pointee.nextCount = 0
    }

    /// Whether `count` bytes at `a` and `b` are equal, looking at all of them: eight at a time,
    /// the last eight (overlapping the word before) in place of the bytes after the last whole
    /// word; byte by byte only below eight.
    @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        var difference: UInt64 = 0
        if count >= 8 {
            var i = 0
            while i + 8 < count {
                difference |= a.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
            difference |= a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        } else {
            for i in 0..<count {
                difference |= UInt64(a.load(fromByteOffset: i, as: UInt8.self) ^ b.load(fromByteOffset: i, as: UInt8.self))
            }
        }
        return difference == 0
    }
}

/// What a field line of a response head was read as (`UpstreamResponseParser`): enough to apply it
/// to the head again without looking at its bytes, except to copy them.
struct FieldLineReading: Equatable {
    /// From the line's start: where the name ends, and where the value, without the spaces and
    /// tabs around it, starts and ends.
    var nameEnd: Int
    var valueStart: Int
    var valueEnd: Int
    /// The line reads `name: value\r\n` already: it is forwarded as it is.
    var plain: Bool
    /// The field belongs to the connection (RFC 9110 §7.6.1): not forwarded.
    var hopByHop: Bool
    var role: Role

    enum Role: Equatable {
        case other
        /// `x-request-id`, `ratelimit` or `ratelimit-policy`.
        case gatewayName
        /// Content-Length's value; nil: not plain digits.
        case contentLength(Int?)
        case transferEncoding(chunkedLast: Bool)
        case connection(HeaderRules.ConnectionTokens)
    }
}
