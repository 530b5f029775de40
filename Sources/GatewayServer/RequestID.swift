/// Request ids: the client's `x-request-id` when it is a sane token, otherwise a new random one.
enum RequestID {
    static func make(clientValue: String?) -> String {
        if let value = clientValue, !value.isEmpty, value.utf8.count <= 128,
           value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return value
        }
        return generate()
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// 128 random bits as 32 lower-case hex digits.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = (generator.next() as UInt64, generator.next() as UInt64)
        return String(unsafeUninitializedCapacity: 32) { buffer in
            var i = 0
            for var word in [words.0, words.1] {
                for _ in 0..<16 {
                    buffer[i] = digits[Int(word >> 60)]
                    word <<= 4
                    i += 1
                }
            }
            return 32
        }
    }
}
