import Foundation
import GatewayCallouts
import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// The gateway's metrics in a swift-prometheus registry, exposed by the admin listener's
/// `/metrics` in the Prometheus text format. Labels are bounded: the route's label (operationId or
/// `METHOD /template`, `default`), a known method or `OTHER`, the status, the function or upstream
/// name or `gateway`; never a path, a key or an id. The per-request cost is one lookup in a cache
/// of series (a lock and a dictionary) and atomic increments; the authorizer caches' counts and
/// the process figures are read at scrape time.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    private struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
        var target: String
    }
    private struct DurationKey: Hashable {
        var route: String
        var target: String
    }
    private struct Series {
        var requests: [RequestKey: Counter] = [:]
        var durations: [DurationKey: DurationHistogram] = [:]
        var upstream: [String: DurationHistogram] = [:]
        var throttled: [DurationKey: Counter] = [:]
        var validation: [String: Counter] = [:]
        var authorizerSeen: [String: (ObjectIdentifier, [Int])] = [:]
    }
    private let series = NIOLockedValueBox(Series())

    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                      .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30)]
    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// One finished exchange (the end-of-exchange observer calls this for every request).
    func record(_ request: RequestContext) {
        let route = request.route.label
        let method = request.head.method.rawValue
        let target: String
        var upstream: String?
        switch request.target {
        case .none: target = "gateway"
        case .function(let name): target = name
        case .upstream(let name, _):
            target = name
            upstream = name
        }
        let key = RequestKey(route: route, method: Self.methods.contains(method) ? method : "OTHER", status: request.status, target: target)
        let durationKey = DurationKey(route: route, target: target)
        let elapsed = (NIODeadline.now() - request.start).nanoseconds
        var upstreamElapsed: Int64?
        if upstream != nil, let start = request.dispatchStart, let end = request.dispatchAnswered { upstreamElapsed = (end - start).nanoseconds }
        let (counter, histogram, upstreamHistogram, throttled, validation) = series.withLockedValue { s in
            (s.requests[key], s.durations[durationKey], upstream.flatMap { s.upstream[$0] },
             request.throttledBy.flatMap { s.throttled[DurationKey(route: route, target: $0.rawValue)] },
             request.validationFailed ? s.validation[route] : nil)
        }
        (counter ?? makeRequestCounter(key)).increment()
        (histogram ?? makeDuration(durationKey)).recordNanoseconds(elapsed)
        if let upstream, let upstreamElapsed { (upstreamHistogram ?? makeUpstream(upstream)).recordNanoseconds(upstreamElapsed) }
        if let reason = request.throttledBy { (throttled ?? makeThrottled(route: route, reason: reason.rawValue)).increment() }
        if request.validationFailed { (validation ?? makeValidation(route)).increment() }
    }

    private func makeRequestCounter(_ key: RequestKey) -> Counter {
        series.withLockedValue { s in
            if let c = s.requests[key] { return c }
            let c = registry.makeCounter(name: "gateway_requests_total", labels: [
                ("route", key.route), ("method", key.method), ("status", String(key.status)), ("target", key.target),
            ], help: "Requests answered, by route, method, status and target (function, upstream, or gateway for its own answers)")
            s.requests[key] = c
            return c
        }
    }

    private func makeDuration(_ key: DurationKey) -> DurationHistogram {
        series.withLockedValue { s in
            if let h = s.durations[key] { return h }
            let h = registry.makeDurationHistogram(name: "gateway_request_duration_seconds", labels: [("route", key.route), ("target", key.target)],
                                                   buckets: Self.buckets, help: "Time from the request head to the end of the response")
            s.durations[key] = h
            return h
        }
    }

    private func makeUpstream(_ name: String) -> DurationHistogram {
        series.withLockedValue { s in
            if let h = s.upstream[name] { return h }
            let h = registry.makeDurationHistogram(name: "gateway_upstream_request_duration_seconds", labels: [("upstream", name)],
                                                   buckets: Self.buckets, help: "Time an upstream took to answer (its response head)")
            s.upstream[name] = h
            return h
        }
    }

    private func makeThrottled(route: String, reason: String) -> Counter {
        series.withLockedValue { s in
            let key = DurationKey(route: route, target: reason)
            if let c = s.throttled[key] { return c }
            let c = registry.makeCounter(name: "gateway_throttled_total", labels: [("route", route), ("reason", reason)],
                                         help: "Requests refused by a token bucket or quota (gateway, plan, operation, quota)")
            s.throttled[key] = c
            return c
        }
    }

    private func makeValidation(_ route: String) -> Counter {
        series.withLockedValue { s in
            if let c = s.validation[route] { return c }
            let c = registry.makeCounter(name: "gateway_validation_failures_total", labels: [("route", route)],
                                         help: "Requests refused by request validation")
            s.validation[route] = c
            return c
        }
    }

    /// A reload was applied (`ok`) or refused.
    public func reloaded(ok: Bool) {
        registry.makeCounter(name: "gateway_config_reloads_total", labels: [("result", ok ? "success" : "failure")],
                             help: "Configuration reloads, applied or refused").increment()
    }

    /// The text for `/metrics`: brings the authorizer cache counts and the process figures up to
    /// date, then emits the registry.
    func scrape(authorizers: [Authorizer]) -> String {
        for authorizer in authorizers {
            let s = authorizer.stats
            let now = [s.hits, s.misses, s.coalesced, s.errors]
            let id = authorizer.config.id
            let identity = ObjectIdentifier(authorizer)
            let before: [Int] = series.withLockedValue { series in
                defer { series.authorizerSeen[id] = (identity, now) }
                guard let seen = series.authorizerSeen[id], seen.0 == identity else { return [0, 0, 0, 0] }
                return seen.1
            }
            for (index, result) in ["hit", "miss", "wait", "error"].enumerated() where now[index] > before[index] {
                registry.makeCounter(name: "gateway_authorizer_cache_total", labels: [("authorizer", id), ("result", result)],
                                     help: "Authorizer cache lookups: hits, misses, waits on a callout in flight, errors")
                    .increment(by: Int64(now[index] - before[index]))
            }
        }
        let process = ProcessFigures.read()
        registry.makeGauge(name: "process_cpu_seconds_total", help: "User and system CPU time of the process").set(process.cpuSeconds)
        registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory").set(Double(process.residentBytes))
        registry.makeGauge(name: "process_open_fds", help: "Open file descriptors").set(Double(process.openFDs))
        return registry.emitToString()
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

/// Feeds every finished exchange to the metrics.
struct MetricsObserver: ExchangeObserver {
    let metrics: GatewayMetrics
    func exchangeEnded(_ request: RequestContext) { metrics.record(request) }
}
