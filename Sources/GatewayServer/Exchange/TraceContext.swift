/// W3C Trace Context for one request: the client's `traceparent` continued (same trace id and
/// flags, the client's span as parent), or a new trace; the gateway's own span id is what
/// upstreams and functions receive as their parent. `tracestate` travels unchanged. Kept small:
/// a new trace reuses the request id the gateway generated as its trace id, the span id is a
/// number, and `traceparent` is written straight into the upstream head (or one `String`).
struct TraceContext: Sendable, Equatable {
    /// 32 lower-case hex digits.
    let traceId: String
    /// The gateway's span for this request.
    let span: UInt64
    /// The client's span, when it sent a valid `traceparent`.
    let parentId: String?
    /// `true`: sampled (`01`).
    let sampled: Bool

    /// The client sent a valid `traceparent` (the forwarded one replaces it).
    var continued: Bool { parentId != nil }

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
        out[0] = 48; out[1] = 48; out[2] = 45
        // The trace id is 32 bytes (validated or generated): copied as a block when it is
        // stored contiguously, as a native string is.
        let copied = traceId.utf8.count == 32 && traceId.utf8.withContiguousStorageIfAvailable {
            UnsafeMutableRawPointer(out.baseAddress! + 3).copyMemory(from: $0.baseAddress!, byteCount: 32)
        } != nil
        if !copied {
            var i = 3
            for byte in traceId.utf8.prefix(32) { out[i] = byte; i += 1 }
        }
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
        self.traceId = parsed.traceId
        self.span = span
        self.parentId = incoming.flatMap(Self.parse).map(\.parentId)
        self.sampled = (UInt8(parsed.flags, radix: 16) ?? 0) & 1 == 1
    }

    init(traceId: String, span: UInt64, parentId: String?, sampled: Bool) {
        self.traceId = traceId
        self.span = span
        self.parentId = parentId
        self.sampled = sampled
    }

    /// - Parameter generatedId: the request id when the gateway generated it (32 random hex
    ///   digits: it serves as the trace id of a new trace).
    static func make(incoming: String?, generatedId: String?, generator: inout RequestIDGenerator) -> TraceContext {
        let span = generator.nextWord()
        if let incoming, let parsed = parse(incoming) {
            let sampled = (UInt8(parsed.flags, radix: 16) ?? 0) & 1 == 1
            return TraceContext(traceId: parsed.traceId, span: span, parentId: parsed.parentId, sampled: sampled)
        }
        return TraceContext(traceId: generatedId ?? generator.next(), span: span, parentId: nil, sampled: true)
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
