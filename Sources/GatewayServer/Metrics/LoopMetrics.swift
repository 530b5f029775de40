import NIOCore
import NIOHTTP1

/// One event loop's request metrics, touched only by that loop (no lock, no atomics): a cell per
/// route, method, status and target, holding the count and the duration histogram (and the
/// upstream's share when the target is an upstream). `GatewayMetrics` merges every loop's cells
/// when `/metrics` is scraped.
final class LoopMetrics {
    struct Key: Hashable {
        /// The route's identity; the cell keeps the route alive, so the identity is never reused.
        var route: ObjectIdentifier
        var method: UInt8
        var status: Int
        var target: String

        /// Without the target: a route has one or a few, and hashing its text cost more than the
        /// rest of the lookup (keys that differ only there share a hash, and `==` tells them apart).
        func hash(into hasher: inout Hasher) {
            hasher.combine(route)
            hasher.combine(method)
            hasher.combine(status)
        }
    }

    /// A struct kept in the dictionary and changed in place (no class: no dynamic exclusivity
    /// checks on the hot path).
    struct Cell {
        let route: Route
        let method: String
        let status: Int
        let target: String
        let isUpstream: Bool
        var count = 0
        /// Per bucket of `GatewayMetrics.bucketBounds` (the last is +Inf), not cumulative.
        var buckets: [Int]
        var sumNanoseconds: Int64 = 0
        var upstreamBuckets: [Int]
        var upstreamCount = 0
        var upstreamSumNanoseconds: Int64 = 0

        mutating func add(elapsed: Int64, upstream took: Int64) {
            count += 1
            buckets[GatewayMetrics.bucket(elapsed)] += 1
            sumNanoseconds += elapsed
            if took >= 0 {
                upstreamCount += 1
                upstreamBuckets[GatewayMetrics.bucket(took)] += 1
                upstreamSumNanoseconds += took
            }
        }

        init(route: Route, method: String, status: Int, target: String, isUpstream: Bool) {
            self.route = route
            self.method = method
            self.status = status
            self.target = target
            self.isUpstream = isUpstream
            buckets = Array(repeating: 0, count: GatewayMetrics.bucketBounds.count + 1)
            upstreamBuckets = buckets
        }
    }

    private(set) var cells: [Key: Cell] = [:]
    /// The cell recorded last, by its index: consecutive requests of a loop mostly share a cell,
    /// and comparing the key costs a fraction of a lookup. (Cells are only ever added, and changed
    /// in place; an index stays valid until the next insertion, after which it is found again.)
    private var lastKey: Key?
    private var lastIndex: Dictionary<Key, Cell>.Index?
    /// Refusals by a bucket or quota, by route label and reason; validation failures by route label.
    private(set) var throttled: [String: [String: Int]] = [:]
    private(set) var validationFailures: [String: Int] = [:]
    /// Open upstream connections and, of those, the ones idle in the pool, by the upstream that
    /// opened them. A connection keeps its counter, so checkouts and releases hash nothing.
    final class ConnectionCounts {
        var open = 0
        var idle = 0
    }
    private(set) var connections: [String: ConnectionCounts] = [:]

    /// The counter of `upstream`'s connections (looked up once per connection).
    func connectionCounts(_ upstream: String) -> ConnectionCounts {
        if let counts = connections[upstream] { return counts }
        let counts = ConnectionCounts()
        connections[upstream] = counts
        return counts
    }

    static func methodIndex(_ method: HTTPMethod) -> (UInt8, String) {
        switch method {
        case .GET: return (1, "GET")
        case .HEAD: return (2, "HEAD")
        case .POST: return (3, "POST")
        case .PUT: return (4, "PUT")
        case .PATCH: return (5, "PATCH")
        case .DELETE: return (6, "DELETE")
        case .OPTIONS: return (7, "OPTIONS")
        case .TRACE: return (8, "TRACE")
        case .CONNECT: return (9, "CONNECT")
        default: return (0, "OTHER")
        }
    }

    func record(_ request: RequestContext, now: NIODeadline) {
        let target: String
        var upstream = false
        switch request.target {
        case .none: target = "gateway"
        case .function(let name): target = name
        case .upstream(let name, _):
            target = name
            upstream = true
        }
        let (index, method) = Self.methodIndex(request.head.method)
        let key = Key(route: ObjectIdentifier(request.route), method: index, status: request.status, target: target)
        let elapsed = (now - request.start).nanoseconds
        var took: Int64 = -1
        if upstream, let start = request.dispatchStart, let end = request.dispatchAnswered { took = (end - start).nanoseconds }
        let route = request.route, status = request.status
        if let lastIndex, lastKey == key {
            cells.values[lastIndex].add(elapsed: elapsed, upstream: took)
        } else {
            cells[key, default: Cell(route: route, method: method, status: status, target: target, isUpstream: upstream)]
                .add(elapsed: elapsed, upstream: took)
            lastKey = key
            lastIndex = cells.index(forKey: key)
        }
        if let reason = request.throttledBy { throttled[request.route.label, default: [:]][reason.rawValue, default: 0] += 1 }
        if request.validationFailed { validationFailures[request.route.label, default: 0] += 1 }
    }

    /// A copy of the figures, for the scrape (made on this loop).
    func snapshot() -> Snapshot {
        Snapshot(cells: cells.values.map {
            Snapshot.Row(route: $0.route.label, method: $0.method, status: $0.status, target: $0.target, isUpstream: $0.isUpstream,
                         count: $0.count, buckets: $0.buckets, sumNanoseconds: $0.sumNanoseconds,
                         upstreamCount: $0.upstreamCount, upstreamBuckets: $0.upstreamBuckets, upstreamSumNanoseconds: $0.upstreamSumNanoseconds)
        }, throttled: throttled, validationFailures: validationFailures,
        connections: connections.mapValues { [$0.open, $0.idle] })
    }

    struct Snapshot: Sendable {
        struct Row: Sendable {
            var route: String
            var method: String
            var status: Int
            var target: String
            var isUpstream: Bool
            var count: Int
            var buckets: [Int]
            var sumNanoseconds: Int64
            var upstreamCount: Int
            var upstreamBuckets: [Int]
            var upstreamSumNanoseconds: Int64
        }
        var cells: [Row]
        var throttled: [String: [String: Int]]
        var validationFailures: [String: Int]
        /// By upstream: [open, idle].
        var connections: [String: [Int]]
    }
}
