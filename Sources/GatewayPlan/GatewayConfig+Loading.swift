import Foundation
import GatewayRedis
import GatewayCore
import Yams

extension GatewayConfig {
    /// Reads and checks `gateway.yaml`. Every problem names the file and line.
    public static func load(path: String) throws(ConfigError) -> GatewayConfig {
        let source = try YAMLSource.load(path: path)
        return try parse(source)
    }

    public static func parse(_ source: YAMLSource) throws(ConfigError) -> GatewayConfig {
        let top = try YAMLMap(source.root, in: source, context: "gateway.yaml")
        try top.requireOnly(["listen", "tls", "state", "upstreams", "default", "throttle", "plans", "limits", "threads", "functions", "logs", "shutdownTimeout", "admin", "tracing", "stateFailure"])

        var https: ListenAddress?
        var http: ListenAddress?
        if let listen = try top.map("listen") {
            try listen.requireOnly(["https", "http"])
            https = try listenAddress(listen, "https")
            http = try listenAddress(listen, "http")
        }
        if https == nil && http == nil {
            throw source.error(top.node, "listen needs an 'https' or an 'http' address")
        }

        var tls: TLSFiles?
        if let t = try top.map("tls") {
            try t.requireOnly(["certificate", "key"])
            tls = TLSFiles(certificate: try t.requiredString("certificate"), key: try t.requiredString("key"))
        }
        if https != nil && tls == nil {
            throw source.error(top.keyNode("listen"), "listen.https needs tls.certificate and tls.key")
        }

        var upstreams: [String: Upstream] = [:]
        if let u = try top.map("upstreams") {
            for name in u.keys {
                upstreams[name] = try upstream(name: name, try YAMLMap(u.node(name)!, in: source, context: "upstreams.\(name)"))
            }
        }

        var defaultUpstream: String?
        if let d = try top.map("default") {
            try d.requireOnly(["upstream"])
            let name = try d.requiredString("upstream")
            guard upstreams[name] != nil else {
                throw source.error(d.node("upstream"), "default.upstream '\(name)' is not defined in upstreams")
            }
            defaultUpstream = name
        }

        let throttle = try top.map("throttle").map { m throws(ConfigError) in try Self.throttle(m) }

        var plans: [String: Plan] = [:]
        if let p = try top.map("plans") {
            for name in p.keys {
                let m = try YAMLMap(p.node(name)!, in: source, context: "plans.\(name)")
                try m.requireOnly(["rate", "burst", "quota", "operations"])
                var quota: Quota?
                if let q = try m.map("quota") {
                    try q.requireOnly(["limit", "period"])
                    guard let limit = try q.int("limit"), limit > 0 else {
                        throw source.error(q.node, "plans.\(name).quota.limit must be a positive integer")
                    }
                    guard let period = Quota.Period(rawValue: try q.requiredString("period")) else {
                        throw source.error(q.node("period"), "plans.\(name).quota.period must be day, week or month")
                    }
                    quota = Quota(limit: limit, period: period)
                }
                var operations: [String: Throttle] = [:]
                if let ops = try m.map("operations") {
                    for op in ops.keys {
                        operations[op] = try Self.throttle(try YAMLMap(ops.node(op)!, in: source, context: "plans.\(name).operations.\(op)"))
                    }
                }
                plans[name] = Plan(throttle: try Self.throttle(m, allowing: ["quota", "operations"]), quota: quota, operations: operations)
            }
        }

        var limits = Limits()
        if let l = try top.map("limits") {
            try l.requireOnly(["maxHeaderBytes", "maxHeaders", "maxBodyBytes", "idleTimeout", "handshakeTimeout",
                               "headerTimeout", "bodyTimeout", "maxConnections", "maxConcurrentStreams", "escapedSlashes"])
            func positive(_ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int? {
                guard let v = try l.int(key) else { return nil }
                guard range.contains(v) else {
                    throw source.error(l.node(key), "limits.\(key) must be between \(range.lowerBound) and \(range.upperBound)")
                }
                return v
            }
            func duration(_ key: String) throws(ConfigError) -> Duration? {
                guard let v = try l.duration(key) else { return nil }
                guard v > .zero else { throw source.error(l.node(key), "limits.\(key) must be longer than 0") }
                return v
            }
            if let v = try positive("maxHeaderBytes", 1024...(1 << 20)) { limits.maxHeaderBytes = v }
            if let v = try positive("maxHeaders", 8...10_000) { limits.maxHeaders = v }
            if let v = try positive("maxBodyBytes", 0...(1 << 40)) { limits.maxBufferedBody = v }
            if let v = try positive("maxConnections", 1...1_000_000) { limits.maxConnections = v }
            if let v = try positive("maxConcurrentStreams", 1...10_000) { limits.maxConcurrentStreams = v }
            if let v = try duration("idleTimeout") { limits.idleTimeout = v }
            if let v = try duration("handshakeTimeout") { limits.handshakeTimeout = v }
            if let v = try duration("headerTimeout") { limits.headerTimeout = v }
            if let v = try duration("bodyTimeout") { limits.bodyTimeoutSetting = v }
            if let text = try l.string("escapedSlashes") {
                guard let v = RequestTarget.EscapedSlashes(rawValue: text) else {
                    throw source.error(l.node("escapedSlashes"), "limits.escapedSlashes must be reject or keep")
                }
                limits.escapedSlashes = v
            }
        }

        let threads = try top.int("threads") ?? 0
        guard threads >= 0 else { throw source.error(top.node("threads"), "threads must be 0 (one per core) or more") }

        var state = ".gateway/state.sqlite"
        if let raw = try top.string("state") {
            guard let expanded = expandEnvironment(raw) else {
                throw source.error(top.node("state"), "state: \(raw) names an environment variable that is not set")
            }
            if RedisConfiguration.isRedisURL(expanded) {
                let redis: RedisConfiguration
                do {
                    redis = try RedisConfiguration(url: expanded)
                } catch {
                    throw source.error(top.node("state"), "state: \(error.description.replacingOccurrences(of: expanded, with: raw))")
                }
                if let ca = redis.caFile, !FileManager.default.isReadableFile(atPath: ca) {
                    throw source.error(top.node("state"), "state: no readable CA file at \(ca) (the ca= parameter)")
                }
            } else if expanded.contains("://") {
                throw source.error(top.node("state"), "state: '\(raw)' is neither a file path nor a redis:// or rediss:// URL")
            }
            state = expanded
        }
        var stateFailure = StateFailure.open
        if let raw = try top.string("stateFailure") {
            guard let v = StateFailure(rawValue: raw) else {
                throw source.error(top.node("stateFailure"), "stateFailure must be open or closed, not '\(raw)'")
            }
            guard RedisConfiguration.isRedisURL(state) else {
                throw source.error(top.node("stateFailure"), "stateFailure applies to a shared state (state: redis://…) only")
            }
            stateFailure = v
        }

        let functions = try top.map("functions").map { m throws(ConfigError) in try processFunctions(m) } ?? [:]

        var config = GatewayConfig(
            file: source.file,
            routesDirectory: {
                let folder = (source.file as NSString).deletingLastPathComponent
                return folder.isEmpty ? "." : folder
            }(),
            https: https, http: http, tls: tls,
            state: state,
            upstreams: upstreams, defaultUpstream: defaultUpstream,
            throttle: throttle, plans: plans, limits: limits, threads: threads
        )
        config.functions = functions
        config.stateFailure = stateFailure
        if let a = try top.map("admin") {
            try a.requireOnly(["listen", "token"])
            guard let listen = try listenAddress(a, "listen", context: "admin.listen") else {
                throw source.error(a.node, "admin needs listen: HOST:PORT, e.g. 127.0.0.1:9901")
            }
            var token: String?
            if let raw = try a.string("token") {
                guard let expanded = expandEnvironment(raw) else {
                    throw source.error(a.node("token"), "admin.token: \(raw) names an environment variable that is not set")
                }
                guard expanded.count >= 16 else {
                    throw source.error(a.node("token"), "admin.token must be at least 16 characters")
                }
                token = expanded
            }
            config.admin = Admin(listen: listen, token: token)
        }
        if let t = try top.map("tracing") {
            try t.requireOnly(["otlp", "sample"])
            let url = try t.requiredString("otlp")
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > 8 else {
                throw source.error(t.node("otlp"), "tracing.otlp must be the collector's http:// or https:// URL, e.g. http://127.0.0.1:4318")
            }
            let sample = try t.double("sample") ?? 1.0
            guard (0...1).contains(sample) else {
                throw source.error(t.node("sample"), "tracing.sample must be a fraction from 0 to 1")
            }
            config.tracing = Tracing(otlp: url, sample: sample)
        }
        if let t = try top.duration("shutdownTimeout") {
            guard t >= .zero else { throw source.error(top.node("shutdownTimeout"), "shutdownTimeout must not be negative") }
            config.shutdownTimeout = t
        }
        if let l = try top.map("logs") {
            try l.requireOnly(["format", "access"])
            if let text = try l.string("format") {
                guard let format = Logs.Format(rawValue: text) else {
                    throw source.error(l.node("format"), "logs.format must be json or text, not '\(text)'")
                }
                config.logs.format = format
            }
            if let access = try l.bool("access") { config.logs.access = access }
        }
        return config
    }

    /// `${NAME}` replaced by the environment variable's value; nil when one is not set.
    static func expandEnvironment(_ text: String) -> String? {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { return out + rest[open.lowerBound...] }
            let name = String(rest[open.upperBound..<close])
            guard let value = ProcessInfo.processInfo.environment[name] else { return nil }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    private static func listenAddress(_ map: YAMLMap, _ key: String, context: String? = nil) throws(ConfigError) -> ListenAddress? {
        guard let text = try map.string(key) else { return nil }
        let bad = map.source.error(map.node(key), "\(context ?? "listen.\(key)") must be HOST:PORT, e.g. 127.0.0.1:8443")
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { throw bad }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw bad }
        return ListenAddress(host: host, port: port)
    }

    static func throttle(_ m: YAMLMap, allowing extra: Set<String> = []) throws(ConfigError) -> Throttle {
        try m.requireOnly(Set(["rate", "burst"]).union(extra))
        guard let rate = try m.double("rate"), rate > 0 else {
            throw m.source.error(m.node, "\(m.context).rate must be a positive number of requests per second")
        }
        guard let burst = try m.int("burst"), burst >= 1 else {
            throw m.source.error(m.node, "\(m.context).burst must be a positive integer")
        }
        return Throttle(rate: rate, burst: burst)
    }

    private static func upstream(name: String, _ m: YAMLMap) throws(ConfigError) -> Upstream {
        try m.requireOnly(Set(["targets", "timeout", "connectTimeout", "ca", "maxIdle"]).union(resilienceKeys))
        guard let texts = try m.stringList("targets"), !texts.isEmpty else {
            throw m.source.error(m.node, "upstreams.\(name) needs at least one target URL")
        }
        var targets: [Upstream.Target] = []
        for text in texts {
            guard let t = Upstream.Target.parse(text) else {
                throw m.source.error(m.node("targets"), "upstreams.\(name): '\(text)' is not an http:// or https:// URL")
            }
            targets.append(t)
        }
        let ca = try m.string("ca")
        if let ca, !FileManager.default.fileExists(atPath: ca) {
            throw m.source.error(m.node("ca"), "upstreams.\(name).ca: no file at \(ca)")
        }
        return Upstream(
            name: name, targets: targets,
            timeout: try m.duration("timeout") ?? Upstream.defaultTimeout,
            connectTimeout: try m.duration("connectTimeout") ?? .seconds(5),
            caFile: ca,
            maxIdlePerTarget: try m.int("maxIdle") ?? 1024,
            resilience: try resilience(m)
        )
    }
}
