/// W3C Trace Context for one request: the client's `traceparent` continued (same trace id and
/// flags, the client's span as parent), or a new trace; the gateway's own span id is what
/// upstreams and functions receive as their parent. `tracestate` travels unchanged.
struct TraceContext: Sendable, Equatable {
    /// 32 lower-case hex digits.
    let traceId: String
    /// 16 lower-case hex digits: the gateway's span for this request.
    let spanId: String
    /// The client's span, when it sent a valid `traceparent`.
    let parentId: String?
    /// `01` sampled, `00` not.
    let flags: String

    /// The `traceparent` sent on to upstreams and functions.
    var traceparent: String { "00-\(traceId)-\(spanId)-\(flags)" }

    static func make(incoming: String?, generator: inout RequestIDGenerator) -> TraceContext {
        let span = generator.nextSpanID()
        if let incoming, let parsed = parse(incoming) {
            return TraceContext(traceId: parsed.traceId, spanId: span, parentId: parsed.parentId, flags: parsed.flags)
        }
        return TraceContext(traceId: generator.next(), spanId: span, parentId: nil, flags: "01")
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
