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

    private static let digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102)

    /// 64 random bits, never zero (a W3C span id).
    mutating func nextWord() -> UInt64 {
        let w = word()
        return w == 0 ? 1 : w
    }

    mutating func next() -> String {
        let words = (word(), word())
        return String(unsafeUninitializedCapacity: 32) { buffer in
            withUnsafeBytes(of: Self.digits) { digits in
                var i = 0
                for var w in [words.0, words.1] {
                    for _ in 0..<16 {
                        buffer[i] = digits[Int(w >> 60)]
                        w <<= 4
                        i += 1
                    }
                }
            }
            return 32
        }
    }
}
