import Testing
@testable import GatewayAuthorizers

@Suite struct AuthorizerCacheTests {
    typealias Cache = AuthorizerCache<String, Int>
    let second: UInt64 = 1_000_000_000

    @Test func aMissThenAHitUntilTheTTLEnds() {
        var cache = Cache(capacity: 10)
        guard case .miss = cache.lookup("k", now: 0, waiter: { 1 }) else { Issue.record("first lookup must miss"); return }
        #expect(cache.complete("k", value: "allow", ttl: 300 * second, now: 0) == [])
        guard case .hit(let v) = cache.lookup("k", now: 299 * second, waiter: { 2 }) else { Issue.record("must hit"); return }
        #expect(v == "allow")
        guard case .miss = cache.lookup("k", now: 300 * second, waiter: { 3 }) else { Issue.record("expired entry must miss"); return }
        #expect(cache.stats.hits == 1 && cache.stats.misses == 2)
    }

    @Test func concurrentLookupsWaitForTheOneCallout() {
        var cache = Cache(capacity: 10)
        var misses = 0
        for waiter in 0..<100 {
            switch cache.lookup("token", now: 5, waiter: { waiter }) {
            case .miss: misses += 1
            case .wait: break
            case .hit: Issue.record("nothing is cached yet")
            }
        }
        #expect(misses == 1, "exactly one callout for 100 simultaneous lookups")
        let resumed = cache.complete("token", value: "allow", ttl: second, now: 6)
        #expect(resumed == Array(1..<100))
        #expect(cache.stats.coalesced == 99)
        guard case .hit = cache.lookup("token", now: 7, waiter: { 100 }) else { Issue.record("must hit after completion"); return }
    }

    @Test func errorsAreNeverCached() {
        var cache = Cache(capacity: 10)
        _ = cache.lookup("k", now: 0, waiter: { 0 })
        _ = cache.lookup("k", now: 0, waiter: { 1 })
        #expect(cache.complete("k", value: nil, ttl: 300 * second, now: 0) == [1], "waiters learn of the failure")
        #expect(cache.stats.errors == 1)
        guard case .miss = cache.lookup("k", now: 1, waiter: { 2 }) else { Issue.record("a failure must not be cached"); return }
    }

    @Test func zeroTTLCachesNothing() {
        var cache = Cache(capacity: 10)
        _ = cache.lookup("k", now: 0, waiter: { 0 })
        _ = cache.complete("k", value: "allow", ttl: 0, now: 0)
        guard case .miss = cache.lookup("k", now: 0, waiter: { 1 }) else { Issue.record("ttl 0 must not cache"); return }
    }

    @Test func leastRecentlyUsedEntriesGoFirst() {
        var cache = Cache(capacity: 3)
        for key in ["a", "b", "c"] {
            _ = cache.lookup(key, now: 0, waiter: { 0 })
            _ = cache.complete(key, value: key, ttl: 100 * second, now: 0)
        }
        _ = cache.lookup("a", now: 1, waiter: { 0 })          // a is now the most recent; b the least
        _ = cache.lookup("d", now: 1, waiter: { 0 })
        _ = cache.complete("d", value: "d", ttl: 100 * second, now: 1)
        #expect(cache.count == 3)
        #expect(cache.stats.evictions == 1)
        guard case .miss = cache.lookup("b", now: 2, waiter: { 0 }) else { Issue.record("b was least recently used"); return }
        for key in ["a", "c", "d"] {
            guard case .hit = cache.lookup(key, now: 2, waiter: { 0 }) else { Issue.record("\(key) must still be cached"); return }
        }
    }

    @Test func boundedUnderManyKeys() {
        var cache = Cache(capacity: 50)
        for i in 0..<10_000 {
            let key = "key-\(i)"
            _ = cache.lookup(key, now: UInt64(i), waiter: { i })
            _ = cache.complete(key, value: key, ttl: 1000 * second, now: UInt64(i))
        }
        #expect(cache.count == 50)
        #expect(cache.stats.evictions == 10_000 - 50)
        guard case .hit(let v) = cache.lookup("key-9999", now: 10_000, waiter: { 0 }) else { Issue.record("newest must be kept"); return }
        #expect(v == "key-9999")
    }

    @Test func twoIdentitiesNeverShareAnEntry() {
        var cache = Cache(capacity: 10)
        _ = cache.lookup("auth\u{0}tenant-a", now: 0, waiter: { 0 })
        _ = cache.complete("auth\u{0}tenant-a", value: "allow-a", ttl: 100 * second, now: 0)
        guard case .miss = cache.lookup("auth\u{0}tenant-b", now: 1, waiter: { 0 }) else { Issue.record("tenant b must miss"); return }
    }
}
