import GatewayCore

/// A compiled (sub)schema: a type check, then specialised keyword nodes. Built once by
/// `SchemaCompiler` (mutable only while compiling, since schemas may be cyclic), then immutable
/// and shared between threads.
final class SchemaNode: @unchecked Sendable {
    /// The schema's location: document URI `#` JSON pointer.
    let location: String
    let resource: SchemaResource
    var alwaysFalse = false
    var types: JSONTypeSet?
    var typeKeyword = KeywordLocation(name: "type", location: "")
    /// OpenAPI 3.0 `nullable: true`: null is valid whatever else the schema says.
    var nullable = false
    var keywords: [Keyword] = []
    /// Whether the schema has `unevaluatedProperties`/`unevaluatedItems` and so needs annotations.
    var needsAnnotations = false

    init(location: String, resource: SchemaResource) {
        self.location = location
        self.resource = resource
    }

    func keywordLocation(_ name: String) -> KeywordLocation {
        KeywordLocation(name: name, location: location + "/" + JSONPointer.escape(name))
    }

    @inline(__always)
    func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        if alwaysFalse {
            state.fail(KeywordLocation(name: "false", location: location), "is not allowed")
            return false
        }
        if nullable, case .null = instance { return true }
        if let types, !types.admits(instance) {
            state.fail(typeKeyword, "must be \(types.description)")
            if !state.collecting || keywords.isEmpty { return false }
        }
        if keywords.isEmpty { return types?.admits(instance) ?? true }
        if state.tracksScope, state.scope.last !== resource {
            state.scope.append(resource)
            defer { state.scope.removeLast() }
            return validateKeywords(instance, &state, &evaluated)
        }
        return validateKeywords(instance, &state, &evaluated)
    }

    private func validateKeywords(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        var valid = types?.admits(instance) ?? true
        if evaluated.tracking || needsAnnotations {
            var local = Evaluated(tracking: true)
            for keyword in keywords where !keyword.validate(instance, &state, &local) {
                valid = false
                if state.stopsAfterFailure { return false }
            }
            if valid { evaluated.merge(local) }
            return valid
        }
        for keyword in keywords where !keyword.validate(instance, &state, &evaluated) {
            valid = false
            if state.stopsAfterFailure { return false }
        }
        return valid
    }
}

/// One compiled keyword (or a group of keywords that must be evaluated together, like
/// `properties` + `patternProperties` + `additionalProperties`).
class Keyword: @unchecked Sendable {
    let at: KeywordLocation

    init(_ at: KeywordLocation) { self.at = at }

    /// Subschemas applied to the same instance location (for detecting reference cycles that
    /// would never terminate).
    var inPlaceSubschemas: [SchemaNode] { [] }

    /// Whether `instance` passes; records errors into `state` when collecting.
    func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        true
    }
}
