import Foundation

/// `x-gateway-cors` on a document or an operation, with AWS HTTP API's names: which origins may
/// call the route from a browser, with which methods and headers. The gateway answers preflights
/// itself and decorates actual responses; a backend's own CORS headers are replaced.
public struct CORSPolicy: Sendable, Equatable {
    /// Exact origins (`https://app.example.com`), `*`, or a subdomain wildcard (`https://*.example.com`).
    public var allowOrigins: [String]
    /// Methods, or `*`.
    public var allowMethods: [String]
    /// Request headers a preflight may ask for (lower case), or `*`.
    public var allowHeaders: [String]
    public var exposeHeaders: [String]
    /// Seconds a browser may cache a preflight answer.
    public var maxAge: Int?
    public var allowCredentials: Bool

    public init(allowOrigins: [String], allowMethods: [String] = ["*"], allowHeaders: [String] = [],
                exposeHeaders: [String] = [], maxAge: Int? = nil, allowCredentials: Bool = false) {
        self.allowOrigins = allowOrigins
        self.allowMethods = allowMethods.map { $0 == "*" ? "*" : $0.uppercased() }
        self.allowHeaders = allowHeaders.map { $0.lowercased() }
        self.exposeHeaders = exposeHeaders
        self.maxAge = maxAge
        self.allowCredentials = allowCredentials
    }

    /// Whether `origin` may call: listed exactly (case-insensitive scheme and host), `*`, or
    /// matching a `scheme://*.domain` wildcard on a subdomain.
    public func allows(origin: String) -> Bool {
        let o = origin.lowercased()
        for allowed in allowOrigins {
            if allowed == "*" { return true }
            let a = allowed.lowercased()
            if a == o { return true }
            if let star = a.range(of: "://*.") {
                let scheme = a[..<star.lowerBound]
                let suffix = a[a.index(star.upperBound, offsetBy: -1)...]   // ".example.com"
                guard o.hasPrefix(scheme + "://") else { continue }
                let host = o.dropFirst(scheme.count + 3)
                if host.hasSuffix(suffix) && host.count > suffix.count && !host.dropLast(suffix.count).contains("/") {
                    return true
                }
            }
        }
        return false
    }

    /// The value of `Access-Control-Allow-Origin` for an allowed origin: `*` when any origin may
    /// call without credentials, else the origin itself.
    public func allowOriginValue(_ origin: String) -> String {
        allowOrigins.contains("*") && !allowCredentials ? "*" : origin
    }

    /// The headers of a preflight answer, or nil when the preflight is refused (an origin, method
    /// or header not allowed): then the answer carries no CORS headers and the browser stops.
    public func preflight(origin: String, method: String, requestHeaders: String?) -> [(String, String)]? {
        guard allows(origin: origin) else { return nil }
        let m = method.uppercased()
        guard allowMethods.contains("*") || allowMethods.contains(m) else { return nil }
        let asked = (requestHeaders ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        if !allowHeaders.contains("*") {
            for header in asked where !allowHeaders.contains(header) { return nil }
        }
        var out: [(String, String)] = [("access-control-allow-origin", allowOriginValue(origin))]
        out.append(("access-control-allow-methods", allowMethods.contains("*") ? m : allowMethods.joined(separator: ",")))
        if !asked.isEmpty {
            out.append(("access-control-allow-headers", allowHeaders.contains("*") ? asked.joined(separator: ",") : allowHeaders.joined(separator: ",")))
        }
        if let maxAge { out.append(("access-control-max-age", String(maxAge))) }
        if allowCredentials { out.append(("access-control-allow-credentials", "true")) }
        out.append(("vary", "Origin"))
        return out
    }

    /// The headers added to an actual response for `origin`, or nil when it is not allowed.
    public func response(origin: String) -> [(String, String)]? {
        guard allows(origin: origin) else { return nil }
        var out: [(String, String)] = [("access-control-allow-origin", allowOriginValue(origin))]
        if !exposeHeaders.isEmpty { out.append(("access-control-expose-headers", exposeHeaders.joined(separator: ","))) }
        if allowCredentials { out.append(("access-control-allow-credentials", "true")) }
        out.append(("vary", "Origin"))
        return out
    }
}
