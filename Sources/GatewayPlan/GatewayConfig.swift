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
        /// Largest request head: the whole HTTP/1.1 head (request line and header lines), or the
        /// decoded HTTP/2 header list (names, values and pseudo-headers); larger gets 431.
        public var maxHeaderBytes: Int = 32 * 1024
        /// Most header fields in one request head; more gets 431.
        public var maxHeaders: Int = 100
        /// Largest body buffered for a function event; larger gets 413.
        public var maxBufferedBody: Int = 10 * 1024 * 1024
        /// A client connection with no request in flight is closed after this.
        public var idleTimeout: Duration = .seconds(60)
        /// A TLS handshake must complete within this, or the connection is closed.
        public var handshakeTimeout: Duration = .seconds(10)
        /// A request head must arrive whole within this once it has begun (or once the connection
        /// opened); then 408 and close.
        public var headerTimeout: Duration = .seconds(10)
        /// While a request body is being read, no more than this may pass without a byte of it;
        /// then 408 and close. Nil: `idleTimeout`.
        public var bodyTimeoutSetting: Duration? = nil
        public var bodyTimeout: Duration { bodyTimeoutSetting ?? idleTimeout }
        /// Open client connections per process; at the limit the gateway stops accepting and
        /// closes the oldest connections that have not completed a request.
        public var maxConnections: Int = 10_000
        /// Concurrent streams an HTTP/2 client may open on one connection.
        public var maxConcurrentStreams: Int = 100
        /// What a request path with an encoded `/` or `\` gets: 400 (`reject`), or matched and
        /// forwarded as sent (`keep`).
        public var escapedSlashes: RequestTarget.EscapedSlashes = .reject

        public init() {}
    }

    public var file: String
    /// The folder holding `gateway.yaml`; API documents are read from here.
    public var routesDirectory: String
    public var https: ListenAddress?
    public var http: ListenAddress?
    public var tls: TLSFiles?
    /// Where API keys, quota counts, buckets and migration stages live: an SQLite file (default
    /// `.gateway/state.sqlite`, one instance), or `redis://…` / `rediss://…` shared by instances.
    public var state: String
    /// What keyed limits and quotas do while a shared state (Redis) cannot be reached.
    public var stateFailure: StateFailure = .open
    public var upstreams: [String: Upstream]
    public var defaultUpstream: String?
    public var throttle: Throttle?
    public var plans: [String: Plan]
    public var limits: Limits
    /// Threads serving connections (0 = one per core).
    public var threads: Int
    /// Functions run as worker processes behind the Lambda Runtime API, by name.
    public var functions: [String: ProcessFunctionConfig] = [:]
    /// `logs:` (read at start; a reload does not change them).
    public var logs = Logs()
    /// `admin:`: the admin listener (health, readiness, metrics, route table, reload); nil: none.
    public var admin: Admin?

    public struct Admin: Sendable, Equatable {
        public var listen: ListenAddress
        /// The bearer token for `/admin/*` (after `${VAR}` expansion); nil: those endpoints refuse.
        public var token: String?
    }

    /// `tracing:`: span export over OTLP/HTTP (read at start); nil: spans are not exported (W3C
    /// trace context still travels).
    public var tracing: Tracing?

    public struct Tracing: Sendable, Equatable {
        public var otlp: String
        /// Fraction of new traces sampled, 0...1.
        public var sample: Double
    }

    /// How long a drain (SIGTERM) waits for requests in flight before closing their connections.
    public var shutdownTimeout: Duration = .seconds(30)

    public struct Logs: Sendable, Equatable {
        public enum Format: String, Sendable { case text, json }
        public var format: Format = .text
        /// One access line per request, at `info`.
        public var access = true
        public init() {}
    }
}

/// `stateFailure:` — while Redis is unreachable, `open` admits requests that need a limit
/// decision without limits or quota counting; `closed` answers them 503.
public enum StateFailure: String, Sendable, Equatable {
    case open, closed
}
