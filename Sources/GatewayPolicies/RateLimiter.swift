import GatewayCore
import Synchronization

/// All token buckets and quota counters of one gateway, behind one lock, so that admitting a
/// request is all-or-nothing: it takes a token from every bucket that applies and counts against
/// its key's quota, or — refused by any of them — takes nothing from any.
///
/// Across reloads: a bucket whose rate or size changed takes the new values at its next use
/// (keeping the tokens it holds, up to the new size); `prune` drops the buckets of operations
/// and keys that no longer exist. Quota counts are kept.
public final class RateLimiter: Sendable {
    public typealias Limit = Throttle

    public struct Quota: Sendable, Equatable {
        public var keyId: HashedName
        public var limit: Int
        public var period: QuotaPeriod
        public init(keyId: HashedName, limit: Int, period: QuotaPeriod) {
            self.keyId = keyId
            self.limit = limit
            self.period = period
        }
    }

    /// The buckets and quota one request must pass. `operation` names the operation (its route
    /// key). Names come hashed (`HashedName`): the buckets are found without hashing a string.
    public struct Request: Sendable {
        public var gateway: Limit?
        public var operation: (name: HashedName, limit: Limit)?
        public var key: (id: HashedName, limit: Limit)?
        public var keyOperation: (id: HashedName, operation: HashedName, limit: Limit)?
        public var quota: Quota?
        public init() {}
        public var isEmpty: Bool { gateway == nil && operation == nil && key == nil && keyOperation == nil && quota == nil }
    }

    public enum Decision: Sendable, Equatable {
        /// Admitted. `remaining` is the tightest of the key's buckets; `quotaRemaining` its quota.
        case admitted(remaining: Int?, resetSeconds: Double?, quotaRemaining: Int?, quotaResetSeconds: Double?)
        case throttled(retryAfter: Double)
        case quotaExceeded(retryAfter: Double)
    }

    enum BucketKey: Hashable {
        case gateway
        case operation(HashedName)
        case key(HashedName)
        case keyOperation(HashedName, HashedName)
    }

    struct QuotaCounter {
        var start: Int64
        var end: Int64
        var used: Int
        /// Changed since the last `drainChangedQuotas` (its key is in `State.dirty`).
        var dirty = false
    }

    struct State {
        var buckets: [BucketKey: TokenBucket] = [:]
        var quotas: [HashedName: QuotaCounter] = [:]
        var dirty: Set<HashedName> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Decides one request. `now` is monotonic nanoseconds (buckets), `wallClock` seconds since
    /// 1970 (quota windows).
    public func admit(_ request: Request, now: UInt64, wallClock: Double) -> Decision {
        state.withLock { state in
            var wait = 0.0
            var tightest: TokenBucket?
            // One hash lookup per bucket: its index, which the take below uses too (unless a
            // bucket was inserted meanwhile, which may have moved them all).
            var inserted = false
            func check(_ key: BucketKey, _ limit: Limit, keyed: Bool) -> Dictionary<BucketKey, TokenBucket>.Index {
                Self.refilledBucket(&state.buckets, key, limit, now: now, wait: &wait, keyed: keyed, tightest: &tightest,
                                    inserted: &inserted)
            }
            let gateway = request.gateway.map { check(.gateway, $0, keyed: false) }
            let operation = request.operation.map { check(.operation($0.0), $0.1, keyed: false) }
            let key = request.key.map { check(.key($0.0), $0.1, keyed: true) }
            let keyOperation = request.keyOperation.map { check(.keyOperation($0.0, $0.1), $0.2, keyed: true) }
            if wait > 0 { return .throttled(retryAfter: wait) }

            var quotaRemaining: Int?
            var quotaReset: Double?
            if let quota = request.quota {
                // One hash lookup: the counter changes in place.
                var exceeded: Double?
                var wasDirty = true
                Self.count(&state.quotas[quota.keyId, default: QuotaCounter(start: 0, end: 0, used: 0)], quota: quota,
                           wallClock: wallClock, exceeded: &exceeded, wasDirty: &wasDirty,
                           remaining: &quotaRemaining, reset: &quotaReset)
                if let exceeded { return .quotaExceeded(retryAfter: exceeded) }
                if !wasDirty { state.dirty.insert(quota.keyId) }
            }

            func take(_ index: Dictionary<BucketKey, TokenBucket>.Index?, _ key: @autoclosure () -> BucketKey) {
                guard let index else { return }
                if inserted { state.buckets[key()]!.take() } else { state.buckets.values[index].take() }
            }
            take(gateway, .gateway)
            take(operation, .operation(request.operation!.0))
            take(key, .key(request.key!.0))
            take(keyOperation, .keyOperation(request.keyOperation!.0, request.keyOperation!.1))
            if var t = tightest {
                t.take()
                return .admitted(remaining: t.remaining, resetSeconds: t.secondsUntilFull,
                                 quotaRemaining: quotaRemaining, quotaResetSeconds: quotaReset)
            }
            return .admitted(remaining: nil, resetSeconds: nil, quotaRemaining: quotaRemaining, quotaResetSeconds: quotaReset)
        }
    }

    /// Counts one request against its key's quota, in the counter's window (a new window starts
    /// from zero); `exceeded`: the wait when the quota is used up (nothing counted).
    private static func count(_ counter: inout QuotaCounter, quota: Quota, wallClock: Double, exceeded: inout Double?,
                              wasDirty: inout Bool, remaining: inout Int?, reset: inout Double?) {
        if wallClock >= Double(counter.end) || wallClock < Double(counter.start) {
            let window = quota.period.window(containing: wallClock)
            counter = QuotaCounter(start: window.start, end: window.end, used: 0, dirty: counter.dirty)
        }
        if counter.used >= quota.limit {
            exceeded = Double(counter.end) - wallClock
            return
        }
        counter.used += 1
        wasDirty = counter.dirty
        counter.dirty = true
        remaining = quota.limit - counter.used
        reset = Double(counter.end) - wallClock
    }

    /// `admit` for a request whose only limit is the gateway's (the gateway throttle, which runs
    /// first and alone): the same decision, without a `Request` to build, copy and destroy (about
    /// 400 instructions per request, `bench/callgrind`).
    public func admitGateway(_ limit: Limit, now: UInt64) -> Decision {
        state.withLock { state in
            var wait = 0.0
            var unkeyed: TokenBucket?
            var inserted = false
            let index = Self.refilledBucket(&state.buckets, .gateway, limit, now: now, wait: &wait, keyed: false,
                                            tightest: &unkeyed, inserted: &inserted)
            if wait > 0 { return .throttled(retryAfter: wait) }
            state.buckets.values[index].take()
            return .admitted(remaining: nil, resetSeconds: nil, quotaRemaining: nil, quotaResetSeconds: nil)
        }
    }

    /// The bucket under `key` (made full when there is none yet, `inserted` then set), refilled to
    /// `now`: its index, found with one hash lookup when it exists.
    private static func refilledBucket(_ buckets: inout [BucketKey: TokenBucket], _ key: BucketKey, _ limit: Limit,
                                       now: UInt64, wait: inout Double, keyed: Bool, tightest: inout TokenBucket?,
                                       inserted: inout Bool) -> Dictionary<BucketKey, TokenBucket>.Index {
        var index = buckets.index(forKey: key)
        if index == nil {
            buckets[key] = TokenBucket(rate: limit.rate, burst: limit.burst, now: now)
            inserted = true
            index = buckets.index(forKey: key)
        }
        refill(&buckets.values[index!], limit: limit, now: now, wait: &wait, keyed: keyed, tightest: &tightest)
        return index!
    }

    private static func refill(_ bucket: inout TokenBucket, limit: Limit, now: UInt64, wait: inout Double,
                               keyed: Bool, tightest: inout TokenBucket?) {
        if bucket.rate != limit.rate || bucket.burst != Double(limit.burst) {
            bucket = bucket.reconfigured(rate: limit.rate, burst: limit.burst, now: now)
        }
        bucket.refill(now: now)
        if !bucket.hasToken { wait = Swift.max(wait, bucket.secondsUntilToken) }
        if keyed, tightest == nil || bucket.tokens < tightest!.tokens { tightest = bucket }
    }

    /// Drops the buckets of operations (by route key) and keys that no longer exist, and the
    /// gateway bucket when there is no gateway throttle any more.
    public func prune(operations: Set<String>, keys: Set<String>, gateway: Bool) {
        state.withLock { state in
            state.buckets = state.buckets.filter { key, _ in
                switch key {
                case .gateway: return gateway
                case .operation(let name): return operations.contains(name.string)
                case .key(let id): return keys.contains(id.string)
                case .keyOperation(let id, let name): return keys.contains(id.string) && operations.contains(name.string)
                }
            }
        }
    }

    /// How many buckets are kept (for tests).
    public var bucketCount: Int { state.withLock { $0.buckets.count } }

    /// A quota count as stored: the key, the window's start, the count.
    public struct QuotaUsage: Sendable, Equatable {
        public var keyId: String
        public var periodStart: Int64
        public var used: Int
        public init(keyId: String, periodStart: Int64, used: Int) {
            self.keyId = keyId
            self.periodStart = periodStart
            self.used = used
        }
    }

    /// The counts changed since the last call, for writing behind.
    public func drainChangedQuotas() -> [QuotaUsage] {
        state.withLock { state in
            let out = state.dirty.compactMap { id in
                state.quotas[id].map { QuotaUsage(keyId: id.string, periodStart: $0.start, used: $0.used) }
            }
            for id in state.dirty { state.quotas[id]?.dirty = false }
            state.dirty.removeAll(keepingCapacity: true)
            return out
        }
    }

    /// Seeds a key's count from the store (at start), unless it has already moved on.
    public func seed(_ usage: QuotaUsage, period: QuotaPeriod) {
        let window = period.window(containing: Double(usage.periodStart))
        state.withLock { state in
            let id = HashedName(usage.keyId)
            if let existing = state.quotas[id], existing.start >= window.start { return }
            state.quotas[id] = QuotaCounter(start: window.start, end: window.end, used: usage.used)
        }
    }

    /// The key's count in the current window, as this process knows it.
    public func quotaUsed(keyId: String, wallClock: Double) -> Int? {
        state.withLock { state in
            guard let c = state.quotas[HashedName(keyId)], wallClock >= Double(c.start), wallClock < Double(c.end) else { return nil }
            return c.used
        }
    }
}
