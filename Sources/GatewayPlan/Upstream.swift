import GatewayCore
import GatewayResilience

/// A legacy backend: one or more targets balanced round-robin.
public struct Upstream: Sendable, Equatable {
    public struct Target: Sendable, Equatable, CustomStringConvertible {
        /// The target's fields, in one object its copies share: a request copies its target a few
        /// times (dispatcher, exchange, connector), and a copy is then one retain rather than one
        /// per string (about 700 instructions per proxied request, `bench/callgrind`).
        @usableFromInline
        final class Fields: Sendable {
            @usableFromInline let tls: Bool
            @usableFromInline let host: String
            @usableFromInline let port: Int
            @usableFromInline let basePath: String
            @usableFromInline let authority: String
            @usableFromInline let description: String

            init(tls: Bool, host: String, port: Int, basePath: String) {
                self.tls = tls
                self.host = host
                self.port = port
                self.basePath = basePath
                let h = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
                self.authority = port == (tls ? 443 : 80) ? h : "\(h):\(port)"
                self.description = "\(tls ? "https" : "http")://\(authority)\(basePath)"
            }
        }

        @usableFromInline let fields: Fields

        @inlinable public var tls: Bool { fields.tls }
        @inlinable public var host: String { fields.host }
        @inlinable public var port: Int { fields.port }
        /// A path prefix from the target URL (`http://h:1/api` → `/api`), prepended to forwarded paths.
        @inlinable public var basePath: String { fields.basePath }
        /// `host:port` as a Host header names it (computed once; used per request).
        @inlinable public var authority: String { fields.authority }
        /// The target as a URL; also the upstream pool's key (computed once).
        @inlinable public var description: String { fields.description }

        public init(tls: Bool, host: String, port: Int, basePath: String) {
            fields = Fields(tls: tls, host: host, port: port, basePath: basePath)
        }

        public static func == (a: Target, b: Target) -> Bool {
            a.fields === b.fields
                || (a.tls == b.tls && a.host == b.host && a.port == b.port && a.basePath == b.basePath)
        }

        /// Parses `http://host:port/base` or `https://…`.
        public static func parse(_ text: String) -> Target? {
            let tls: Bool
            var rest: Substring
            if text.hasPrefix("http://") {
                tls = false
                rest = text.dropFirst(7)
            } else if text.hasPrefix("https://") {
                tls = true
                rest = text.dropFirst(8)
            } else {
                return nil
            }
            var basePath = ""
            if let slash = rest.firstIndex(of: "/") {
                basePath = String(rest[slash...])
                rest = rest[..<slash]
                while basePath.hasSuffix("/") { basePath.removeLast() }
            }
            var host: String
            var port = tls ? 443 : 80
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()) else { return nil }
                    port = p
                } else if !after.isEmpty {
                    return nil
                }
            } else if let colon = rest.lastIndex(of: ":") {
                host = String(rest[..<colon])
                guard let p = Int(rest[rest.index(after: colon)...]) else { return nil }
                port = p
            } else {
                host = String(rest)
            }
            guard !host.isEmpty, (1...65535).contains(port) else { return nil }
            return Target(tls: tls, host: host, port: port, basePath: basePath)
        }
    }

    public var name: String
    public var targets: [Target]
    /// Time allowed for the upstream to answer (and between its body chunks).
    public var timeout: Duration
    public var connectTimeout: Duration
    /// A PEM file of CA certificates for `https://` targets; the system trust store when absent.
    public var caFile: String?
    /// Idle keep-alive connections kept per event loop and target.
    public var maxIdlePerTarget: Int
    /// Health checks, outlier detection, retries, limits and the balancing rule (all optional).
    public var resilience: ResilienceConfig = ResilienceConfig()

    public init(name: String, targets: [Target], timeout: Duration = Upstream.defaultTimeout, connectTimeout: Duration = .seconds(5),
                caFile: String? = nil, maxIdlePerTarget: Int = 1024, resilience: ResilienceConfig = ResilienceConfig()) {
        self.name = name
        self.targets = targets
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.caFile = caFile
        self.maxIdlePerTarget = maxIdlePerTarget
        self.resilience = resilience
    }

    public static let defaultTimeout: Duration = .seconds(29)
}
