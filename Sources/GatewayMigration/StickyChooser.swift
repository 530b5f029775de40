/// Which clients a canary answers (pure): a stable hash of the sticky identity and the route puts
/// every client in one of 10,000 buckets; the candidate answers the buckets below `weight`%. The
/// same client stays on the same side while the weight stays, and keeps the candidate when the
/// weight grows. A request without the identity is chosen by its request id (not sticky).
public enum StickyChooser {
    public static func bucket(identity: String, route: String) -> Int {
        // FNV-1a, 64 bits: stable across processes and restarts (Swift's Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in route.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ 0xff) &* 0x100_0000_01b3
        for byte in identity.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        // Final avalanche (from MurmurHash3's fmix64) so that near identities spread.
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        return Int(hash % 10_000)
    }

    /// Whether the candidate answers this client at `weight` percent.
    public static func toCandidate(identity: String, route: String, weight: Int) -> Bool {
        bucket(identity: identity, route: route) < weight * 100
    }
}
