import Foundation
import GatewayCallouts
import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// The gateway's metrics, exposed by the admin listener's `/metrics` in the Prometheus text
/// format. Request metrics are counted per event loop (`LoopMetrics`: no lock, no atomics on the
/// hot path) and merged at scrape time; the rest (reloads, authorizer caches, process figures)
/// live in a swift-prometheus registry, which `serve` also bootstraps swift-metrics with. Labels
/// are bounded: the route's label (operationId or `METHOD /template`, `default`), a known method
/// or `OTHER`, the status, the function or upstream name or `gateway`; never a path, a key or an id.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let authorizerSeen = NIOLockedValueBox<[String: (ObjectIdentifier, [Int])]>([:])

    /// Histogram bucket upper bounds, in seconds (the last bucket, +Inf, is implied).
    static let bucketBounds: [Double] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    private static let boundNanoseconds: [Int64] = bucketBounds.map { Int64($0 * 1e9) }

    /// The bucket of a duration: the first bound it does not exceed, or +Inf.
    @inline(__always)
    static func bucket(_ nanoseconds: Int64) -> Int {
        var i = 0
        while i < boundNanoseconds.count && nanoseconds > boundNanoseconds[i] { i += 1 }
        return i
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// A reload was applied (`ok`) or refused.
    public func reloaded(ok: Bool) {
        registry.makeCounter(name: "gateway_config_reloads_total", labels: [("result", ok ? "success" : "failure")],
                             help: "Configuration reloads, applied or refused").increment()
    }

    /// Requests decided by `stateFailure` because the shared state (Redis) did not answer.
    func stateUnavailable(passed: Int, refused: Int) {
        for (outcome, n) in [("passed", passed), ("refused", refused)] where n > 0 {
            registry.makeCounter(name: "gateway_state_unavailable_total", labels: [("outcome", outcome)],
                                 help: "Requests that needed a limit decision while the shared state could not answer: passed without limits (stateFailure: open) or refused with 503 (closed)")
                .increment(by: Int64(n))
        }
    }

    /// The text for `/metrics`: the loops' request metrics merged, then the registry (with the
    /// authorizer cache counts and the process figures brought up to date).
    func scrape(loops: [LoopMetrics.Snapshot], authorizers: [Authorizer]) -> String {
        var text = Self.requestMetrics(loops)
        updateAuthorizers(authorizers)
        let process = ProcessFigures.read()
        registry.makeGauge(name: "process_cpu_seconds_total", help: "User and system CPU time of the process").set(process.cpuSeconds)
        registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory").set(Double(process.residentBytes))
        registry.makeGauge(name: "process_open_fds", help: "Open file descriptors").set(Double(process.openFDs))
        text += registry.emitToString()
        return text
    }

    private func updateAuthorizers(_ authorizers: [Authorizer]) {
        for authorizer in authorizers {
            let s = authorizer.stats
            let now = [s.hits, s.misses, s.coalesced, s.errors]
            let id = authorizer.config.id
            let identity = ObjectIdentifier(authorizer)
            let before: [Int] = authorizerSeen.withLockedValue { seen in
                defer { seen[id] = (identity, now) }
                guard let last = seen[id], last.0 == identity else { return [0, 0, 0, 0] }
                return last.1
            }
            for (index, result) in ["hit", "miss", "wait", "error"].enumerated() where now[index] > before[index] {
                registry.makeCounter(name: "gateway_authorizer_cache_total", labels: [("authorizer", id), ("result", result)],
                                     help: "Authorizer cache lookups: hits, misses, waits on a callout in flight, errors")
                    .increment(by: Int64(now[index] - before[index]))
            }
        }
    }

    /// `gateway_requests_total`, the two duration histograms, `gateway_throttled_total` and
    /// `gateway_validation_failures_total`, merged over the loops (and over reloads: the same
    /// labels are one series).
    static func requestMetrics(_ loops: [LoopMetrics.Snapshot]) -> String {
        struct Histogram {
            var buckets = [Int](repeating: 0, count: GatewayMetrics.bucketBounds.count + 1)
            var sum: Int64 = 0
            var count = 0
            mutating func add(_ b: [Int], _ s: Int64, _ c: Int) {
                for i in b.indices { buckets[i] += b[i] }
                sum += s
                count += c
            }
        }
        var requests: [[String]: Int] = [:]
        var durations: [[String]: Histogram] = [:]
        var upstreams: [[String]: Histogram] = [:]
        var throttled: [[String]: Int] = [:]
        var validation: [[String]: Int] = [:]
        var connections: [[String]: Int] = [:]
        for loop in loops {
            for (upstream, counts) in loop.connections {
                connections[[upstream, "active"], default: 0] += counts[0] - counts[1]
                connections[[upstream, "idle"], default: 0] += counts[1]
            }
            for row in loop.cells {
                requests[[row.route, row.method, String(row.status), row.target], default: 0] += row.count
                durations[[row.route, row.target], default: Histogram()].add(row.buckets, row.sumNanoseconds, row.count)
                if row.isUpstream && row.upstreamCount > 0 {
                    upstreams[[row.target], default: Histogram()].add(row.upstreamBuckets, row.upstreamSumNanoseconds, row.upstreamCount)
                }
            }
            for (route, reasons) in loop.throttled { for (reason, n) in reasons { throttled[[route, reason], default: 0] += n } }
            for (route, n) in loop.validationFailures { validation[[route], default: 0] += n }
        }
        var out = ""
        func labels(_ names: [String], _ values: [String], extra: String? = nil) -> String {
            var parts = zip(names, values).map { "\($0)=\"\(escape($1))\"" }
            if let extra { parts.append(extra) }
            return "{" + parts.joined(separator: ",") + "}"
        }
        func counter(_ name: String, _ help: String, _ names: [String], _ values: [[String]: Int]) {
            guard !values.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for (key, n) in values.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                out += "\(name)\(labels(names, key)) \(n)\n"
            }
        }
        func histogram(_ name: String, _ help: String, _ names: [String], _ values: [[String]: Histogram]) {
            guard !values.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for (key, h) in values.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                var cumulative = 0
                for (i, bound) in bucketBounds.enumerated() {
                    cumulative += h.buckets[i]
                    out += "\(name)_bucket\(labels(names, key, extra: "le=\"\(bound)\"")) \(cumulative)\n"
                }
                out += "\(name)_bucket\(labels(names, key, extra: "le=\"+Inf\"")) \(h.count)\n"
                out += "\(name)_sum\(labels(names, key)) \(Double(h.sum) / 1e9)\n"
                out += "\(name)_count\(labels(names, key)) \(h.count)\n"
            }
        }
        counter("gateway_requests_total", "Requests answered, by route, method, status and target (function, upstream, or gateway for its own answers)",
                ["route", "method", "status", "target"], requests)
        histogram("gateway_request_duration_seconds", "Time from the request head to the end of the response", ["route", "target"], durations)
        histogram("gateway_upstream_request_duration_seconds", "Time an upstream took to answer (its response head)", ["upstream"], upstreams)
        counter("gateway_throttled_total", "Requests refused by a token bucket or quota (gateway, plan, operation, quota)", ["route", "reason"], throttled)
        counter("gateway_validation_failures_total", "Requests refused by request validation", ["route"], validation)
        if !connections.isEmpty {
            out += "# HELP gateway_upstream_connections Open upstream connections (by the upstream that opened them): serving a request, or idle in the pool\n"
            out += "# TYPE gateway_upstream_connections gauge\n"
            for (key, n) in connections.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                out += "gateway_upstream_connections\(labels(["upstream", "state"], key)) \(n)\n"
            }
        }
        return out
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}

/// The process's CPU time, resident memory and open descriptors, from /proc (Linux).
struct ProcessFigures {
    var cpuSeconds: Double = 0
    var residentBytes: Int = 0
    var openFDs: Int = 0

    static func read() -> ProcessFigures {
        var out = ProcessFigures()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state is field 3; utime and stime are fields 14 and 15 (1-based overall).
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                out.cpuSeconds = (user + system) / ticks
            }
        }
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
                out.residentBytes = kb * 1024
            }
        }
        out.openFDs = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
        return out
    }
}

/// Feeds every finished exchange to its event loop's metrics.
struct MetricsObserver: ExchangeObserver {
    func exchangeEnded(_ request: RequestContext, local: LoopLocal?) {
        local?.metrics.record(request, now: .now())
    }
}
