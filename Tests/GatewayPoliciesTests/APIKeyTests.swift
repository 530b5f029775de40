import Foundation
import GatewayCore
import GatewayPolicies
import GatewayStore
import Testing

@Suite struct APIKeyTests {
    @Test func generatedKeysAreWellFormedAndDistinct() {
        let a = APIKey.generate(), b = APIKey.generate()
        #expect(a != b)
        #expect(a.hasPrefix("gw_") && a.count == APIKey.length)
        #expect(APIKey.isWellFormed(a))
    }

    @Test func theChecksumRejectsJunkBeforeAnyLookup() {
        let key = APIKey.generate()
        var chars = Array(key)
        chars[10] = chars[10] == "A" ? "B" : "A"
        #expect(!APIKey.isWellFormed(String(chars)))
        #expect(!APIKey.isWellFormed(key.dropLast()))
        #expect(!APIKey.isWellFormed("gw_" + String(repeating: "!", count: 28)))
        #expect(!APIKey.isWellFormed("sk_" + key.dropFirst(3)))
        // The checksum's own characters count: a changed or non-base62 last character is refused.
        let last = key.last!
        #expect(!APIKey.isWellFormed(key.dropLast() + (last == "0" ? "1" : "0")))
        #expect(!APIKey.isWellFormed(key.dropLast() + "-"))
        #expect(APIKey.isWellFormed(Substring(key)))
    }

    @Test func snapshotFindsOnlyValidKeys() {
        let good = APIKey.generate(), revoked = APIKey.generate(), expired = APIKey.generate()
        let snapshot = KeySnapshot([
            KeyRecord(id: "a", name: nil, plan: "basic", digest: APIKey.digest(good), createdAt: 0),
            KeyRecord(id: "b", name: nil, plan: "basic", digest: APIKey.digest(revoked), createdAt: 0, revokedAt: 50),
            KeyRecord(id: "c", name: nil, plan: "basic", digest: APIKey.digest(expired), createdAt: 0, expiresAt: 100),
        ])
        #expect(snapshot.lookup(good, at: 99)?.id == "a")
        #expect(snapshot.lookup(revoked, at: 49)?.id == "b")
        #expect(snapshot.lookup(revoked, at: 99) == nil)
        #expect(snapshot.lookup(expired, at: 99)?.id == "c")
        #expect(snapshot.lookup(expired, at: 100) == nil)
        #expect(snapshot.lookup(APIKey.generate(), at: 0) == nil)
        // The digest is SHA-256 of the key's bytes, however the text is held.
        #expect(APIKey.digest(good) == APIKey.digest(Substring(good)))
        #expect(KeyDigest(bytes: APIKey.digest("abc").bytes)!.bytes.prefix(4) == [0xBA, 0x78, 0x16, 0xBF])
    }
}

@Suite struct PresentedKeyMemoTests {
    @Test func theMemoGivesEachKeyItsOwnDigestAndRefusesJunk() {
        let a = APIKey.generate(), b = APIKey.generate()
        let snapshot = KeySnapshot([
            KeyRecord(id: "a", name: nil, plan: "basic", digest: APIKey.digest(a), createdAt: 0),
            KeyRecord(id: "b", name: nil, plan: "basic", digest: APIKey.digest(b), createdAt: 0, revokedAt: 50),
        ])
        let memo = PresentedKeyMemo()
        #expect(snapshot.entry(Substring(a), at: 10, memo: memo)?.record.id == "a")
        #expect(snapshot.entry(Substring(a), at: 10, memo: memo)?.record.id == "a")
        #expect(snapshot.entry(Substring(b), at: 10, memo: memo)?.record.id == "b")
        // The memo never answers for a key it does not hold: the last one differs in one byte.
        var changed = Array(a.utf8)
        changed[30] = changed[30] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(snapshot.entry(Substring(a), at: 10, memo: memo)?.record.id == "a")
        #expect(snapshot.entry(Substring(decoding: changed, as: UTF8.self), at: 10, memo: memo) == nil)
        #expect(snapshot.entry(Substring(a.dropLast()), at: 10, memo: memo) == nil)
        #expect(snapshot.entry("nonsense", at: 10, memo: memo) == nil)
        // Validity is the snapshot's, whatever the memo holds: b is revoked at 50.
        #expect(snapshot.entry(Substring(b), at: 49, memo: memo)?.record.id == "b")
        #expect(snapshot.entry(Substring(b), at: 50, memo: memo) == nil)
        // A key held in a longer text (a header value's slice) is the same key.
        let padded = "x" + b + "y"
        #expect(snapshot.entry(padded.dropFirst().dropLast(), at: 10, memo: memo)?.record.id == "b")
    }
}

@Suite struct StateStoreTests {
    func store() throws -> StateStore {
        try StateStore(path: NSTemporaryDirectory() + "state-\(UUID().uuidString)/state.sqlite")
    }

    @Test func keysAreStoredAsDigestsAndRotateWithOverlap() throws {
        let store = try store()
        let (record, secret) = try store.createKey(plan: "basic", name: "mobile", expiresAt: nil, now: 1000)
        let raw = try String(contentsOfFile: store.path, encoding: .isoLatin1)
        #expect(!raw.contains(secret), "the secret must never be stored")
        #expect(KeySnapshot(try store.keys()).lookup(secret, at: 1001)?.id == record.id)

        let (successor, newSecret) = try store.rotate(id: record.id, overlap: 3600, now: 2000)
        let snapshot = KeySnapshot(try store.keys())
        #expect(snapshot.lookup(secret, at: 2000 + 3599)?.id == record.id, "old key valid during the overlap")
        #expect(snapshot.lookup(secret, at: 2000 + 3600) == nil)
        #expect(snapshot.lookup(newSecret, at: 9999)?.id == successor.id)
        #expect(successor.plan == "basic" && successor.name == "mobile")

        try store.revoke(id: successor.id, now: 3000)
        #expect(KeySnapshot(try store.keys()).lookup(newSecret, at: 3001) == nil)
        #expect(throws: StateStore.StoreError.self) { try store.revoke(id: "key_nope") }
    }

    @Test func quotaCountsAreWrittenAndReadBack() throws {
        let store = try store()
        let now = 1_800_000_000.0
        let start = QuotaPeriod.day.window(containing: now).start
        try store.saveQuotas([.init(keyId: "k", periodStart: start, used: 7)])
        try store.saveQuotas([.init(keyId: "k", periodStart: start, used: 9)])
        #expect(try store.quotaUsage(keyId: "k", period: .day, now: now).used == 9)
        #expect(try store.quotaUsage(keyId: "k", period: .day, now: now + 86_400).used == 0)
    }
}
