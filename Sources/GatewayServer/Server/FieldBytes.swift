/// Checks of a header field's bytes, shared by the request decoder and the upstream response
/// parser.
enum FieldBytes {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// RFC 9110's tchar, one bit per byte below 128: `!#$%&'*+-.` and digits in the low word,
    /// letters and `^_`|~` in the high one.
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        let mask: UInt64 = byte < 64 ? 0x03FF_6CFA_0000_0000 : 0x57FF_FFFF_C7FF_FFFE
        return byte < 128 && (mask >> UInt64(byte & 63)) & 1 == 1
    }

    /// `isTokenByte` of every byte value, looked up with one load (the bit test costs about twice
    /// as many instructions per byte of a name).
    private nonisolated(unsafe) static let tokenTable: UnsafePointer<Bool> = {
        let table = UnsafeMutablePointer<Bool>.allocate(capacity: 256)
        for byte in 0...255 { table[byte] = isTokenByte(UInt8(byte)) }
        return UnsafePointer(table)
    }()

    /// `isTokenByte` and not an upper-case letter, of every byte value: an HTTP/2 field name's
    /// bytes.
    private nonisolated(unsafe) static let lowerTokenTable: UnsafePointer<Bool> = {
        let table = UnsafeMutablePointer<Bool>.allocate(capacity: 256)
        for byte in 0...255 { table[byte] = isTokenByte(UInt8(byte)) && !(65...90).contains(byte) }
        return UnsafePointer(table)
    }()

    /// Whether every byte of `bytes` is a token byte other than an upper-case letter.
    @inline(__always)
    static func isLowerToken(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let table = lowerTokenTable
        for byte in bytes where !table[Int(byte)] { return false }
        return true
    }

    /// Whether `bytes` holds a byte for which `flagged` (a word test, exact in saying whether
    /// some byte of the word is one) is true, eight bytes at a time; `byte` says the same of one
    /// byte, for the bytes after the last whole word.
    @inline(__always)
    private static func contains(_ bytes: UnsafeBufferPointer<UInt8>, _ flagged: (UInt64) -> Bool, _ byte: (UInt8) -> Bool) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= bytes.count {
            if flagged(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return true }
            i += 8
        }
        while i < bytes.count {
            if byte(base[i]) { return true }
            i += 1
        }
        return false
    }

    /// Whether some byte of `word` is zero (exact for the word as a whole).
    @inline(__always)
    private static func hasZero(_ word: UInt64) -> Bool {
        (word &- ones) & ~word & highBits != 0
    }

    /// Whether `bytes` holds NUL, CR or LF (not allowed in an HTTP/2 field value, RFC 9113 §8.2.1).
    static func containsLineByte(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        contains(bytes, { hasZero($0) || hasZero($0 ^ (ones &* 0x0A)) || hasZero($0 ^ (ones &* 0x0D)) },
                 { $0 == 0x00 || $0 == 0x0A || $0 == 0x0D })
    }

    /// Whether `bytes` holds a byte up to and with SP, or DEL (not allowed in an HTTP/2
    /// pseudo-header's value).
    static func containsSpaceOrControl(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        contains(bytes, { ($0 &- ones &* 0x21) & ~$0 & highBits != 0 || hasZero($0 ^ (ones &* 0x7F)) },
                 { $0 <= 0x20 || $0 == 0x7F })
    }

    /// Where the run of token bytes that starts at `bytes[start]` ends (`end` at the latest): a
    /// field name's end, when the byte there is its colon.
    @inline(__always)
    static func tokenEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int {
        let table = tokenTable
        var i = start
        while i < end && table[Int(bytes[i])] { i += 1 }
        return i
    }

    /// Whether `bytes[start..<end]` are all allowed in a field value: HTAB, SP through `~`, and
    /// with `obsText` the bytes from 0x80 up (RFC 9110 §5.5). Eight bytes at a time are tested for
    /// a byte below SP, a DEL and (without `obsText`) a byte from 0x80 up, with the usual word
    /// tricks (exact in saying whether such a byte is there); a word that has one, a tab for
    /// instance, and what follows it are looked at byte by byte.
    @inline(__always)
    static func valueIsAllowed(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, obsText: Bool) -> Bool {
        guard let base = bytes.baseAddress else { return start >= end }
        let raw = UnsafeRawPointer(base)
        var i = start
        while i + 8 <= end {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let belowSpace = (word &- ones &* 0x20) & ~word & highBits
            let xored = word ^ (ones &* 0x7F)
            let del = (xored &- ones) & ~xored & highBits
            let nonASCII = obsText ? 0 : word & highBits
            if belowSpace | del | nonASCII != 0 { break }
            i += 8
        }
        while i < end {
            let byte = base[i]
            guard (byte >= 0x20 && byte != 0x7F && (obsText || byte < 0x80)) || byte == 0x09 else { return false }
            i += 1
        }
        return true
    }
}
