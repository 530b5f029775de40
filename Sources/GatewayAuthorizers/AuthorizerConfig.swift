/// One authorizer, compiled from a `securitySchemes` entry: a callout (`x-gateway-authorizer`) or
/// the built-in JWT validator (`x-gateway-jwt`).
public struct AuthorizerConfig: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case callout(Callout)
        case jwt(JWTSettings)
    }

    public struct Callout: Sendable, Equatable {
        public enum Target: Sendable, Equatable, CustomStringConvertible {
            /// An HTTP service: the event is POSTed as JSON.
            case url(String)
            /// A local authorizer function.
            case function(String)

            public var description: String {
                switch self {
                case .url(let u): return u
                case .function(let f): return "function \(f)"
                }
            }
        }

        public enum EventType: String, Sendable, Equatable {
            /// `{type: "TOKEN", authorizationToken, methodArn}`; one header identity source.
            case token
            /// The request's headers, query, path parameters and context.
            case request
        }

        public var target: Target
        public var type: EventType
        public var identitySources: [IdentitySource]
        public var timeout: Duration

        public init(target: Target, type: EventType, identitySources: [IdentitySource], timeout: Duration) {
            self.target = target
            self.type = type
            self.identitySources = identitySources
            self.timeout = timeout
        }
    }

    public struct JWTSettings: Sendable, Equatable {
        public enum KeySource: Sendable, Equatable, CustomStringConvertible {
            case url(String)
            case file(String)

            public var description: String {
                switch self {
                case .url(let u): return u
                case .file(let f): return f
                }
            }
        }

        public var issuer: String
        /// Accepted `aud` values; empty accepts any audience.
        public var audiences: [String]
        public var jwks: KeySource
        /// Allowed clock skew for `exp` and `nbf`.
        public var leeway: Duration
        /// How often at most the key set is fetched again for a token naming an unknown `kid`.
        public var refetchInterval: Duration

        public init(issuer: String, audiences: [String], jwks: KeySource, leeway: Duration = .seconds(60),
                    refetchInterval: Duration = .seconds(30)) {
            self.issuer = issuer
            self.audiences = audiences
            self.jwks = jwks
            self.leeway = leeway
            self.refetchInterval = refetchInterval
        }
    }

    /// Unique within a plan: the document's file and the scheme name, `routes/flights.yaml#partner`.
    public var id: String
    /// The `securitySchemes` key.
    public var scheme: String
    public var kind: Kind
    /// How long an allow (and, by default, a deny) is cached; zero disables the cache.
    public var ttl: Duration
    /// How long a verdict that can only deny is cached.
    public var denyTTL: Duration
    /// Most entries kept; the least recently used go first.
    public var cacheSize: Int

    public static let defaultTTL: Duration = .seconds(300)
    public static let maxTTL: Duration = .seconds(3600)
    public static let defaultTimeout: Duration = .seconds(1)
    public static let defaultCacheSize = 10_000

    public init(id: String, scheme: String, kind: Kind, ttl: Duration = defaultTTL, denyTTL: Duration? = nil,
                cacheSize: Int = defaultCacheSize) {
        self.id = id
        self.scheme = scheme
        self.kind = kind
        self.ttl = ttl
        self.denyTTL = denyTTL ?? ttl
        self.cacheSize = cacheSize
    }

    /// What must be present on a request before anything is called: the identity sources of a
    /// callout, or the `Authorization` header for JWTs.
    public var identitySources: [IdentitySource] {
        switch kind {
        case .callout(let c): return c.identitySources
        case .jwt: return [.header("authorization")]
        }
    }
}
