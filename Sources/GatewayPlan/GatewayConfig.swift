import GatewayCore

/// `routes/gateway.yaml`, read and checked. Paths inside it are as written (relative paths resolve
/// against the working directory).
public struct GatewayConfig: Sendable {
    public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var key: String
    }

    public typealias Throttle = GatewayCore.Throttle

    public struct Quota: Sendable, Equatable {
        public typealias Period = QuotaPeriod
        public var limit: Int
        public var period: Period
        public init(limit: Int, period: Period) {
            self.limit = limit
            self.period = period
        }
    }

    public struct Plan: Sendable, Equatable {
        public var throttle: Throttle
        public var quota: Quota?
        /// Per-operation throttles, by `operationId`.
        public var operations: [String: Throttle]
    }

    public struct Limits: Sendable, Equatable {
        /// Largest request head (request line and headers) accepted on HTTP/1.1; larger gets 400.
        public var maxHeaderBytes: Int = 32 * 1024
        /// Largest body buffered for a function event; larger gets 413.
        public var maxBufferedBody: Int = 10 * 1024 * 1024
        /// A client connection with no request in flight is closed after this.
        public var idleTimeout: Duration = .seconds(60)
    }

    public var file: String
    /// The folder holding `gateway.yaml`; API documents are read from here.
    public var routesDirectory: String
    public var https: ListenAddress?
    public var http: ListenAddress?
    public var tls: TLSFiles?
    /// The SQLite file holding API keys and quota counters (default `.gateway/state.sqlite`).
    public var state: String
    public var upstreams: [String: Upstream]
    public var defaultUpstream: String?
    public var throttle: Throttle?
    public var plans: [String: Plan]
    public var limits: Limits
    /// Threads serving connections (0 = one per core).
    public var threads: Int
}
