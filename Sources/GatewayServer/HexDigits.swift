/// Lower-case hex digits of 64-bit values, eight at a time: the nibbles are spread into the bytes of
/// a word and turned into ASCII together (no loop over digits, no table), then stored with one
/// write each. Request ids, trace ids and span ids are made with it on every request.
enum HexDigits {
    /// Writes the 16 digits of `value`, most significant first, at `out` (16 bytes).
    @inline(__always)
    static func write(_ value: UInt64, to out: UnsafeMutableRawPointer) {
        out.storeBytes(of: eight(UInt32(truncatingIfNeeded: value >> 32)), as: UInt64.self)
        (out + 8).storeBytes(of: eight(UInt32(truncatingIfNeeded: value)), as: UInt64.self)
    }

    /// The 8 digits of `value` as the bytes of a word, in memory order.
    @inline(__always)
    static func eight(_ value: UInt32) -> UInt64 {
        // Byte k gets nibble k (the least significant in byte 0).
        var x = UInt64(value)
        x = (x | x << 16) & 0x0000_FFFF_0000_FFFF
        x = (x | x << 8) & 0x00FF_00FF_00FF_00FF
        x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // 1 in each byte whose nibble is 10 or more: it becomes a letter (`a` is `0` + 10 + 39).
        let letters = (x &+ 0x0606_0606_0606_0606) >> 4 & 0x0101_0101_0101_0101
        x = x &+ 0x3030_3030_3030_3030 &+ letters &* 39
        // Stored most significant digit first: the word's bytes in big-endian order.
        return x.bigEndian
    }
}
