import GatewayCore

/// A known key as the request path uses it: the record, and its id and plan name hashed once
/// when the snapshot is made (they name its token buckets, quota and plan at every request).
/// A class: a lookup hands on one reference instead of copying the record's strings.
public final class KeyEntry: Sendable {
    public let record: KeyRecord
    public let id: HashedName
    public let plan: HashedName

    public init(_ record: KeyRecord) {
        self.record = record
        self.id = HashedName(record.id)
        self.plan = HashedName(record.plan)
    }
}
