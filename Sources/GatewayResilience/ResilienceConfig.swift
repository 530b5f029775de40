/// The resilience settings of one upstream (`upstreams.NAME` in gateway.yaml); every block is
/// optional and absent means off.
public struct ResilienceConfig: Sendable, Equatable {
    public enum Balance: String, Sendable, Equatable {
        case roundRobin = "round-robin"
        case leastRequest = "least-request"
    }

    /// Active checks: each target's `path` is asked every `interval`.
    public struct HealthCheck: Sendable, Equatable {
        public var path: String = "/health"
        public var interval: Duration = .seconds(5)
        public var timeout: Duration = .seconds(1)
        public var healthyThreshold: Int = 2
        public var unhealthyThreshold: Int = 3
        public var expectStatus: ClosedRange<Int> = 200...399
        public init() {}
    }

    /// Passive detection from real traffic: 5xx answers, timeouts and connection failures.
    public struct OutlierDetection: Sendable, Equatable {
        public var consecutiveFailures: Int = 5
        public var ejectionTime: Duration = .seconds(30)
        public var maxEjectionPercent: Int = 10
        public init() {}
    }

    public enum RetryCondition: String, Sendable, Equatable, CaseIterable {
        case connectFailure = "connect-failure"
        case reset
        case timeout
        case status502 = "502"
        case status503 = "503"
        case status504 = "504"
    }

    public struct Retries: Sendable, Equatable {
        /// Tries beyond the first.
        public var attempts: Int = 2
        public var on: Set<RetryCondition> = [.connectFailure, .reset, .status502, .status503, .status504]
        public var methods: Set<String> = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]
        /// Retries at most this fraction of requests over the budget's window.
        public var budget: Double = 0.2
        /// Before the first retry; doubles for each next one, with jitter.
        public var backoff: Duration = .milliseconds(25)
        public init() {}
    }

    /// The circuit breaker: per upstream, for the whole process.
    public struct Limits: Sendable, Equatable {
        public var maxConnections: Int = 1024
        public var maxRequests: Int = 1024
        public var maxPending: Int = 256
        public init() {}
    }

    public var balance: Balance = .roundRobin
    public var healthCheck: HealthCheck?
    public var outlierDetection: OutlierDetection?
    public var retries: Retries?
    public var limits: Limits?

    public init() {}
}
