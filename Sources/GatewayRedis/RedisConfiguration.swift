import NIOCore

/// Where a Redis server is and how to talk to it: `redis://[user:password@]host[:port][/db]` or
/// `rediss://…` (TLS), with optional query parameters `timeout` (each call's, default 100 ms, as
/// `250ms` or `1s`), `ca` (a PEM file of trusted CAs for rediss) and `protocol` (2 or 3).
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    public var database: Int
    public var tls: Bool
    public var caFile: String?
    public var timeout: TimeAmount
    public var protocolVersion: Int
    /// How long one connection attempt may take.
    public var connectTimeout: TimeAmount = .seconds(1)
    /// Backoff between failed attempts: from `minBackoff`, doubling, at most `maxBackoff`, jittered.
    public var minBackoff: TimeAmount = .milliseconds(50)
    public var maxBackoff: TimeAmount = .seconds(2)

    public init(host: String, port: Int = 6379, user: String? = nil, password: String? = nil, database: Int = 0,
                tls: Bool = false, caFile: String? = nil, timeout: TimeAmount = .milliseconds(100), protocolVersion: Int = 2) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.caFile = caFile
        self.timeout = timeout
        self.protocolVersion = protocolVersion
    }

    /// True when `text` names Redis rather than a file.
    public static func isRedisURL(_ text: String) -> Bool {
        text.hasPrefix("redis://") || text.hasPrefix("rediss://")
    }

    public struct URLError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses a `redis://` or `rediss://` URL; the error says what is wrong with it.
    public init(url text: String) throws(URLError) {
        let tls: Bool
        var rest: Substring
        if text.hasPrefix("rediss://") { tls = true; rest = text.dropFirst(9) }
        else if text.hasPrefix("redis://") { tls = false; rest = text.dropFirst(8) }
        else { throw URLError(description: "'\(text)' is not a redis:// or rediss:// URL") }
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") { query = rest[rest.index(after: q)...]; rest = rest[..<q] }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") { path = rest[rest.index(after: slash)...]; rest = rest[..<slash] }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let u = credentials[..<colon]
                user = u.isEmpty ? nil : Self.decode(u)
                password = Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                password = Self.decode(credentials)
            }
        }
        var host = String(rest)
        var port = 6379
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw URLError(description: "unclosed [ in the host of '\(text)'") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw URLError(description: "bad port in '\(text)'") }
                port = p
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                throw URLError(description: "bad port in '\(text)'")
            }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw URLError(description: "no host in '\(text)'") }
        var database = 0
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else { throw URLError(description: "the database in '\(text)' is not a number") }
            database = db
        }
        self.init(host: host, port: port, user: user, password: password, database: database, tls: tls)
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let name = String(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            switch name {
            case "timeout":
                guard let t = Self.duration(value) else {
                    throw URLError(description: "timeout=\(value) in '\(text)' is not a duration like 100ms or 1s")
                }
                timeout = t
            case "ca":
                guard tls else { throw URLError(description: "ca= needs rediss:// in '\(text)'") }
                caFile = value
            case "protocol":
                guard value == "2" || value == "3" else { throw URLError(description: "protocol=\(value) in '\(text)': 2 or 3") }
                protocolVersion = Int(value)!
            default:
                throw URLError(description: "unknown parameter '\(name)' in '\(text)' (known: timeout, ca, protocol)")
            }
        }
    }

    /// The URL without the password (for logs and errors).
    public var redacted: String {
        let scheme = tls ? "rediss" : "redis"
        let credentials = password == nil ? "" : "\(user ?? ""):***@"
        return "\(scheme)://\(credentials)\(host):\(port)/\(database)"
    }

    private static func decode(_ s: Substring) -> String {
        s.removingPercentEncoding ?? String(s)
    }

    static func duration(_ text: String) -> TimeAmount? {
        if text.hasSuffix("ms"), let n = Int64(text.dropLast(2)), n > 0 { return .milliseconds(n) }
        if text.hasSuffix("s"), let n = Int64(text.dropLast(1)), n > 0 { return .seconds(n) }
        return nil
    }
}

extension Substring {
    fileprivate var removingPercentEncoding: String? {
        var bytes: [UInt8] = []
        var i = utf8.startIndex
        while i < utf8.endIndex {
            let b = utf8[i]
            if b == UInt8(ascii: "%") {
                let h = utf8.index(after: i)
                guard h < utf8.endIndex, utf8.index(after: h) < utf8.endIndex,
                      let v = UInt8(String(self[h...utf8.index(after: h)]), radix: 16) else { return nil }
                bytes.append(v)
                i = utf8.index(h, offsetBy: 2)
            } else {
                bytes.append(b)
                i = utf8.index(after: i)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
