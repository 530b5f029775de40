import Foundation
import Yams

/// Reads `x-gateway-cors` (AWS HTTP API's names) and refuses what a browser could not use or what
/// would be unsafe, with the file and line.
enum CORSCompiler {
    static let keys: Set<String> = ["allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge", "allowCredentials"]

    static func policy(_ node: Node, source: YAMLSource, context: String) throws(ConfigError) -> CORSPolicy {
        let m = try YAMLMap(node, in: source, context: context)
        try m.requireOnly(keys)
        guard let origins = try m.stringList("allowOrigins"), !origins.isEmpty else {
            throw source.error(node, "\(context).allowOrigins must list the origins that may call (or *)")
        }
        for origin in origins where !validOrigin(origin) {
            throw source.error(m.node("allowOrigins"), "\(context).allowOrigins: '\(origin)' is not an origin like https://app.example.com, https://*.example.com or *")
        }
        let methods = try m.stringList("allowMethods") ?? ["*"]
        for method in methods where method != "*" && !(method.allSatisfy { $0.isLetter } && !method.isEmpty) {
            throw source.error(m.node("allowMethods"), "\(context).allowMethods: '\(method)' is not a method")
        }
        let headers = try m.stringList("allowHeaders") ?? []
        let expose = try m.stringList("exposeHeaders") ?? []
        for header in headers + expose where header != "*" && !isToken(header) {
            throw source.error(m.node(headers.contains(header) ? "allowHeaders" : "exposeHeaders"), "\(context): '\(header)' is not a header name")
        }
        var maxAge: Int?
        if let v = try m.int("maxAge") {
            guard (0...86_400).contains(v) else { throw source.error(m.node("maxAge"), "\(context).maxAge must be from 0 to 86400 seconds") }
            maxAge = v
        }
        let credentials = try m.bool("allowCredentials") ?? false
        if credentials && origins.contains("*") {
            throw source.error(m.node("allowCredentials"), "\(context): allowCredentials cannot be used with allowOrigins '*' (browsers refuse it); list the origins")
        }
        return CORSPolicy(allowOrigins: origins, allowMethods: methods, allowHeaders: headers, exposeHeaders: expose,
                          maxAge: maxAge, allowCredentials: credentials)
    }

    /// `*`, or `scheme://host[:port]` with no path, where the host may start with `*.`.
    static func validOrigin(_ origin: String) -> Bool {
        if origin == "*" { return true }
        guard let sep = origin.range(of: "://") else { return false }
        let scheme = origin[..<sep.lowerBound]
        var host = origin[sep.upperBound...]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }), !host.isEmpty else { return false }
        if host.hasPrefix("*.") { host = host.dropFirst(2) }
        return !host.isEmpty && host.allSatisfy { $0.isLetter || $0.isNumber || "-.:[]".contains($0) }
    }

    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { c in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(c))
        }
    }
}
