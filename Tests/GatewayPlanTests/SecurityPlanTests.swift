import Foundation
import GatewayAuthorizers
import GatewayCore
import GatewayPlan
import Testing

/// Security schemes with authorizers, and the requirements the plan compiler accepts or refuses.
@Suite struct SecurityPlanTests {
    static func document(_ security: String) -> String {
        """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        components:
          securitySchemes:
            key: {type: apiKey, in: header, name: x-api-key}
            other: {type: apiKey, in: query, name: k}
            desk:
              type: apiKey
              in: header
              name: x-desk
              x-gateway-authorizer: {url: 'http://127.0.0.1:9/auth', type: request, identitySources: [header.x-desk, context.routeKey], ttl: 60s, denyTtl: 10s}
            jwt: {type: http, scheme: bearer, x-gateway-jwt: {issuer: 'https://i', jwks: 'https://i/jwks.json', audiences: [a]}}
        paths:
          /a:
            get: {security: \(security), x-gateway: {function: f.one}, responses: {'200': {description: ok}}}
        """
    }

    @Test func aKeyAndAnAuthorizerCanBeRequiredTogether() throws {
        let plan = try RoutesFolder(documents: ["api.yaml": Self.document("[{key: [], jwt: [alerts:read]}]")]).compile()
        let op = try #require(plan.operations.first)
        #expect(op.apiKey?.name == "x-api-key")
        #expect(op.authorizer?.scopes == ["alerts:read"])
        #expect(op.authorizer?.optional == false)
        let config = try #require(plan.authorizers[op.authorizer!.id])
        guard case .jwt(let settings) = config.kind else { Issue.record("expected a JWT authorizer"); return }
        #expect(settings.issuer == "https://i")
        #expect(settings.audiences == ["a"])
        #expect(settings.jwks == .url("https://i/jwks.json"))
    }

    @Test func calloutSettingsAreCompiled() throws {
        let plan = try RoutesFolder(documents: ["api.yaml": Self.document("[{desk: []}, {}]")]).compile()
        let op = try #require(plan.operations.first)
        #expect(op.authorizer?.optional == true, "{} makes it optional")
        let config = try #require(plan.authorizers[op.authorizer!.id])
        #expect(config.ttl == .seconds(60))
        #expect(config.denyTTL == .seconds(10))
        guard case .callout(let callout) = config.kind else { Issue.record("expected a callout"); return }
        #expect(callout.type == .request)
        #expect(callout.identitySources == [.header("x-desk"), .context(.routeKey)])
        #expect(callout.timeout == AuthorizerConfig.defaultTimeout)
    }

    @Test(arguments: [
        ("[{key: []}, {other: []}]", "alternative security requirements"),
        ("[{desk: [], jwt: []}]", "names two authorizers"),
        ("[{key: [], other: []}]", "two apiKey schemes"),
    ])
    func whatCannotBeEnforcedIsRefused(security: String, reason: String) throws {
        let errors = try RoutesFolder(documents: ["api.yaml": Self.document(security)]).errors()
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains(reason) == true, "\(errors)")
    }
}
