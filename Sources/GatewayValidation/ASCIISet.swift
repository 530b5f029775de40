/// A set of ASCII bytes as a 128-bit bitmap, for the loops that classify every byte of a string
/// (regex character classes, host names, e-mail local parts): membership is a shift and a mask
/// instead of a chain of range comparisons. Bytes >= 0x80 are never members.
struct ASCIISet: Sendable {
    /// Bit c: byte c (c < 64) is a member.
    let low: UInt64
    /// Bit c - 64: byte c (64 <= c < 128) is a member.
    let high: UInt64

    init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    /// The bytes in `ranges` (ASCII) and in `members`.
    init(_ ranges: [ClosedRange<UInt8>], _ members: String = "") {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for byte in ranges.flatMap({ Array($0) }) + Array(members.utf8) where byte < 128 {
            if byte < 64 { low |= 1 << UInt64(byte) } else { high |= 1 << UInt64(byte - 64) }
        }
        self.low = low
        self.high = high
    }

    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        if byte < 64 { return low & (1 << UInt64(byte)) != 0 }
        return byte < 128 && high & (1 << UInt64(byte &- 64)) != 0
    }

    /// RFC 1123 host name label characters: letters, digits, hyphen.
    static let hostnameLabel = ASCIISet([0x30...0x39, 0x41...0x5A, 0x61...0x7A], "-")
    /// RFC 5322 `atext`: letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
    static let atext = ASCIISet([0x30...0x39, 0x41...0x5A, 0x61...0x7A], "!#$%&'*+-/=?^_`{|}~")
}
