extension UnsafeBufferPointer where Element == UInt8 {
    /// The scalar whose UTF-8 encoding starts at `i` (valid UTF-8 assumed) and the offset after it.
    @inline(__always)
    func scalar(at i: Int) -> (UInt32, Int) {
        let b0 = UInt32(self[i])
        if b0 < 0x80 { return (b0, i + 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(self[i + 1] & 0x3F), i + 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(self[i + 1] & 0x3F) << 6 | UInt32(self[i + 2] & 0x3F), i + 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(self[i + 1] & 0x3F) << 12 | UInt32(self[i + 2] & 0x3F) << 6 | UInt32(self[i + 3] & 0x3F), i + 4)
    }

    /// The start of the scalar after the one at `i`.
    func scalarStart(after i: Int) -> Int {
        var j = i + 1
        while j < count, self[j] & 0xC0 == 0x80 { j += 1 }
        return j
    }

    /// The start of the scalar before `i` (not before `floor`).
    func scalarStart(before i: Int, floor: Int = 0) -> Int {
        var j = i - 1
        while j > floor, self[j] & 0xC0 == 0x80 { j -= 1 }
        return j
    }
}
