/// What a route does with a request once its policies let it through, with every reference
/// resolved when the plan is compiled: the upstream's whole configuration, not its name. The
/// migration issue adds weighted and mirrored actions beside these.
public enum RouteAction: Sendable, Equatable, CustomStringConvertible {
    case function(FunctionBinding)
    case upstream(UpstreamBinding)

    /// A function (compiled in, or a worker process) by name, with its timeout.
    public struct FunctionBinding: Sendable, Equatable {
        public var name: String
        public var timeout: Duration
        public init(name: String, timeout: Duration) {
            self.name = name
            self.timeout = timeout
        }
    }

    /// A legacy upstream and the time its answer may take on this route.
    public struct UpstreamBinding: Sendable, Equatable {
        public var upstream: Upstream
        public var timeout: Duration
        public init(upstream: Upstream, timeout: Duration) {
            self.upstream = upstream
            self.timeout = timeout
        }
    }

    public var timeout: Duration {
        switch self {
        case .function(let f): return f.timeout
        case .upstream(let u): return u.timeout
        }
    }

    public var description: String {
        switch self {
        case .function(let f): return "function \(f.name)"
        case .upstream(let u): return "upstream \(u.upstream.name)"
        }
    }
}
