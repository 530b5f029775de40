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

        func applies(action: String, resource: String) -> Bool {
            actions.contains { $0.matches(action) } && resources.contains { $0.matches(resource) }
        }
    }

    public static let invokeAction = "execute-api:Invoke"

    public var statements: [Statement]

    public init(statements: [Statement]) {
        self.statements = statements
    }

    /// IAM's rule: an explicit deny wins, then an allow; nothing matching is an implicit deny.
    public func evaluate(methodArn: String) -> AuthorizerDecision {
        var allowed = false
        for statement in statements where statement.applies(action: Self.invokeAction, resource: methodArn) {
            if !statement.allow { return .explicitDeny }
            allowed = true
        }
        return allowed ? .allow : .deny
    }
}

/// What an authorizer's verdict means for one request.
public enum AuthorizerDecision: Sendable, Equatable {
    case allow
    case deny
    /// A policy statement with `Effect: Deny` matched the request.
    case explicitDeny
}
