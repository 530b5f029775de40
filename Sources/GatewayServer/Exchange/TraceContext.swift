/// W3C Trace Context for one request: the client's `traceparent` continued (same trace id and
/// flags, the client's span as parent), or a new trace; the gateway's own span id is what
/// upstreams and functions receive as their parent. `tracestate` travels unchanged. Kept small:
/// a new trace reuses the request id the gateway generated as its trace id (its two words, no
/// string), the span id is a number, and `traceparent` is written straight into the upstream
/// head (or one `String`).
struct TraceContext: Sendable, Equatable {
    /// The trace id's 128 bits (a new trace's are the generated request id's).
    private let traceHigh: UInt64
    private let traceLow: UInt64
    /// The gateway's span for this request.
    let span: UInt64
    /// The client's span, when it sent a valid `traceparent` (never zero then); 0: none.
    private let parent: UInt64
    /// `true`: sampled (`01`).
    let sampled: Bool

    /// 32 lower-case hex digits.
    var traceId: String {
        String(unsafeUninitializedCapacity: 32) { out in
            Self.writeHex(traceHigh, into: out, at: 0)
            Self.writeHex(traceLow, into: out, at: 16)
            return 32
        }
    }

    /// The client's span, when it sent a valid `traceparent`: 16 lower-case hex digits.
    var parentId: String? { parent == 0 ? nil : Self.hex(parent) }

    /// The client sent a valid `traceparent` (the forwarded one replaces it).
    var continued: Bool { parent != 0 }

    /// 16 lower-case hex digits.
    var spanId: String { Self.hex(span) }

    /// The `traceparent` sent on to upstreams and functions.
    var traceparent: String {
        String(unsafeUninitializedCapacity: Self.traceparentLength) { out in
            write(traceparentInto: out)
            return Self.traceparentLength
        }
    }

    /// The bytes of `traceparent`.
    static let traceparentLength = 55

    /// Writes `traceparent` into `out` (`traceparentLength` bytes): the upstream head takes it so,
    /// without a `String` made and freed per request.
    func write(traceparentInto out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(out.count >= Self.traceparentLength)
        out[0] = 48; out[1] = 48; out[2] = 45
        Self.writeHex(traceHigh, into: out, at: 3)
        Self.writeHex(traceLow, into: out, at: 19)
        out[35] = 45
        Self.writeHex(span, into: out, at: 36)
        out[52] = 45; out[53] = 48; out[54] = sampled ? 49 : 48
    }

    static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { out in
            writeHex(value, into: out, at: 0)
            return 16
        }
    }

    /// 16 lower-case hex digits of `value` from `start`.
    @inline(__always)
    private static func writeHex(_ value: UInt64, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        precondition(start + 16 <= out.count)
        HexDigits.write(value, to: UnsafeMutableRawPointer(out.baseAddress! + start))
    }

    /// The context a tracer propagates (its span becomes the gateway's span id).
    init?(propagated traceparent: String, incoming: String?) {
        guard let parsed = Self.parse(traceparent), let span = UInt64(parsed.parentId, radix: 16) else { return nil }
        self.init(traceId: parsed.traceId, span: span, parentId: incoming.flatMap(Self.parse).map(\.parentId),
                  sampled: (UInt8(parsed.flags, radix: 16) ?? 0) & 1 == 1)
    }

    /// - Parameters:
    ///   - traceId: 32 hex digits (as `parse` accepts them).
    ///   - parentId: 16 hex digits, not all zero.
    init(traceId: String, span: UInt64, parentId: String?, sampled: Bool) {
        precondition(traceId.utf8.count == 32, "a trace id is 32 hex digits")
        self.traceHigh = Self.word(traceId.utf8.prefix(16))
        self.traceLow = Self.word(traceId.utf8.dropFirst(16))
        self.span = span
        self.parent = parentId.map { Self.word($0.utf8) } ?? 0
        self.sampled = sampled
    }

    /// The value of up to 16 hex digits (checked by `parse`).
    private static func word<Digits: Collection<UInt8>>(_ digits: Digits) -> UInt64 {
        var value: UInt64 = 0
        for d in digits.prefix(16) {
            value = value << 4 | UInt64(d <= 57 ? d &- 48 : (d | 0x20) &- 87)
        }
        return value
    }

    private init(traceHigh: UInt64, traceLow: UInt64, span: UInt64) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.span = span
        self.parent = 0
        self.sampled = true
    }

    /// - Parameter requestId: the request's id; when the gateway generated it (128 random bits)
    ///   they serve as the trace id of a new trace.
    static func make(incoming: String?, requestId: RequestID?, generator: inout RequestIDGenerator) -> TraceContext {
        let span = generator.nextWord()
        if let incoming, let parsed = parse(incoming) {
            let sampled = (UInt8(parsed.flags, radix: 16) ?? 0) & 1 == 1
            return TraceContext(traceId: parsed.traceId, span: span, parentId: parsed.parentId, sampled: sampled)
        }
        let words = requestId?.words ?? generator.nextID().words!
        return TraceContext(traceHigh: words.high, traceLow: words.low, span: span)
    }

    /// `version-traceid-parentid-flags`; version `ff`, all-zero ids, upper case or wrong lengths
    /// are invalid (then a new trace starts). A later version's extra fields are ignored.
    static func parse(_ value: String) -> (traceId: String, parentId: String, flags: String)? {
        let utf8 = Array(value.utf8)
        guard utf8.count >= 55 else { return nil }
        func hex(_ range: Range<Int>) -> Bool {
            utf8[range].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
        }
        guard hex(0..<2), utf8[2] == 45, hex(3..<35), utf8[35] == 45, hex(36..<52), utf8[52] == 45, hex(53..<55) else { return nil }
        let version = String(decoding: utf8[0..<2], as: UTF8.self)
        guard version != "ff", version != "00" || utf8.count == 55, utf8.count == 55 || utf8[55] == 45 else { return nil }
        let traceId = String(decoding: utf8[3..<35], as: UTF8.self)
        let parentId = String(decoding: utf8[36..<52], as: UTF8.self)
        guard traceId != String(repeating: "0", count: 32), parentId != String(repeating: "0", count: 16) else { return nil }
        return (traceId, parentId, String(decoding: utf8[53..<55], as: UTF8.self))
    }
}
