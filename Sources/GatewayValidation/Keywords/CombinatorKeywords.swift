import GatewayCore

/// `allOf`: every subschema's errors are reported as they are.
final class AllOfKeyword: ListApplicatorKeyword, @unchecked Sendable {
    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        var valid = true
        for node in nodes where !node.validate(instance, &state, &evaluated) {
            valid = false
            if state.stopsAfterFailure { return false }
        }
        return valid
    }
}

/// `anyOf`: one message when no subschema matches.
final class AnyOfKeyword: ListApplicatorKeyword, @unchecked Sendable {
    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        var valid = false
        for node in nodes {
            var local = evaluated.child
            if state.quietly({ node.validate(instance, &$0, &local) }) {
                valid = true
                if !evaluated.tracking { return true }
                evaluated.merge(local)
            }
        }
        if !valid { state.fail(at, "must match at least one schema in anyOf") }
        return valid
    }
}

/// `oneOf`: one message when none or several subschemas match.
final class OneOfKeyword: ListApplicatorKeyword, @unchecked Sendable {
    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        var matched: Int?
        var matchedAnnotations = evaluated.child
        for (i, node) in nodes.enumerated() {
            var local = evaluated.child
            if state.quietly({ node.validate(instance, &$0, &local) }) {
                if let first = matched {
                    state.fail(at, "must match exactly one schema in oneOf (matches \(first) and \(i))")
                    return false
                }
                matched = i
                matchedAnnotations = local
            }
        }
        guard matched != nil else {
            state.fail(at, "must match exactly one schema in oneOf")
            return false
        }
        evaluated.merge(matchedAnnotations)
        return true
    }
}

/// `not`.
final class NotKeyword: SingleApplicatorKeyword, @unchecked Sendable {
    override var inPlaceSubschemas: [SchemaNode] { [node] }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        var local = Evaluated.off
        if state.quietly({ node.validate(instance, &$0, &local) }) {
            state.fail(at, "must not match the schema in not")
            return false
        }
        return true
    }
}

/// `if`/`then`/`else`: the branch's own errors are reported.
final class IfThenElseKeyword: Keyword, @unchecked Sendable {
    let condition: SchemaNode
    let then: SchemaNode?
    let otherwise: SchemaNode?

    init(_ at: KeywordLocation, condition: SchemaNode, then: SchemaNode?, otherwise: SchemaNode?) {
        self.condition = condition
        self.then = then
        self.otherwise = otherwise
        super.init(at)
    }

    override var inPlaceSubschemas: [SchemaNode] { [condition] + [then, otherwise].compactMap { $0 } }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        var local = evaluated.child
        if state.quietly({ condition.validate(instance, &$0, &local) }) {
            evaluated.merge(local)
            return then?.validate(instance, &state, &evaluated) ?? true
        }
        return otherwise?.validate(instance, &state, &evaluated) ?? true
    }
}
