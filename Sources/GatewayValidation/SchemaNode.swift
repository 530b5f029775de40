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
    /// Owned here. Set once when the node's schema is compiled; emptied by `NodeGraph` to break
    /// reference cycles.
    var keywords: [Keyword] = [] {
        didSet {
            keywordLinks.deallocate()
            keywordLinks = .allocate(capacity: keywords.count)
            _ = keywordLinks.initialize(from: keywords.map(Unretained.init))
        }
    }
    /// `keywords` again, unretained, for the validation loop (see `Unretained`). A buffer rather
    /// than an array so that reading it costs no retain either.
    private var keywordLinks = UnsafeMutableBufferPointer<Unretained<Keyword>>(start: nil, count: 0)
    /// Whether the schema has `unevaluatedProperties`/`unevaluatedItems` and so needs annotations.
    var needsAnnotations = false

    init(location: String, resource: SchemaResource) {
        self.location = location
        self.resource = resource
    }

    deinit { keywordLinks.deallocate() }

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
        let admitted = types?.admits(instance) ?? true
        if !admitted {
            state.fail(typeKeyword, "must be \(types!.description)")
            if !state.collecting || keywordLinks.isEmpty { return false }
        }
        if keywordLinks.isEmpty { return admitted }
        if state.tracksScope, state.scope.last !== resource {
            state.scope.append(resource)
            defer { state.scope.removeLast() }
            return validateKeywords(instance, admitted, &state, &evaluated)
        }
        return validateKeywords(instance, admitted, &state, &evaluated)
    }

    /// The keywords' verdict, `admitted` being the type check's.
    private func validateKeywords(_ instance: JSONValue, _ admitted: Bool, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        var valid = admitted
        if evaluated.tracking || needsAnnotations {
            var local = Evaluated(tracking: true)
            for keyword in keywordLinks where !keyword.with({ $0.validate(instance, &state, &local) }) {
                valid = false
                if state.stopsAfterFailure { return false }
            }
            if valid { evaluated.merge(local) }
            return valid
        }
        for keyword in keywordLinks where !keyword.with({ $0.validate(instance, &state, &evaluated) }) {
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
