/// A request's id: the client's `x-request-id` when it is a sane token, otherwise 128 random bits
/// shown as 32 lower-case hex digits. A generated id is kept as its two words: the heads it goes
/// into (upstream request, response) get its digits written in place, so no string is made and
/// freed per request; `text` makes one where a string is needed (logs, function events, HTTP/2).
struct RequestID: Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Two words or a string: 17 bytes, copied without a value witness call.
    private enum Value: Equatable {
        /// Generated: `HexDigits` of the first word, then the second.
        case generated(UInt64, UInt64)
        /// The client's (or one read back).
        case text(String)
    }

    private let value: Value

    init(high: UInt64, low: UInt64) {
        value = .generated(high, low)
    }

    /// An id as text (the client's, or one read back).
    init(_ text: String) {
        value = .text(text)
    }

    init(stringLiteral value: String) {
        self.init(value)
    }

    /// The client's `x-request-id` when it is a sane token (1–128 visible ASCII characters),
    /// otherwise a new one.
    static func make(clientValue: String?, generator: inout RequestIDGenerator) -> RequestID {
        if let value = clientValue, !value.isEmpty, value.utf8.count <= 128,
           value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return RequestID(value)
        }
        return generator.nextID()
    }

    /// The gateway made it (then it also serves as a new trace's id).
    var isGenerated: Bool { words != nil }

    /// A generated id's two words.
    var words: (high: UInt64, low: UInt64)? {
        if case .generated(let high, let low) = value { return (high, low) }
        return nil
    }

    /// Its bytes' count.
    var utf8Count: Int {
        switch value {
        case .generated: return 32
        case .text(let text): return text.utf8.count
        }
    }

    var text: String {
        switch value {
        case .generated(let high, let low):
            return String(unsafeUninitializedCapacity: 32) { out in
                Self.write(high, low, to: UnsafeMutableRawPointer(out.baseAddress!))
                return 32
            }
        case .text(let text):
            return text
        }
    }

    var description: String { text }

    /// Writes its `utf8Count` bytes at `out`.
    func write(to out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(out.count >= utf8Count)
        switch value {
        case .generated(let high, let low): Self.write(high, low, to: UnsafeMutableRawPointer(out.baseAddress!))
        case .text(let text): _ = out.initialize(from: text.utf8)
        }
    }

    @inline(__always)
    private static func write(_ high: UInt64, _ low: UInt64, to out: UnsafeMutableRawPointer) {
        HexDigits.write(high, to: out)
        HexDigits.write(low, to: out + 16)
    }

    /// The same id, however it is held (a generated id equals its text read back).
    static func == (lhs: RequestID, rhs: RequestID) -> Bool {
        if case .generated = lhs.value, case .generated = rhs.value { return lhs.value == rhs.value }
        return lhs.text == rhs.text
    }
}

/// 128-bit request ids, from a wyrand generator seeded once from the system's random source. Ids
/// need to be unique, not secret, so one `getrandom` per event loop replaces two per request.
/// One generator per event loop; only that loop uses it.
struct RequestIDGenerator {
    private var state: UInt64

    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    init(seed: UInt64) {
        state = seed
    }

    private mutating func word() -> UInt64 {
        state &+= 0xA076_1D64_78BD_642F
        let product = state.multipliedFullWidth(by: state ^ 0xE703_7ED1_A0B4_28DB)
        return product.high ^ product.low
    }

    /// 64 random bits, never zero (a W3C span id).
    mutating func nextWord() -> UInt64 {
        let w = word()
        return w == 0 ? 1 : w
    }

    /// A new id (its digits are written when it is used).
    mutating func nextID() -> RequestID {
        let high = word()
        return RequestID(high: high, low: word())
    }
}
