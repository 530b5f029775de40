/// A route's migration from a legacy upstream to its candidate (`x-gateway.migration` on an
/// operation). Every block has defaults; only `from` is required.
public struct MigrationConfig: Sendable, Equatable {
    public enum Stage: String, Sendable, Equatable, CaseIterable, Comparable, Codable {
        /// Legacy answers; the candidate gets nothing.
        case legacy
        /// Legacy answers; the candidate gets copies.
        case shadow
        /// The candidate answers `weight`% of clients (sticky); the rest as in shadow.
        case canary
        /// The candidate answers all; legacy only as fallback.
        case primary

        var rank: Int { Self.allCases.firstIndex(of: self)! }
        public static func < (a: Stage, b: Stage) -> Bool { a.rank < b.rank }
    }

    public enum Sticky: Sendable, Equatable, CustomStringConvertible {
        public var description: String {
            switch self {
            case .apiKey: return "apiKey"
            case .header(let name): return "header.\(name)"
            case .cookie(let name): return "cookie.\(name)"
            case .ip: return "ip"
            case .none: return "none"
            }
        }

        case apiKey
        case header(String)
        case cookie(String)
        case ip
        case none

        public init?(_ text: String) {
            switch text {
            case "apiKey": self = .apiKey
            case "ip": self = .ip
            case "none": self = .none
            default:
                if text.hasPrefix("header."), text.count > 7 {
                    self = .header(String(text.dropFirst(7)).lowercased())
                } else if text.hasPrefix("cookie."), text.count > 7 {
                    self = .cookie(String(text.dropFirst(7)))
                } else {
                    return nil
                }
            }
        }
    }

    public struct Shadow: Sendable, Equatable {
        public var sample: Int = 100
        public var methods: Set<String> = ["GET", "HEAD"]
        public init() {}
    }

    public struct Compare: Sendable, Equatable {
        public var ignore: [PointerPattern] = []
        /// Headers compared besides the status (lowercased).
        public var headers: [String] = ["content-type"]
        /// Percent of compared requests also sent to legacy a second time, to learn noise.
        public var noise: Int = 0
        public init() {}
    }

    public struct Canary: Sendable, Equatable {
        public var weight: Int = 5
        public var steps: [Int] = []
        public var interval: Duration = .seconds(600)
        public var sticky: Sticky = .apiKey
        public init() {}
    }

    public struct Rollback: Sendable, Equatable {
        /// Percent of candidate 5xx, timeouts and connection failures.
        public var errorRate: Double = 2
        /// Candidate p99 over legacy p99.
        public var latency: Double = 2.0
        public var window: Duration = .seconds(60)
        public var minRequests: Int = 50
        public init() {}
    }

    /// The upstream that serves the route today.
    public var from: String
    /// Where a fresh state store starts.
    public var stage: Stage = .shadow
    public var shadow = Shadow()
    public var compare = Compare()
    public var canary = Canary()
    public var rollback = Rollback()
    public var fallback = true

    public init(from: String) {
        self.from = from
    }
}
