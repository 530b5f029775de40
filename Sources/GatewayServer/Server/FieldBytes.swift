/// Checks of a header field's bytes, shared by the request decoder and the upstream response
/// parser. (Checking values eight bytes at a time was tried: 0.7–0.9% fewer instructions, but the
/// policy row came out slower in two paired `bench/run`s, so the byte loops stay.)
enum FieldBytes {
    /// RFC 9110's tchar, one bit per byte below 128: `!#$%&'*+-.` and digits in the low word,
    /// letters and `^_`|~` in the high one.
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        let mask: UInt64 = byte < 64 ? 0x03FF_6CFA_0000_0000 : 0x57FF_FFFF_C7FF_FFFE
        return byte < 128 && (mask >> UInt64(byte & 63)) & 1 == 1
    }
}
