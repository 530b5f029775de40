/// The authorizer cache: verdicts by key (the authorizer and the values of its identity sources),
/// bounded in size with the least recently used entry evicted first, each entry valid until its
/// own expiry. Callouts are single-flight: while one is in flight for a key, later lookups of that
/// key wait for it instead of calling again.
///
/// A pure state machine: the caller passes the time (nanoseconds on a monotonic clock) and does
/// the callout itself. `Waiter` is whatever the caller needs to resume a waiting request.
///
/// Its code is inlinable, so that the gateway's one use (in GatewayCallouts) is specialised: called
/// generically across the module boundary, every lookup instantiated `Slot`'s generic metadata at
/// run time (about 6,000 instructions per request, bench/callgrind authorizer).
public struct AuthorizerCache<Value, Waiter> {
    public enum Lookup {
        /// A live entry: use it.
        case hit(Value)
        /// A callout for this key is in flight; the waiter (made now) is returned by `complete`.
        case wait
        /// Nothing cached or in flight: the caller must call out, then `complete` the key.
        case miss
    }

    public struct Stats: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        /// Lookups that waited for a callout already in flight.
        public var coalesced = 0
        /// Callouts that failed (never cached).
        public var errors = 0
        public var evictions = 0
        public init() {}
    }

    public let capacity: Int
    @inlinable public var stats: Stats { counts }
    @usableFromInline var counts = Stats()

    @usableFromInline var index: [String: Int] = [:]
    @usableFromInline var slots: [Slot] = []
    @usableFromInline var free: [Int] = []
    /// Most and least recently used slot, linked through `prev`/`next`.
    @usableFromInline var head = -1
    @usableFromInline var tail = -1
    @usableFromInline var inFlight: [String: [Waiter]] = [:]

    @usableFromInline
    struct Slot {
        @usableFromInline var key: String
        @usableFromInline var value: Value?
        @usableFromInline var expires: UInt64
        @usableFromInline var prev: Int
        @usableFromInline var next: Int

        @inlinable
        init(key: String, value: Value?, expires: UInt64, prev: Int, next: Int) {
            self.key = key
            self.value = value
            self.expires = expires
            self.prev = prev
            self.next = next
        }
    }

    @inlinable
    public init(capacity: Int) {
        precondition(capacity > 0, "an authorizer cache holds at least one entry")
        self.capacity = capacity
    }

    /// Entries currently cached (expired ones included until they are looked up or evicted).
    @inlinable public var count: Int { index.count }
    /// Keys with a callout in flight.
    @inlinable public var pendingCount: Int { inFlight.count }

    /// `waiter` is called only when the lookup has to wait for a callout in flight.
    @inlinable
    public mutating func lookup(_ key: String, now: UInt64, waiter: () -> Waiter) -> Lookup {
        if let i = index[key] {
            if slots[i].expires > now, let value = slots[i].value {
                moveToFront(i)
                counts.hits += 1
                return .hit(value)
            }
            remove(i)
        }
        if inFlight[key] != nil {
            inFlight[key]!.append(waiter())
            counts.coalesced += 1
            return .wait
        }
        inFlight[key] = []
        counts.misses += 1
        return .miss
    }

    /// Ends the callout for `key`: caches `value` for `ttl` nanoseconds (nothing is cached for a
    /// failure, `nil`, or a zero ttl) and returns the waiters to resume with the same outcome.
    @inlinable
    public mutating func complete(_ key: String, value: Value?, ttl: UInt64, now: UInt64) -> [Waiter] {
        let waiters = inFlight.removeValue(forKey: key) ?? []
        guard let value else {
            counts.errors += 1
            return waiters
        }
        if ttl > 0 { store(key, value: value, expires: now &+ ttl) }
        return waiters
    }

    /// Drops every entry (in-flight callouts are kept).
    @inlinable
    public mutating func removeAll() {
        index.removeAll()
        slots.removeAll()
        free.removeAll()
        head = -1
        tail = -1
    }

    @inlinable
    mutating func store(_ key: String, value: Value, expires: UInt64) {
        if let i = index[key] {
            slots[i].value = value
            slots[i].expires = expires
            moveToFront(i)
            return
        }
        if index.count >= capacity, tail >= 0 {
            remove(tail)
            counts.evictions += 1
        }
        let slot = Slot(key: key, value: value, expires: expires, prev: -1, next: head)
        let i: Int
        if let reused = free.popLast() {
            slots[reused] = slot
            i = reused
        } else {
            slots.append(slot)
            i = slots.count - 1
        }
        if head >= 0 { slots[head].prev = i }
        head = i
        if tail < 0 { tail = i }
        index[key] = i
    }

    @inlinable
    mutating func unlink(_ i: Int) {
        let prev = slots[i].prev, next = slots[i].next
        if prev >= 0 { slots[prev].next = next } else { head = next }
        if next >= 0 { slots[next].prev = prev } else { tail = prev }
        slots[i].prev = -1
        slots[i].next = -1
    }

    @inlinable
    mutating func moveToFront(_ i: Int) {
        guard head != i else { return }
        unlink(i)
        slots[i].next = head
        if head >= 0 { slots[head].prev = i }
        head = i
        if tail < 0 { tail = i }
    }

    @inlinable
    mutating func remove(_ i: Int) {
        unlink(i)
        index.removeValue(forKey: slots[i].key)
        slots[i].value = nil
        slots[i].key = ""
        free.append(i)
    }
}

extension AuthorizerCache: Sendable where Value: Sendable, Waiter: Sendable {}
extension AuthorizerCache.Slot: Sendable where Value: Sendable {}
