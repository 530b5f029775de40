/// The last API key one client connection presented, with its digest. A client sends the same key
/// with every request on its connection, and checking it again (the checksum) and hashing it
/// again (SHA-256) cost about 3,000 instructions a request (`bench/callgrind policy`). The key's
/// 31 bytes are kept in place (no allocation) and compared without an early exit, so how long the
/// comparison takes tells nothing about the key held (a connection may carry several clients'
/// requests, behind another proxy). Only the hashing is saved: the digest is still looked up in
/// the current snapshot for every request, so revocation and expiry take effect at once.
///
/// Not thread-safe: one per connection, used on its event loop.
public final class PresentedKeyMemo {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var digest: KeyDigest?

    public init() {}

    /// The digest of a well-formed key; nil for any other text.
    func digest(of bytes: UnsafeBufferPointer<UInt8>) -> KeyDigest? {
        guard bytes.count == APIKey.length else { return nil }
        let presented = Self.words(bytes)
        if let digest {
            let difference = (presented.0 ^ words.0) | (presented.1 ^ words.1) | (presented.2 ^ words.2)
                | (presented.3 ^ words.3)
            if difference == 0 { return digest }
        }
        guard APIKey.isWellFormed(bytes: bytes) else { return nil }
        let computed = APIKey.digest(bytes: bytes)
        words = presented
        digest = computed
        return computed
    }

    /// The key's bytes as four words (31 bytes and a zero).
    private static func words(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64, UInt64, UInt64) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { out in
            out.copyMemory(from: UnsafeRawBufferPointer(start: bytes.baseAddress, count: min(bytes.count, 32)))
        }
        return words
    }
}
