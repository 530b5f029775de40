import GatewayCore

/// An authorizer's answer, in either of AWS's shapes: the simple `{"isAuthorized": bool,
/// "context": {...}}` or the IAM policy `{principalId, policyDocument: {Statement: [...]}, context}`.
/// What is cached; `decision(methodArn:)` applies it to one request.
public struct AuthorizerVerdict: Sendable, Equatable {
    public enum Grant: Sendable, Equatable {
        case simple(isAuthorized: Bool)
        case policy(IAMPolicy)
    }

    public let grant: Grant
    public let principalId: String?
    /// Passed on to the backend (headers) and to functions (`requestContext.authorizer`).
    public let context: [String: JSONValue]
    /// The headers and event value made from `principalId` and `context`, once.
    public let forwarding: Forwarding

    public init(grant: Grant, principalId: String? = nil, context: [String: JSONValue] = [:]) {
        self.grant = grant
        self.principalId = principalId
        self.context = context
        self.forwarding = .callout(principalId: principalId, context: context)
    }

    public func decision(methodArn: String) -> AuthorizerDecision {
        switch grant {
        case .simple(let isAuthorized): return isAuthorized ? .allow : .deny
        case .policy(let policy): return policy.evaluate(methodArn: methodArn)
        }
    }

    /// Whether the verdict can only deny (so it may be cached for the shorter deny TTL).
    public var deniesEverything: Bool {
        switch grant {
        case .simple(let isAuthorized): return !isAuthorized
        case .policy(let policy): return !policy.statements.contains(where: \.allow)
        }
    }

    public struct MalformedAnswer: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Reads an authorizer's JSON answer. Anything that is not one of the two shapes is an error
    /// (the gateway answers 500: it fails closed).
    public static func parse(_ answer: JSONValue) throws(MalformedAnswer) -> AuthorizerVerdict {
        guard case .object(let object) = answer else {
            throw MalformedAnswer(description: "the answer is not a JSON object")
        }
        var context: [String: JSONValue] = [:]
        switch object["context"] {
        case nil, .null?: break
        case .object(let c)?: context = c
        default: throw MalformedAnswer(description: "'context' is not an object")
        }
        var principalId: String?
        switch object["principalId"] {
        case nil, .null?: break
        case .string(let s)?: principalId = s
        case .int(let i)?: principalId = String(i)
        default: throw MalformedAnswer(description: "'principalId' is not a string")
        }
        if let flag = object["isAuthorized"] {
            guard case .bool(let isAuthorized) = flag else {
                throw MalformedAnswer(description: "'isAuthorized' is not a boolean")
            }
            return AuthorizerVerdict(grant: .simple(isAuthorized: isAuthorized), principalId: principalId, context: context)
        }
        guard let document = object["policyDocument"] else {
            throw MalformedAnswer(description: "neither 'isAuthorized' nor 'policyDocument' is present")
        }
        return AuthorizerVerdict(grant: .policy(try policy(document)), principalId: principalId, context: context)
    }

    private static func policy(_ document: JSONValue) throws(MalformedAnswer) -> IAMPolicy {
        guard case .object(let doc) = document else {
            throw MalformedAnswer(description: "'policyDocument' is not an object")
        }
        let raw: [JSONValue]
        switch doc["Statement"] {
        case .array(let a)?: raw = a
        case .object?: raw = [doc["Statement"]!]
        default: throw MalformedAnswer(description: "'policyDocument.Statement' is missing or not a list")
        }
        var statements: [IAMPolicy.Statement] = []
        for (i, entry) in raw.enumerated() {
            guard case .object(let s) = entry else {
                throw MalformedAnswer(description: "policy statement \(i) is not an object")
            }
            let allow: Bool
            switch s["Effect"]?.stringValue {
            case "Allow"?: allow = true
            case "Deny"?: allow = false
            default: throw MalformedAnswer(description: "policy statement \(i): 'Effect' must be \"Allow\" or \"Deny\"")
            }
            let actions = try strings(s["Action"], field: "Action", statement: i)
            let resources = try strings(s["Resource"], field: "Resource", statement: i)
            statements.append(.init(allow: allow, actions: actions, resources: resources))
        }
        return IAMPolicy(statements: statements)
    }

    private static func strings(_ value: JSONValue?, field: String, statement: Int) throws(MalformedAnswer) -> [String] {
        switch value {
        case .string(let s)?: return [s]
        case .array(let items)?:
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else {
                    throw MalformedAnswer(description: "policy statement \(statement): '\(field)' holds a non-string")
                }
                out.append(s)
            }
            return out
        default:
            throw MalformedAnswer(description: "policy statement \(statement): '\(field)' is missing")
        }
    }
}
