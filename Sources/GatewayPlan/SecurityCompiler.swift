import Foundation
import GatewayAuthorizers
import GatewayCore
import OpenAPIKit
import Yams

/// Compiles a document's `securitySchemes` and each operation's `security` into what the gateway
/// enforces: at most one gateway-issued API key and at most one authorizer per operation, optional
/// when `security` also lists `{}`. What it cannot enforce is refused at load, never served
/// unprotected.
struct SecurityCompiler {
    let source: YAMLSource
    /// The document's authorizers by scheme name.
    private(set) var authorizers: [String: AuthorizerConfig] = [:]

    static let calloutKeys: Set<String> = ["url", "function", "type", "identitySources", "ttl", "denyTtl", "timeout", "cacheSize"]
    static let jwtKeys: Set<String> = ["issuer", "audiences", "jwks", "leeway", "refetchInterval", "ttl", "cacheSize"]

    init(source: YAMLSource, authorizerFunctions: Set<String>) throws(ConfigError) {
        self.source = source
        guard let schemes = source.root.mapping?["components"]?.mapping?["securitySchemes"]?.mapping else { return }
        for (key, node) in schemes {
            guard let name = key.string, let scheme = node.mapping else { continue }
            let callout = scheme["x-gateway-authorizer"]
            let jwt = scheme["x-gateway-jwt"]
            let type = scheme["type"]?.string ?? ""
            let context = "securitySchemes.\(name)"
            if callout != nil && jwt != nil {
                throw source.error(key, "\(context) has both x-gateway-authorizer and x-gateway-jwt; use one")
            }
            if let callout {
                guard type == "apiKey" || type == "http" else {
                    throw source.error(callout, "\(context): x-gateway-authorizer needs a scheme of type apiKey or http (this one is '\(type)')")
                }
                authorizers[name] = try Self.callout(callout, scheme: scheme, name: name, source: source,
                                                     authorizerFunctions: authorizerFunctions)
            } else if let jwt {
                let bearer = type == "http" && scheme["scheme"]?.string?.lowercased() == "bearer"
                guard bearer || type == "openIdConnect" || type == "oauth2" else {
                    throw source.error(jwt, "\(context): x-gateway-jwt needs a scheme of type http with scheme bearer, openIdConnect or oauth2")
                }
                authorizers[name] = try Self.jwt(jwt, name: name, source: source)
            }
        }
    }

    private static func common(_ ext: YAMLMap) throws(ConfigError) -> (ttl: Duration, denyTTL: Duration?, cacheSize: Int) {
        let ttl = try ext.duration("ttl") ?? AuthorizerConfig.defaultTTL
        guard ttl <= AuthorizerConfig.maxTTL else {
            throw ext.source.error(ext.node("ttl"), "\(ext.context).ttl must be at most 3600s (0 disables the cache)")
        }
        let denyTTL = try ext.duration("denyTtl")
        if let denyTTL, denyTTL > ttl {
            throw ext.source.error(ext.node("denyTtl"), "\(ext.context).denyTtl must not be longer than ttl")
        }
        let cacheSize = try ext.int("cacheSize") ?? AuthorizerConfig.defaultCacheSize
        guard cacheSize > 0 else {
            throw ext.source.error(ext.node("cacheSize"), "\(ext.context).cacheSize must be a positive integer")
        }
        return (ttl, denyTTL, cacheSize)
    }

    private static func callout(_ node: Node, scheme: Node.Mapping, name: String, source: YAMLSource,
                                authorizerFunctions: Set<String>) throws(ConfigError) -> AuthorizerConfig {
        let ext = try YAMLMap(node, in: source, context: "securitySchemes.\(name).x-gateway-authorizer")
        try ext.requireOnly(calloutKeys)
        let url = try ext.string("url")
        let function = try ext.string("function")
        let target: AuthorizerConfig.Callout.Target
        switch (url, function) {
        case (let url?, nil):
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                  parsed.host != nil else {
                throw source.error(ext.node("url"), "\(ext.context).url must be an http:// or https:// URL")
            }
            target = .url(url)
        case (nil, let function?):
            guard authorizerFunctions.contains(function) else {
                let known = authorizerFunctions.sorted().joined(separator: ", ")
                throw source.error(ext.node("function"), "\(ext.context): authorizer function '\(function)' is not registered (registered: \(known))")
            }
            target = .function(function)
        default:
            throw source.error(node, "\(ext.context) needs exactly one of 'url' or 'function'")
        }
        let typeText = try ext.string("type") ?? "request"
        guard let type = AuthorizerConfig.Callout.EventType(rawValue: typeText) else {
            throw source.error(ext.node("type"), "\(ext.context).type must be token or request")
        }
        var sources: [IdentitySource] = []
        if let texts = try ext.stringList("identitySources") {
            for text in texts {
                do {
                    sources.append(try IdentitySource(parsing: text))
                } catch {
                    throw source.error(ext.node("identitySources"), "\(ext.context): \(error.description)")
                }
            }
        } else if scheme["type"]?.string == "apiKey", let keyName = scheme["name"]?.string {
            switch scheme["in"]?.string {
            case "query": sources = [.query(keyName)]
            case "cookie": sources = [.cookie(keyName)]
            default: sources = [.header(keyName.lowercased())]
            }
        } else {
            sources = [.header("authorization")]
        }
        guard !sources.isEmpty else {
            throw source.error(ext.node("identitySources"), "\(ext.context).identitySources must not be empty")
        }
        if type == .token {
            guard sources.count == 1, case .header = sources[0] else {
                throw source.error(ext.node("identitySources") ?? node, "\(ext.context): a token authorizer takes exactly one header identity source")
            }
        }
        let timeout = try ext.duration("timeout") ?? AuthorizerConfig.defaultTimeout
        guard timeout > .zero && timeout <= .seconds(30) else {
            throw source.error(ext.node("timeout"), "\(ext.context).timeout must be between 1ms and 30s")
        }
        let (ttl, denyTTL, cacheSize) = try common(ext)
        return AuthorizerConfig(
            id: "\(source.file)#\(name)", scheme: name,
            kind: .callout(.init(target: target, type: type, identitySources: sources, timeout: timeout)),
            ttl: ttl, denyTTL: denyTTL, cacheSize: cacheSize)
    }

    private static func jwt(_ node: Node, name: String, source: YAMLSource) throws(ConfigError) -> AuthorizerConfig {
        let ext = try YAMLMap(node, in: source, context: "securitySchemes.\(name).x-gateway-jwt")
        try ext.requireOnly(jwtKeys)
        let issuer = try ext.requiredString("issuer")
        let audiences = try ext.stringList("audiences") ?? []
        let jwksText = try ext.requiredString("jwks")
        let jwks: AuthorizerConfig.JWTSettings.KeySource
        let lower = jwksText.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard URL(string: jwksText)?.host != nil else {
                throw source.error(ext.node("jwks"), "\(ext.context).jwks is not a valid URL")
            }
            jwks = .url(jwksText)
        } else {
            guard FileManager.default.isReadableFile(atPath: jwksText) else {
                throw source.error(ext.node("jwks"), "\(ext.context).jwks: cannot read the file '\(jwksText)'")
            }
            jwks = .file(jwksText)
        }
        let leeway = try ext.duration("leeway") ?? .seconds(60)
        let refetch = try ext.duration("refetchInterval") ?? .seconds(30)
        let (ttl, _, cacheSize) = try common(ext)
        return AuthorizerConfig(
            id: "\(source.file)#\(name)", scheme: name,
            kind: .jwt(.init(issuer: issuer, audiences: audiences, jwks: jwks, leeway: leeway, refetchInterval: refetch)),
            ttl: ttl, cacheSize: cacheSize)
    }

    /// The API key and authorizer an operation's effective `security` asks for.
    func requirements(_ security: [DereferencedSecurityRequirement], name: String, line: Int?)
        throws(ConfigError) -> (OperationPlan.APIKeyRequirement?, OperationPlan.AuthorizerRequirement?)
    {
        guard !security.isEmpty else { return (nil, nil) }
        var optional = false
        var chosen: (OperationPlan.APIKeyRequirement?, OperationPlan.AuthorizerRequirement?)?
        var chosenText = ""
        for requirement in security {
            if requirement.schemes.isEmpty {
                optional = true
                continue
            }
            var key: OperationPlan.APIKeyRequirement?
            var authorizer: OperationPlan.AuthorizerRequirement?
            for schemeName in requirement.schemes.keys.sorted() {
                let scoped = requirement.schemes[schemeName]!
                if let config = authorizers[schemeName] {
                    guard authorizer == nil else {
                        throw ConfigError(file: source.file, line: line, "\(name): a security requirement names two authorizers; the gateway runs one per request")
                    }
                    authorizer = .init(id: config.id, scopes: scoped.requiredScopes)
                } else if case .apiKey(let keyName, let location) = scoped.securityScheme.type {
                    guard key == nil else {
                        throw ConfigError(file: source.file, line: line, "\(name): a security requirement names two apiKey schemes; use one")
                    }
                    key = .init(scheme: schemeName, location: .init(rawValue: location.rawValue) ?? .header,
                                name: keyName, optional: false)
                } else {
                    throw ConfigError(file: source.file, line: line,
                        "\(name) requires security scheme '\(schemeName)' (\(scoped.securityScheme.type.name.rawValue)), which the gateway cannot enforce without x-gateway-jwt or x-gateway-authorizer; refusing to serve it unprotected")
                }
            }
            let text = requirement.schemes.keys.sorted().joined(separator: " + ")
            if let chosen, chosen.0 != key || chosen.1 != authorizer {
                throw ConfigError(file: source.file, line: line,
                    "\(name) lists alternative security requirements (\(chosenText) or \(text)); the gateway enforces one requirement (plus an optional {}), so it refuses to serve it unprotected")
            }
            chosen = (key, authorizer)
            chosenText = text
        }
        guard var (key, authorizer) = chosen else { return (nil, nil) }
        key?.optional = optional
        authorizer?.optional = optional
        return (key, authorizer)
    }
}
