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
        public var keyId: String
        public var limit: Int
        public var period: QuotaPeriod
        public init(keyId: String, limit: Int, period: QuotaPeriod) {
            self.keyId = keyId
            self.limit = limit
            self.period = period
        }
    }

    /// The buckets and quota one request must pass. `operation` names the operation (its route key).
    public struct Request: Sendable {
        public var gateway: Limit?
        public var operation: (name: String, limit: Limit)?
        public var key: (id: String, limit: Limit)?
        public var keyOperation: (id: String, operation: String, limit: Limit)?
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
        case operation(String)
        case key(String)
        case keyOperation(String, String)
    }

    struct QuotaCounter {
        var start: Int64
        var end: Int64
        var used: Int
    }

    struct State {
        var buckets: [BucketKey: TokenBucket] = [:]
        var quotas: [String: QuotaCounter] = [:]
        var dirty: Set<String> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Decides one request. `now` is monotonic nanoseconds (buckets), `wallClock` seconds since
    /// 1970 (quota windows).
    public func admit(_ request: Request, now: UInt64, wallClock: Double) -> Decision {
        state.withLock { state in
            var wait = 0.0
            var tightest: TokenBucket?
            // One hash lookup per bucket to refill it (the dictionary's default-value subscript,
            // modified in place), one more to take from it.
            func check(_ key: BucketKey, _ limit: Limit, keyed: Bool) {
                Self.refill(&state.buckets[key, default: TokenBucket(rate: limit.rate, burst: limit.burst, now: now)],
                            limit: limit, now: now, wait: &wait, keyed: keyed, tightest: &tightest)
            }
            if let l = request.gateway { check(.gateway, l, keyed: false) }
            if let (name, l) = request.operation { check(.operation(name), l, keyed: false) }
            if let (id, l) = request.key { check(.key(id), l, keyed: true) }
            if let (id, op, l) = request.keyOperation { check(.keyOperation(id, op), l, keyed: true) }
            if wait > 0 { return .throttled(retryAfter: wait) }

            var quotaRemaining: Int?
            var quotaReset: Double?
            if let quota = request.quota {
                var counter = state.quotas[quota.keyId] ?? QuotaCounter(start: 0, end: 0, used: 0)
                if wallClock >= Double(counter.end) || wallClock < Double(counter.start) {
                    let window = quota.period.window(containing: wallClock)
                    counter = QuotaCounter(start: window.start, end: window.end, used: 0)
                }
                if counter.used >= quota.limit {
                    state.quotas[quota.keyId] = counter
                    return .quotaExceeded(retryAfter: Double(counter.end) - wallClock)
                }
                counter.used += 1
                state.quotas[quota.keyId] = counter
                state.dirty.insert(quota.keyId)
                quotaRemaining = quota.limit - counter.used
                quotaReset = Double(counter.end) - wallClock
            }

            func take(_ key: BucketKey) { state.buckets[key]!.take() }
            if request.gateway != nil { take(.gateway) }
            if let (name, _) = request.operation { take(.operation(name)) }
            if let (id, _) = request.key { take(.key(id)) }
            if let (id, op, _) = request.keyOperation { take(.keyOperation(id, op)) }
            if var t = tightest {
                t.take()
                return .admitted(remaining: t.remaining, resetSeconds: t.secondsUntilFull,
                                 quotaRemaining: quotaRemaining, quotaResetSeconds: quotaReset)
            }
            return .admitted(remaining: nil, resetSeconds: nil, quotaRemaining: quotaRemaining, quotaResetSeconds: quotaReset)
        }
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
                case .operation(let name): return operations.contains(name)
                case .key(let id): return keys.contains(id)
                case .keyOperation(let id, let name): return keys.contains(id) && operations.contains(name)
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
                state.quotas[id].map { QuotaUsage(keyId: id, periodStart: $0.start, used: $0.used) }
            }
            state.dirty.removeAll(keepingCapacity: true)
            return out
        }
    }

    /// Seeds a key's count from the store (at start), unless it has already moved on.
    public func seed(_ usage: QuotaUsage, period: QuotaPeriod) {
        let window = period.window(containing: Double(usage.periodStart))
        state.withLock { state in
            if let existing = state.quotas[usage.keyId], existing.start >= window.start { return }
            state.quotas[usage.keyId] = QuotaCounter(start: window.start, end: window.end, used: usage.used)
        }
    }

    /// The key's count in the current window, as this process knows it.
    public func quotaUsed(keyId: String, wallClock: Double) -> Int? {
        state.withLock { state in
            guard let c = state.quotas[keyId], wallClock >= Double(c.start), wallClock < Double(c.end) else { return nil }
            return c.used
        }
    }
}
