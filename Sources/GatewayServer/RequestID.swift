/// Request ids: the client's `x-request-id` when it is a sane token, otherwise a new random one.
enum RequestID {
    static func make(clientValue: String?) -> String {
        if let value = clientValue, !value.isEmpty, value.utf8.count <= 128,
           value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return value
        }
        return generate()
    }

    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let hi = generator.next() as UInt64
        let lo = generator.next() as UInt64
        return hex(hi) + hex(lo)
    }

    private static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
