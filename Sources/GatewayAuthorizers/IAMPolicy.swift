/// The policy document of an AWS-style authorizer answer, evaluated against each request's own
/// method ARN (so a cached policy never grants a route it does not name).
public struct IAMPolicy: Sendable, Equatable {
    public struct Statement: Sendable, Equatable {
        public var allow: Bool
        public var actions: [WildcardPattern]
        public var resources: [WildcardPattern]

        public init(allow: Bool, actions: [String], resources: [String]) {
            self.allow = allow
            self.actions = actions.map(WildcardPattern.init)
            self.resources = resources.map(WildcardPattern.init)
        }

        func applies(action: UnsafeBufferPointer<UInt8>, resource: UnsafeBufferPointer<UInt8>) -> Bool {
            actions.contains { $0.matches(bytes: action) } && resources.contains { $0.matches(bytes: resource) }
        }
    }

    public static let invokeAction = "execute-api:Invoke"

    public var statements: [Statement]

    public init(statements: [Statement]) {
        self.statements = statements
    }

    /// IAM's rule: an explicit deny wins, then an allow; nothing matching is an implicit deny.
    public func evaluate(methodArn: String) -> AuthorizerDecision {
        var methodArn = methodArn
        return methodArn.withUTF8 { evaluate(methodArn: $0) }
    }

    /// The same for the ARN's bytes (the request path builds it on the stack).
    public func evaluate(methodArn: UnsafeBufferPointer<UInt8>) -> AuthorizerDecision {
        var action = Self.invokeAction
        return action.withUTF8 { action in
            var allowed = false
            for statement in statements where statement.applies(action: action, resource: methodArn) {
                if !statement.allow { return .explicitDeny }
                allowed = true
            }
            return allowed ? .allow : .deny
        }
    }
}

/// What an authorizer's verdict means for one request.
public enum AuthorizerDecision: Sendable, Equatable {
    case allow
    case deny
    /// A policy statement with `Effect: Deny` matched the request.
    case explicitDeny
}
