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

    /// Whether `text` has the shape and checksum of a gateway key.
    public static func isWellFormed<S: StringProtocol>(_ text: S) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == length, bytes.starts(with: prefix.utf8) else { return false }
        let body = bytes[0..<(length - checksumLength)]
        for b in body.dropFirst(prefix.utf8.count) where !isBase62(b) { return false }
        return Array(bytes[(length - checksumLength)...]) == checksum(Array(body))
    }

    /// The SHA-256 digest under which a key is stored.
    public static func digest<S: StringProtocol>(_ text: S) -> KeyDigest {
        KeyDigest(SHA256.hash(data: Array(text.utf8)))
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

    init(_ digest: SHA256.Digest) {
        var words: [UInt64] = [0, 0, 0, 0]
        digest.withUnsafeBytes { raw in
            for i in 0..<4 { words[i] = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
        }
        (a, b, c, d) = (words[0], words[1], words[2], words[3])
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
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
