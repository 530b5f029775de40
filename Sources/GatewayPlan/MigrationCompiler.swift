import GatewayMigration

/// Reads an operation's `x-gateway.migration` block; every value is checked here, with the file
/// and line of what is wrong.
enum MigrationCompiler {
    static let keys: Set<String> = ["from", "stage", "shadow", "compare", "canary", "rollback", "fallback"]

    static func migration(_ m: YAMLMap, config: GatewayConfig) throws(ConfigError) -> MigrationConfig {
        try m.requireOnly(keys)
        let from = try m.requiredString("from")
        guard config.upstreams[from] != nil else {
            throw m.source.error(m.node("from"), "\(m.context).from: '\(from)' is not an upstream in \(config.file)")
        }
        var c = MigrationConfig(from: from)
        if let text = try m.string("stage") {
            guard let stage = MigrationConfig.Stage(rawValue: text) else {
                throw m.source.error(m.node("stage"), "\(m.context).stage must be legacy, shadow, canary or primary, not '\(text)'")
            }
            c.stage = stage
        }
        if let s = try m.map("shadow") {
            try s.requireOnly(["sample", "methods"])
            if let v = try percent(s, "sample") { c.shadow.sample = v }
            if let methods = try s.stringList("methods") {
                c.shadow.methods = Set(try methods.map { (text) throws(ConfigError) -> String in
                    let method = text.uppercased()
                    guard !method.isEmpty, method.allSatisfy(\.isLetter) else {
                        throw s.source.error(s.node("methods"), "\(s.context).methods: '\(text)' is not an HTTP method")
                    }
                    return method
                })
            }
        }
        if let cmp = try m.map("compare") {
            try cmp.requireOnly(["ignore", "headers", "noise"])
            if let list = try cmp.stringList("ignore") {
                c.compare.ignore = try list.map { (text) throws(ConfigError) -> PointerPattern in
                    guard let pattern = PointerPattern(text) else {
                        throw cmp.source.error(cmp.node("ignore"),
                                               "\(cmp.context).ignore: '\(text)' is neither a JSON pointer like /items/*/etag nor header.NAME")
                    }
                    return pattern
                }
            }
            if let headers = try cmp.stringList("headers") { c.compare.headers = headers.map { $0.lowercased() } }
            if let v = try percent(cmp, "noise") { c.compare.noise = v }
        }
        if let k = try m.map("canary") {
            try k.requireOnly(["weight", "steps", "interval", "sticky"])
            if let v = try percent(k, "weight") { c.canary.weight = v }
            if let node = k.node("steps") {
                guard let items = node.sequence, !items.isEmpty else {
                    throw k.source.error(node, "\(k.context).steps must be a list of percentages, rising, like [5, 25, 50]")
                }
                var steps: [Int] = []
                for item in items {
                    guard let v = item.int, (1...100).contains(v), v > (steps.last ?? 0) else {
                        throw k.source.error(item, "\(k.context).steps must be a list of percentages from 1 to 100, rising")
                    }
                    steps.append(v)
                }
                c.canary.steps = steps
            }
            if let d = try k.duration("interval") {
                guard d > .zero else { throw k.source.error(k.node("interval"), "\(k.context).interval must be longer than zero") }
                c.canary.interval = d
            }
            if let text = try k.string("sticky") {
                guard let sticky = MigrationConfig.Sticky(text) else {
                    throw k.source.error(k.node("sticky"), "\(k.context).sticky must be apiKey, header.NAME, cookie.NAME, ip or none, not '\(text)'")
                }
                c.canary.sticky = sticky
            }
        }
        if let r = try m.map("rollback") {
            try r.requireOnly(["errorRate", "latency", "window", "minRequests"])
            if let v = try r.double("errorRate") {
                guard (0...100).contains(v) else { throw r.source.error(r.node("errorRate"), "\(r.context).errorRate must be a percentage from 0 to 100") }
                c.rollback.errorRate = v
            }
            if let v = try r.double("latency") {
                guard v >= 1 else { throw r.source.error(r.node("latency"), "\(r.context).latency must be a factor of 1.0 or more") }
                c.rollback.latency = v
            }
            if let d = try r.duration("window") {
                guard d > .zero else { throw r.source.error(r.node("window"), "\(r.context).window must be longer than zero") }
                c.rollback.window = d
            }
            if let v = try r.int("minRequests") {
                guard v >= 1 else { throw r.source.error(r.node("minRequests"), "\(r.context).minRequests must be 1 or more") }
                c.rollback.minRequests = v
            }
        }
        if let v = try m.bool("fallback") { c.fallback = v }
        return c
    }

    private static func percent(_ m: YAMLMap, _ key: String) throws(ConfigError) -> Int? {
        guard let v = try m.int(key) else { return nil }
        guard (0...100).contains(v) else { throw m.source.error(m.node(key), "\(m.context).\(key) must be a percentage from 0 to 100") }
        return v
    }
}
