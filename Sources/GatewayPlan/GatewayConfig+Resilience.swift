import GatewayCore
import GatewayResilience

/// `upstreams.NAME`'s resilience blocks: balance, healthCheck, outlierDetection, retries, limits.
/// Every value is checked here, with the file and line of what is wrong.
extension GatewayConfig {
    static let resilienceKeys: Set<String> = ["balance", "healthCheck", "outlierDetection", "retries", "limits"]

    static func resilience(_ m: YAMLMap) throws(ConfigError) -> ResilienceConfig {
        var config = ResilienceConfig()
        if let text = try m.string("balance") {
            guard let balance = ResilienceConfig.Balance(rawValue: text) else {
                throw m.source.error(m.node("balance"), "\(m.context).balance must be round-robin or least-request, not '\(text)'")
            }
            config.balance = balance
        }
        if let h = try m.map("healthCheck") { config.healthCheck = try healthCheck(h) }
        if let o = try m.map("outlierDetection") { config.outlierDetection = try outlierDetection(o) }
        if let r = try m.map("retries") { config.retries = try retries(r) }
        if let l = try m.map("limits") { config.limits = try limits(l) }
        return config
    }

    private static func positive(_ m: YAMLMap, _ key: String, max: Int = .max) throws(ConfigError) -> Int? {
        guard let value = try m.int(key) else { return nil }
        guard value >= 1, value <= max else {
            throw m.source.error(m.node(key), "\(m.context).\(key) must be an integer from 1 to \(max == .max ? "any" : "\(max)")")
        }
        return value
    }

    private static func positiveDuration(_ m: YAMLMap, _ key: String) throws(ConfigError) -> Duration? {
        guard let value = try m.duration(key) else { return nil }
        guard value > .zero else { throw m.source.error(m.node(key), "\(m.context).\(key) must be longer than zero") }
        return value
    }

    private static func healthCheck(_ m: YAMLMap) throws(ConfigError) -> ResilienceConfig.HealthCheck {
        try m.requireOnly(["path", "interval", "timeout", "healthyThreshold", "unhealthyThreshold", "expectStatus"])
        var hc = ResilienceConfig.HealthCheck()
        if let path = try m.string("path") {
            guard path.hasPrefix("/"), !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
                throw m.source.error(m.node("path"), "\(m.context).path must be an absolute path like /health")
            }
            hc.path = path
        }
        if let v = try positiveDuration(m, "interval") { hc.interval = v }
        if let v = try positiveDuration(m, "timeout") { hc.timeout = v }
        if hc.timeout > hc.interval {
            throw m.source.error(m.node("timeout") ?? m.node, "\(m.context).timeout must not be longer than the interval")
        }
        if let v = try positive(m, "healthyThreshold", max: 100) { hc.healthyThreshold = v }
        if let v = try positive(m, "unhealthyThreshold", max: 100) { hc.unhealthyThreshold = v }
        if let node = m.node("expectStatus") {
            guard let text = node.scalar?.string, let range = statusRange(text) else {
                throw m.source.error(node, "\(m.context).expectStatus must be a status or a range like 200-399 (100 to 599)")
            }
            hc.expectStatus = range
        }
        return hc
    }

    /// `200` or `200-399`, within 100...599.
    static func statusRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 1 || parts.count == 2, let low = Int(parts[0]), let high = Int(parts[parts.count - 1]),
              (100...599).contains(low), (100...599).contains(high), low <= high else { return nil }
        return low...high
    }

    private static func outlierDetection(_ m: YAMLMap) throws(ConfigError) -> ResilienceConfig.OutlierDetection {
        try m.requireOnly(["consecutiveFailures", "ejectionTime", "maxEjectionPercent"])
        var od = ResilienceConfig.OutlierDetection()
        if let v = try positive(m, "consecutiveFailures", max: 1000) { od.consecutiveFailures = v }
        if let v = try positiveDuration(m, "ejectionTime") { od.ejectionTime = v }
        if let v = try m.int("maxEjectionPercent") {
            guard (0...100).contains(v) else {
                throw m.source.error(m.node("maxEjectionPercent"), "\(m.context).maxEjectionPercent must be from 0 to 100")
            }
            od.maxEjectionPercent = v
        }
        return od
    }

    private static func retries(_ m: YAMLMap) throws(ConfigError) -> ResilienceConfig.Retries {
        try m.requireOnly(["attempts", "on", "methods", "budget", "backoff"])
        var r = ResilienceConfig.Retries()
        if let v = try m.int("attempts") {
            guard (0...10).contains(v) else { throw m.source.error(m.node("attempts"), "\(m.context).attempts must be from 0 to 10") }
            r.attempts = v
        }
        if let list = try m.stringList("on") {
            var conditions: Set<ResilienceConfig.RetryCondition> = []
            for text in list {
                guard let c = ResilienceConfig.RetryCondition(rawValue: text) else {
                    let known = ResilienceConfig.RetryCondition.allCases.map(\.rawValue).joined(separator: ", ")
                    throw m.source.error(m.node("on"), "\(m.context).on: unknown retry condition '\(text)' (known: \(known))")
                }
                conditions.insert(c)
            }
            r.on = conditions
        }
        if let list = try m.stringList("methods") {
            var methods: Set<String> = []
            for text in list {
                let method = text.uppercased()
                guard !method.isEmpty, method.allSatisfy({ $0.isLetter }) else {
                    throw m.source.error(m.node("methods"), "\(m.context).methods: '\(text)' is not an HTTP method")
                }
                methods.insert(method)
            }
            r.methods = methods
        }
        if let node = m.node("budget") {
            guard let text = node.scalar?.string, let fraction = percentage(text) else {
                throw m.source.error(node, "\(m.context).budget must be a percentage like 20%, from 0% to 100%")
            }
            r.budget = fraction
        }
        if let v = try m.duration("backoff") { r.backoff = v }
        return r
    }

    /// `20%` → 0.2.
    static func percentage(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasSuffix("%"), let value = Double(trimmed.dropLast()), (0...100).contains(value) else { return nil }
        return value / 100
    }

    private static func limits(_ m: YAMLMap) throws(ConfigError) -> ResilienceConfig.Limits {
        try m.requireOnly(["maxConnections", "maxRequests", "maxPending"])
        var l = ResilienceConfig.Limits()
        if let v = try positive(m, "maxConnections") { l.maxConnections = v }
        if let v = try positive(m, "maxRequests") { l.maxRequests = v }
        if let v = try m.int("maxPending") {
            guard v >= 0 else { throw m.source.error(m.node("maxPending"), "\(m.context).maxPending must be 0 or more") }
            l.maxPending = v
        }
        return l
    }
}
