import GatewayCore
import GatewayValidation

/// One compiled operation: where a matched request goes and what applies to it.
public struct OperationPlan: Sendable {
    /// The action's target by name (for the route table and logs).
    public enum Target: Sendable, Equatable, CustomStringConvertible {
        case function(String)
        case upstream(String)
        /// The candidate (function or upstream) replacing a legacy upstream, and where it starts.
        indirect case migration(candidate: Target, from: String, stage: String)

        public var description: String {
            switch self {
            case .function(let name): return "function \(name)"
            case .upstream(let name): return "upstream \(name)"
            case .migration(let candidate, let from, let stage): return "\(candidate) migrating from upstream \(from) (\(stage))"
            }
        }
    }

    /// A gateway-issued API key the operation asks for, from a `securitySchemes` entry of
    /// `type: apiKey` referenced by its (or its document's) `security`.
    public struct APIKeyRequirement: Sendable, Equatable {
        public enum Location: String, Sendable { case header, query, cookie }
        public var scheme: String
        public var location: Location
        /// Header names are lower-cased.
        public var name: String
        /// `security` also lists `{}`: requests without a key are allowed (and not keyed).
        public var optional: Bool

        public init(scheme: String, location: Location, name: String, optional: Bool) {
            self.scheme = scheme
            self.location = location
            self.name = location == .header ? name.lowercased() : name
            self.optional = optional
        }
    }

    /// An authorizer the operation asks for (a callout or the built-in JWT validator), from a
    /// `securitySchemes` entry with `x-gateway-authorizer` or `x-gateway-jwt`.
    public struct AuthorizerRequirement: Sendable, Equatable {
        /// `GatewayPlan.authorizers` key.
        public var id: String
        /// Scopes the operation's `security` requirement lists (checked against JWT scopes).
        public var scopes: [String]
        /// `security` also lists `{}`: a request without the identity passes unauthorized.
        public var optional: Bool

        public init(id: String, scopes: [String] = [], optional: Bool = false) {
            self.id = id
            self.scopes = scopes
            self.optional = optional
        }
    }

    /// Upper-case method, or nil for an `x-gateway-any-method` operation.
    public var method: String?
    /// The full path template, base path included: `/v1/flights/{flightId}`.
    public var path: String
    public var operationId: String?
    /// Where the request goes, resolved (and how long it may take).
    public var action: RouteAction
    public var target: Target { Self.target(of: action) }

    static func target(of action: RouteAction) -> Target {
        switch action {
        case .function(let f): return .function(f.name)
        case .upstream(let u): return .upstream(u.upstream.name)
        case .migration(let m): return .migration(candidate: target(of: m.candidate), from: m.legacy.upstream.name, stage: m.config.stage.rawValue)
        }
    }
    /// How long the function or upstream may take to answer.
    public var timeout: Duration { action.timeout }
    public var throttle: GatewayConfig.Throttle?
    /// The API document the operation comes from.
    public var document: String
    /// The template's parameter names, in path order (the greedy one last).
    public var parameterNames: [String]
    public var apiKey: APIKeyRequirement?
    public var authorizer: AuthorizerRequirement?
    /// Checks parameters and body against the document; nil when there is nothing to check or
    /// `x-gateway: {validate: false}`.
    public var validator: OperationValidator?
    /// The largest body the operation buffers (`x-gateway: {maxBodyBytes}`); nil: `limits.maxBodyBytes`.
    public var maxBodyBytes: Int?
    /// The API's name in authorizer method ARNs: the document's file name without extension.
    public var api: String

    /// AWS's route key: `POST /flights/{flightId}`, or `ANY /path` for any-method operations.
    public var routeKey: String { "\(method ?? "ANY") \(path)" }
    /// How reports and the CLI name the route: its operationId, or `METHOD /path`.
    public var routeName: String { operationId ?? routeKey }
    /// `x-gateway-cors` of the operation, or else of its document.
    public var cors: CORSPolicy?

    public init(method: String?, path: String, operationId: String?, action: RouteAction,
                throttle: GatewayConfig.Throttle? = nil, apiKey: APIKeyRequirement? = nil,
                authorizer: AuthorizerRequirement? = nil, validator: OperationValidator? = nil,
                maxBodyBytes: Int? = nil, cors: CORSPolicy? = nil, document: String) {
        self.cors = cors
        self.apiKey = apiKey
        self.authorizer = authorizer
        self.validator = validator
        self.maxBodyBytes = maxBodyBytes
        let file = document.split(separator: "/").last.map(String.init) ?? document
        self.api = file.split(separator: ".").first.map(String.init) ?? file
        self.method = method
        self.path = path
        self.operationId = operationId
        self.action = action
        self.throttle = throttle
        self.document = document
        self.parameterNames = (try? PathTemplate(path))?.parameterNames ?? []
    }
}
