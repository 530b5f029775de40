import Foundation
import GatewayAuthorizers
import GatewayCallouts
import GatewayCore
import GatewayFunctions
import GatewayPlan
import NIOCore

/// Step 4: asks the operation's authorizer whether the request may pass. A missing identity is
/// a 401 without any callout; a cached verdict answers at once; otherwise the request waits for
/// the (single-flight) callout. Failures of the authorizer are 500s: the gateway fails closed.
struct AuthorizerFilter: RequestFilter {
    let authorizer: Authorizer
    let requirement: OperationPlan.AuthorizerRequirement

    static let denied = GatewayError(status: 403, message: "User is not authorized to access this resource")
    static let explicitlyDenied = GatewayError(status: 403, message: "User is not authorized to access this resource with an explicit deny")

    func run(_ request: RequestContext, on loop: any EventLoop) -> FilterStatus {
        let config = authorizer.config
        let sources = config.identitySources
        // Each authorizer has its own cache, so the key is just the identity: the values of its
        // sources (one value as it is, with no array made for it; several joined with NUL, which
        // no header or query value holds).
        let key: String, first: String
        var values: [String] = []
        if sources.count == 1 {
            guard let value = Self.identity(sources[0], request), !value.isEmpty else {
                return requirement.optional ? .next : .respond(Self.unauthorized(config, reason: nil))
            }
            key = value
            first = value
        } else {
            values.reserveCapacity(sources.count)
            for source in sources {
                guard let value = Self.identity(source, request), !value.isEmpty else {
                    return requirement.optional ? .next : .respond(Self.unauthorized(config, reason: nil))
                }
                values.append(value)
            }
            key = values.joined(separator: "\u{0}")
            first = values.first ?? ""
        }
        var jwtToken: String?
        if case .jwt = config.kind {
            guard let token = Self.bearerToken(first) else {
                return requirement.optional ? .next : .respond(Self.unauthorized(config, reason: nil))
            }
            jwtToken = token
        }
        let start = authorizer.authorize(key: key, requestId: request.requestId, on: loop,
                                         now: NIODeadline.now().uptimeNanoseconds) {
            if let jwtToken { return .string(jwtToken) }
            return Self.event(for: request, config: config, identity: sources.count == 1 ? [first] : values)
        }
        switch start {
        case .cached(let outcome):
            return apply(.success(outcome), to: request)
        case .pending(let future):
            // The future completes on `loop`, the request's own: its context may be used there.
            return .suspend(future.assumeIsolated().map { outcome in apply(outcome, to: request) }.nonisolated())
        }
    }

    /// Applies an authorizer's outcome to the request.
    func apply(_ outcome: Authorizer.Outcome, to request: RequestContext) -> FilterStatus {
        let config = authorizer.config
        switch outcome {
        case .failure:
            return .respond(.internalServerError)
        case .success(.unauthorized(let reason)):
            return .respond(Self.unauthorized(config, reason: reason))
        case .success(.verdict(let verdict)):
            let decision: AuthorizerDecision
            if case .policy(let policy) = verdict.grant {
                // The ARN's bytes in scratch space, evaluated there: no string per request.
                decision = AuthorizerEvent.withMethodArn(api: request.route.api, method: request.head.method.rawValue,
                                                         path: request.path) {
                    policy.evaluate(methodArn: $0)
                }
            } else {
                decision = verdict.decision(methodArn: "")
            }
            switch decision {
            case .allow:
                request.authorization = verdict.forwarding
                return .next
            case .deny:
                return .respond(Self.denied)
            case .explicitDeny:
                return .respond(Self.explicitlyDenied)
            }
        case .success(.token(let claims)):
            guard case .jwt(let settings) = config.kind else { return .respond(.internalServerError) }
            do {
                try claims.check(issuer: settings.issuer, audiences: settings.audiences,
                                 now: Double(request.startWallClock) / 1000,
                                 leeway: Double(settings.leeway.components.seconds))
            } catch {
                return .respond(Self.unauthorized(config, reason: error.description))
            }
            let missing = claims.missingScopes(requirement.scopes)
            guard missing.isEmpty else {
                return .respond(GatewayError(status: 403, message: "Forbidden", headers: [
                    ("www-authenticate", "Bearer error=\"insufficient_scope\", scope=\"\(requirement.scopes.joined(separator: " "))\""),
                ]))
            }
            request.authorization = claims.forwarding
            return .next
        }
    }
    /// 401; for JWT authorizers with RFC 6750's `WWW-Authenticate` (`invalid_token` when a token
    /// was presented).
    static func unauthorized(_ config: AuthorizerConfig, reason: String?) -> GatewayError {
        guard case .jwt = config.kind else { return .unauthorized }
        var challenge = "Bearer"
        if let reason {
            challenge += " error=\"invalid_token\", error_description=\"\(reason.replacingOccurrences(of: "\"", with: "'"))\""
        }
        return GatewayError(status: 401, message: "Unauthorized", headers: [("www-authenticate", challenge)])
    }

    static func bearerToken(_ value: String) -> String? {
        guard value.count > 7, value.prefix(7).lowercased() == "bearer " else { return nil }
        let token = value.dropFirst(7).drop(while: { $0 == " " })
        return token.isEmpty ? nil : String(token)
    }

    static func identity(_ source: IdentitySource, _ request: RequestContext) -> String? {
        switch source {
        case .header(let name): return request.head.headers.first(name: name)
        case .query(let name): return request.queryValue(name)
        case .cookie(let name): return request.cookieValue(name).map(String.init)
        case .path(let name): return request.pathParameter(name)
        case .context(.routeKey): return request.operation?.routeKey ?? "$default"
        case .context(.httpMethod): return request.head.method.rawValue
        case .context(.path): return String(request.path)
        case .context(.sourceIp): return request.remoteIP
        }
    }

    /// The callout's event (cold path: built only on a cache miss).
    static func event(for request: RequestContext, config: AuthorizerConfig, identity: [String]) -> JSONValue {
        let methodArn = AuthorizerEvent.methodArn(api: request.route.api,
                                                  method: request.head.method.rawValue, path: request.path)
        guard case .callout(let callout) = config.kind, callout.type == .request else {
            return AuthorizerEvent.token(identity.first ?? "", methodArn: methodArn)
        }
        let base = FunctionEventBuilder.event(for: request, body: nil)
        var context: JSONValue = .object([:])
        if let data = try? JSONEncoder().encode(base.requestContext), let value = try? JSONValue.parse(data) {
            context = value
        }
        return AuthorizerEvent.request(.init(
            routeKey: base.routeKey, methodArn: methodArn, rawPath: base.rawPath, rawQueryString: base.rawQueryString,
            cookies: base.cookies ?? [], headers: base.headers, queryStringParameters: base.queryStringParameters ?? [:],
            pathParameters: base.pathParameters ?? [:], requestContext: context, identitySource: identity))
    }
}
