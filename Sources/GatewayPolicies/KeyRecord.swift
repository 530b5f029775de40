import GatewayCore

/// A stored API key, without its secret.
public struct KeyRecord: Sendable, Equatable {
    public var id: String
    public var name: String?
    public var plan: String
    public var digest: KeyDigest
    /// Seconds since 1970.
    public var createdAt: Double
    public var expiresAt: Double?
    public var revokedAt: Double?
    /// The key that replaced this one by rotation.
    public var rotatedTo: String?

    public init(id: String, name: String?, plan: String, digest: KeyDigest, createdAt: Double,
                expiresAt: Double? = nil, revokedAt: Double? = nil, rotatedTo: String? = nil) {
        self.id = id
        self.name = name
        self.plan = plan
        self.digest = digest
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.rotatedTo = rotatedTo
    }

    public func isValid(at time: Double) -> Bool {
        if let revokedAt, revokedAt <= time { return false }
        if let expiresAt, expiresAt <= time { return false }
        return true
    }

    public func status(at time: Double) -> String {
        if let revokedAt, revokedAt <= time { return "revoked" }
        if let expiresAt, expiresAt <= time { return "expired" }
        if rotatedTo != nil { return "rotating" }
        return "active"
    }
}

/// The keys a running gateway knows, by digest: an immutable snapshot, refreshed from the store.
public struct KeySnapshot: Sendable {
    private let byDigest: [KeyDigest: KeyEntry]

    public init(_ records: [KeyRecord]) {
        var map: [KeyDigest: KeyEntry] = [:]
        for r in records { map[r.digest] = KeyEntry(r) }
        byDigest = map
    }

    public static let empty = KeySnapshot([])

    public var count: Int { byDigest.count }

    public var records: [KeyRecord] { byDigest.values.map(\.record) }

    /// The valid key a presented secret belongs to; nil for junk, unknown, revoked or expired keys.
    public func lookup<S: StringProtocol>(_ secret: S, at time: Double) -> KeyRecord? {
        guard APIKey.isWellFormed(secret) else { return nil }
        guard let entry = byDigest[APIKey.digest(secret)], entry.record.isValid(at: time) else { return nil }
        return entry.record
    }

    public func lookup(_ secret: String, at time: Double) -> KeyRecord? {
        var secret = secret
        return secret.withUTF8 { entry(bytes: $0, at: time) }?.record
    }

    /// The same for the gateway's request path: the key's entry, without generics (called across
    /// the module boundary, the generic version's byte access instantiated `Optional`'s metadata
    /// at run time twice per request: 2,500 instructions, bench/callgrind policy).
    public func entry(_ secret: Substring, at time: Double) -> KeyEntry? {
        var secret = secret
        return secret.withUTF8 { entry(bytes: $0, at: time) }
    }

    /// The same, with the connection's memo of the key it presented last: the same key again is
    /// not checked and hashed again (`PresentedKeyMemo`).
    public func entry(_ secret: Substring, at time: Double, memo: PresentedKeyMemo) -> KeyEntry? {
        var secret = secret
        return secret.withUTF8 { bytes in
            guard let digest = memo.digest(of: bytes), let entry = byDigest[digest], entry.record.isValid(at: time) else {
                return nil
            }
            return entry
        }
    }

    private func entry(bytes: UnsafeBufferPointer<UInt8>, at time: Double) -> KeyEntry? {
        guard APIKey.isWellFormed(bytes: bytes) else { return nil }
        guard let entry = byDigest[APIKey.digest(bytes: bytes)], entry.record.isValid(at: time) else { return nil }
        return entry
    }
}
