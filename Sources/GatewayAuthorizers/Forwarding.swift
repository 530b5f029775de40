import GatewayCore

/// What an allowed request carries on to its backend, prepared once per verdict (not per request):
/// `x-authorizer-principal-id` and `x-authorizer-NAME` headers for each context entry whose name is
/// a header token (strings as they are, other values as compact JSON; values with control
/// characters left out), and the `requestContext.authorizer` value of function events.
public struct Forwarding: Sendable, Equatable {
    public static let headerPrefix = "x-authorizer-"

    public let headerNames: [String]
    public let headerValues: [String]
    public let eventValue: JSONValue

    init(principalId: String?, context: [String: JSONValue], eventValue: JSONValue) {
        var names: [String] = []
        var values: [String] = []
        if let principalId, Self.isSafeValue(principalId) {
            names.append(Self.headerPrefix + "principal-id")
            values.append(principalId)
        }
        for name in context.keys.sorted() {
            let lower = name.lowercased()
            guard lower != "principal-id", Self.isToken(lower) else { continue }
            let value: String
            switch context[name]! {
            case .string(let s): value = s
            case let other: value = other.jsonString
            }
            guard Self.isSafeValue(value) else { continue }
            names.append(Self.headerPrefix + lower)
            values.append(value)
        }
        headerNames = names
        headerValues = values
        self.eventValue = eventValue
    }

    /// `{principalId, lambda: context}`, as AWS HTTP API gives Lambda authorizers' context.
    static func callout(principalId: String?, context: [String: JSONValue]) -> Forwarding {
        var event: [String: JSONValue] = ["lambda": .object(context)]
        if let principalId { event["principalId"] = .string(principalId) }
        return Forwarding(principalId: principalId, context: context, eventValue: .object(event))
    }

    /// `{principalId: sub, jwt: {claims, scopes}}`, as AWS HTTP API gives JWT authorizers' claims.
    static func jwt(claims: [String: JSONValue], subject: String?, scopes: [String]) -> Forwarding {
        var event: [String: JSONValue] = [
            "jwt": .object(["claims": .object(claims), "scopes": .array(scopes.map { .string($0) })]),
        ]
        if let subject { event["principalId"] = .string(subject) }
        return Forwarding(principalId: subject, context: claims, eventValue: .object(event))
    }

    /// A lower-case header name made of RFC 9110 token characters.
    public static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
                || b == 0x21 || (b >= 0x23 && b <= 0x27) || b == 0x2A || b == 0x2B || b == 0x5E || b == 0x60
                || b == 0x7C || b == 0x7E
        }
    }

    /// Printable text and tabs only.
    static func isSafeValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }
    }
}
