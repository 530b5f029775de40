import Crypto

/// Gateway-issued API keys: `gw_` + 22 base62 characters (130 random bits) + a 6-character
/// base62 CRC-32 of the preceding text, so junk is rejected before any lookup. Only the SHA-256
/// digest is stored; lookups compare digests.
public enum APIKey {
    public static let prefix = "gw_"
    static let randomLength = 22
    static let checksumLength = 6
    public static let length = 3 + 22 + 6
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A new secret.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var body: [UInt8] = Array(prefix.utf8)
        for _ in 0..<randomLength {
            // Rejection sampling keeps every character uniform.
            var byte: UInt8
            repeat { byte = generator.next() } while byte >= 248
            body.append(alphabet[Int(byte % 62)])
        }
        body.append(contentsOf: checksum(body))
        return String(decoding: body, as: UTF8.self)
    }

    /// Whether `text` has the shape and checksum of a gateway key: one pass over its bytes, the
    /// CRC-32 of prefix and body compared with the base62 number the last six characters spell.
    public static func isWellFormed<S: StringProtocol>(_ text: S) -> Bool {
        withBytes(text) { isWellFormed(bytes: $0) }
    }

    static func isWellFormed(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == length, bytes[0] == prefixBytes.0, bytes[1] == prefixBytes.1, bytes[2] == prefixBytes.2 else {
            return false
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for i in 0..<3 { crc = CRC32.update(crc, bytes[i]) }
        for i in 3..<(length - checksumLength) {
            guard base62Value(bytes[i]) != nil else { return false }
            crc = CRC32.update(crc, bytes[i])
        }
        var spelled: UInt64 = 0
        for i in (length - checksumLength)..<length {
            guard let digit = base62Value(bytes[i]) else { return false }
            spelled = spelled * 62 + UInt64(digit)
        }
        return spelled == UInt64(crc ^ 0xFFFF_FFFF)
    }

    /// The SHA-256 digest under which a key is stored.
    public static func digest<S: StringProtocol>(_ text: S) -> KeyDigest {
        withBytes(text) { digest(bytes: $0) }
    }

    static func digest(bytes: UnsafeBufferPointer<UInt8>) -> KeyDigest {
        KeyDigest(SHA256.hash(data: UnsafeRawBufferPointer(bytes)))
    }

    /// A text's UTF-8 bytes in place (copied only when it has no contiguous storage): the generic
    /// entry points above make one call through `S`'s witnesses, not one per byte.
    private static func withBytes<S: StringProtocol, R>(_ text: S, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }

    private static let prefixBytes: (UInt8, UInt8, UInt8) = (0x67, 0x77, 0x5F)  // "gw_"

    static func base62Value(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...90: b - 55
        case 97...122: b - 61
        default: nil
        }
    }

    static func isBase62(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    static func checksum(_ body: [UInt8]) -> [UInt8] {
        var value = UInt64(CRC32.checksum(body))
        var out = [UInt8](repeating: alphabet[0], count: checksumLength)
        for i in stride(from: checksumLength - 1, through: 0, by: -1) {
            out[i] = alphabet[Int(value % 62)]
            value /= 62
        }
        return out
    }
}

/// A SHA-256 digest as four words: cheap to hash and compare.
public struct KeyDigest: Hashable, Sendable {
    let a: UInt64, b: UInt64, c: UInt64, d: UInt64

    /// One word of the digest is hashed: its bits are SHA-256's, as even as any hash of them would
    /// be, and `==` compares all four (a lookup hashed 32 bytes per request before).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(a)
    }

    init(_ digest: SHA256.Digest) {
        (a, b, c, d) = digest.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
    }

    /// The 32 bytes, for storage.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for w in [a, b, c, d] { withUnsafeBytes(of: w) { out.append(contentsOf: $0) } }
        return out
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        var words: [UInt64] = []
        bytes.withUnsafeBytes { raw in
            for i in 0..<4 { words.append(raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
        }
        (a, b, c, d) = (words[0], words[1], words[2], words[3])
    }
}

/// CRC-32 (IEEE), for key checksums.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = update(crc, b) }
        return crc ^ 0xFFFF_FFFF
    }

    @inline(__always)
    static func update(_ crc: UInt32, _ byte: UInt8) -> UInt32 {
        table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
    }
}
