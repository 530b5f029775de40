import GatewayAuthorizers
import GatewayCore
import NIOHTTP1

/// What an authorizer allowed: who (`principalId`) and the context it returned (a JWT's claims).
/// The backend receives it as `x-authorizer-*` headers, a function as `requestContext.authorizer`.
struct Authorization {
    static let headerPrefix = "x-authorizer-"

    var principalId: String?
    var context: [String: JSONValue]
    /// `requestContext.authorizer` of the function event: `{principalId, lambda: context}` for
    /// callouts, `{principalId, jwt: {claims, scopes}}` for JWTs (AWS HTTP API's shapes).
    var eventValue: JSONValue

    static func callout(_ verdict: AuthorizerVerdict) -> Authorization {
        var event: [String: JSONValue] = ["lambda": .object(verdict.context)]
        if let p = verdict.principalId { event["principalId"] = .string(p) }
        return Authorization(principalId: verdict.principalId, context: verdict.context, eventValue: .object(event))
    }

    static func jwt(_ claims: JWTClaims) -> Authorization {
        var event: [String: JSONValue] = [
            "jwt": .object(["claims": .object(claims.claims), "scopes": .array(claims.scopes.map { .string($0) })]),
        ]
        if let sub = claims.subject { event["principalId"] = .string(sub) }
        return Authorization(principalId: claims.subject, context: claims.claims, eventValue: .object(event))
    }

    /// `x-authorizer-principal-id` and `x-authorizer-NAME` for each context entry whose name is a
    /// valid header name; strings as they are, other values as compact JSON. Values with control
    /// characters are left out.
    func headers() -> [(String, String)] {
        var out: [(String, String)] = []
        if let principalId, Self.isSafeValue(principalId) {
            out.append((Self.headerPrefix + "principal-id", principalId))
        }
        for name in context.keys.sorted() {
            let lower = name.lowercased()
            guard lower != "principal-id", Self.isToken(lower) else { continue }
            let value: String
            switch context[name]! {
            case .string(let s): value = s
            case let other: value = other.jsonString
            }
            if Self.isSafeValue(value) { out.append((Self.headerPrefix + lower, value)) }
        }
        return out
    }

    private static let prefixBytes = Array(headerPrefix.utf8)

    /// Case-insensitive `x-authorizer-` prefix check without allocating.
    static func hasPrefix(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard utf8.count > prefixBytes.count else { return false }
        for (a, b) in zip(utf8, prefixBytes) where a | 0x20 != b { return false }
        return true
    }

    /// A lower-case header name made of RFC 9110 token characters.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
                || b == 0x21 || (b >= 0x23 && b <= 0x27) || b == 0x2A || b == 0x2B || b == 0x5E || b == 0x60
                || b == 0x7C || b == 0x7E
        }
    }

    static func isSafeValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }
    }

    /// Removes every `x-authorizer-*` header a client sent, so none can be forged.
    static func stripForged(_ headers: inout HTTPHeaders) {
        var forged: [String] = []
        for (name, _) in headers where hasPrefix(name) { forged.append(name) }
        for name in forged { headers.remove(name: name) }
    }
}
