/// Request ids: the client's `x-request-id` when it is a sane token, otherwise a new random one.
enum RequestID {
    static func make(clientValue: String?, generator: inout RequestIDGenerator) -> String {
        if let value = clientValue, !value.isEmpty, value.utf8.count <= 128,
           value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return value
        }
        return generator.next()
    }
}

/// 128-bit request ids as 32 lower-case hex digits, from a wyrand generator seeded once from the
/// system's random source. Ids need to be unique, not secret, so one `getrandom` per event loop
/// replaces two per request. One generator per event loop; only that loop uses it.
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

    mutating func next() -> String {
        let words = (word(), word())
        return String(unsafeUninitializedCapacity: 32) { buffer in
            let out = UnsafeMutableRawPointer(buffer.baseAddress!)
            HexDigits.write(words.0, to: out)
            HexDigits.write(words.1, to: out + 16)
            return 32
        }
    }
}
