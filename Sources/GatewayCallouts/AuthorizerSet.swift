import AsyncHTTPClient
import GatewayAuthorizers
import GatewayCore
import GatewayFunctions
import Logging

/// The authorizers of one compiled plan, each with its own cache. Built with the runtime; a
/// reload builds a new set, reusing (with its cache) every authorizer whose configuration did not
/// change.
public struct AuthorizerSet: Sendable {
    private let byId: [String: Authorizer]

    public static let empty = AuthorizerSet(byId: [:])

    private init(byId: [String: Authorizer]) {
        self.byId = byId
    }

    /// HTTP callouts and JWKS fetches use `client` (AsyncHTTPClient: these are cold paths).
    public init(configs: [String: AuthorizerConfig], functions: FunctionRegistry, client: HTTPClient = .shared,
                logger: Logger, reusing previous: AuthorizerSet? = nil) throws(AuthorizerFailure) {
        var byId: [String: Authorizer] = [:]
        for (id, config) in configs {
            if let kept = previous?.byId[id], kept.config == config, Self.sameFunction(kept, config, functions) {
                byId[id] = kept
                continue
            }
            let callout: Authorizer.Callout
            switch config.kind {
            case .callout(let c):
                switch c.target {
                case .url(let url):
                    callout = .http(url: url, client: client)
                case .function(let name):
                    guard let function = functions.authorizer(name) else {
                        throw AuthorizerFailure("\(id): authorizer function '\(name)' is not registered")
                    }
                    callout = .function(function)
                }
            case .jwt(let settings):
                do {
                    callout = .jwt(try JWTVerifier(settings: settings, client: client))
                } catch let failure as AuthorizerFailure {
                    throw AuthorizerFailure("\(id): \(failure.description)")
                } catch {
                    throw AuthorizerFailure("\(id): \(error)")
                }
            }
            byId[id] = Authorizer(config: config, callout: callout, logger: logger)
        }
        self.byId = byId
    }

    /// A function authorizer is reused only while the same function is registered under its name
    /// (functions never change within one process, so the name is enough).
    private static func sameFunction(_ kept: Authorizer, _ config: AuthorizerConfig, _ functions: FunctionRegistry) -> Bool {
        guard case .callout(let c) = config.kind, case .function(let name) = c.target else { return true }
        return functions.authorizer(name) != nil
    }

    public subscript(id: String) -> Authorizer? { byId[id] }

    public var all: [Authorizer] { byId.keys.sorted().map { byId[$0]! } }
}
