import Foundation
import GatewayMigration

/// What a route does with a request once its policies let it through, with every reference
/// resolved when the plan is compiled: the upstream's whole configuration, not its name.
public enum RouteAction: Sendable, Equatable, CustomStringConvertible {
    case function(FunctionBinding)
    case upstream(UpstreamBinding)
    /// The route moves from a legacy upstream to its candidate (a function or another upstream).
    indirect case migration(MigrationBinding)

    /// A route under migration: the candidate (never itself a migration), the legacy upstream it
    /// replaces, and the migration's settings.
    public struct MigrationBinding: Sendable, Equatable {
        public var candidate: RouteAction
        public var legacy: UpstreamBinding
        public var config: MigrationConfig
        public init(candidate: RouteAction, legacy: UpstreamBinding, config: MigrationConfig) {
            self.candidate = candidate
            self.legacy = legacy
            self.config = config
        }
    }

    /// A function (compiled in, or a worker process) by name, with its timeout.
    public struct FunctionBinding: Sendable, Equatable {
        public var name: String
        public var timeout: Duration
        /// Set for a function run by worker processes (`functions.NAME`); nil for one compiled in.
        public var process: ProcessFunctionConfig?
        public init(name: String, timeout: Duration, process: ProcessFunctionConfig? = nil) {
            self.name = name
            self.timeout = timeout
            self.process = process
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
        case .migration(let m): return m.candidate.timeout
        }
    }

    public var description: String {
        switch self {
        case .function(let f):
            guard let process = f.process else { return "function \(f.name)" }
            return "function \(f.name) (\(process.workers) worker\(process.workers == 1 ? "" : "s"): \((process.command.first as NSString?)?.lastPathComponent ?? ""))"
        case .upstream(let u): return "upstream \(u.upstream.name)"
        case .migration(let m): return "\(m.candidate) migrating from upstream \(m.legacy.upstream.name) (starts in \(m.config.stage.rawValue))"
        }
    }
}
