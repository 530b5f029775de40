import GatewayCore

/// `properties`, `patternProperties` and `additionalProperties` together, since the last depends
/// on the other two; also the schema's `required` names that are declared properties, checked
/// with a bit set while walking the instance (no hashing). The instance's members are walked once,
/// each name looked up among the declared ones.
final class PropertiesKeyword: Keyword, @unchecked Sendable {
    let table: PropertyNameTable
    var names: [String] { table.names }
    /// The declared properties' schemas, in `names` order (owned here).
    let nodes: [SchemaNode]
    /// `nodes`, unretained, for the validation loop.
    private let links: [Unretained<SchemaNode>]
    let patterns: [(ECMARegex, SchemaNode)]
    let additional: SchemaNode?
    private let additionalLink: Unretained<SchemaNode>?
    /// Bit i: `names[i]` is required.
    private(set) var requiredMask: UInt64 = 0
    private(set) var requiredAt: KeywordLocation?

    init(_ at: KeywordLocation, properties: [String: SchemaNode], patterns: [(ECMARegex, SchemaNode)], additional: SchemaNode?) {
        let sorted = properties.sorted { $0.key < $1.key }
        table = PropertyNameTable(sorted.map(\.key))
        nodes = sorted.map(\.value)
        links = nodes.map(Unretained.init)
        self.patterns = patterns
        self.additional = additional
        additionalLink = additional.map(Unretained.init)
        super.init(at)
    }

    /// Takes over the `required` check when every required name is a declared property; returns
    /// whether it did.
    func adoptRequired(_ required: [String], at: KeywordLocation) -> Bool {
        guard names.count <= 64 else { return false }
        var mask: UInt64 = 0
        for name in required {
            guard let i = names.firstIndex(of: name) else { return false }
            mask |= 1 << UInt64(i)
        }
        requiredMask = mask
        requiredAt = at
        return true
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance else { return true }
        var valid = true
        var seen: UInt64 = 0
        for (name, value) in members {
            var matched = false
            if let i = table.position(of: name) {
                matched = true
                if i < 64 { seen |= 1 << UInt64(i) }
                if !links[i].with({ $0.validate(value, key: name, &state) }) {
                    valid = false
                    if state.stopsAfterFailure { return false }
                }
            }
            if !patterns.isEmpty {  // most schemas have none: no iterator set up per member then
                for (regex, node) in patterns where regex.firstMatch(in: name, stepLimit: state.regexStepLimit) {
                    matched = true
                    if !node.validate(value, key: name, &state) {
                        valid = false
                        if state.stopsAfterFailure { return false }
                    }
                }
            }
            if !matched, let additionalLink {
                matched = true
                if !additionalLink.with({ $0.validate(value, key: name, &state) }) {
                    valid = false
                    if state.stopsAfterFailure { return false }
                }
            }
            if matched { evaluated.addProperty(name) }
        }
        if seen & requiredMask != requiredMask, let requiredAt {
            guard state.collecting else { return false }
            for i in names.indices where requiredMask & (1 << UInt64(i)) != 0 && seen & (1 << UInt64(i)) == 0 {
                state.fail(requiredAt, child: .key(names[i]), "is required")
            }
            return false
        }
        return valid
    }
}

/// `required`: the error is reported at the missing property's pointer.
final class RequiredKeyword: Keyword, @unchecked Sendable {
    let names: [String]

    init(_ at: KeywordLocation, names: [String]) {
        self.names = names
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance else { return true }
        var valid = true
        for name in names where members[name] == nil {
            valid = false
            guard state.collecting else { return false }
            state.fail(at, child: .key(name), "is required")
            if state.isFull { return false }
        }
        return valid
    }
}

/// `dependentRequired` (and draft-04 `dependencies` with arrays).
final class DependentRequiredKeyword: Keyword, @unchecked Sendable {
    let dependencies: [(String, [String])]

    init(_ at: KeywordLocation, dependencies: [(String, [String])]) {
        self.dependencies = dependencies
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance else { return true }
        var valid = true
        for (trigger, required) in dependencies where members[trigger] != nil {
            for name in required where members[name] == nil {
                valid = false
                guard state.collecting else { return false }
                state.fail(at, child: .key(name), "is required when \(trigger) is present")
                if state.isFull { return false }
            }
        }
        return valid
    }
}

/// `dependentSchemas` (and draft-04 `dependencies` with schemas): applied in place.
final class DependentSchemasKeyword: Keyword, @unchecked Sendable {
    let dependencies: [(String, SchemaNode)]

    init(_ at: KeywordLocation, dependencies: [(String, SchemaNode)]) {
        self.dependencies = dependencies
        super.init(at)
    }

    override var inPlaceSubschemas: [SchemaNode] { dependencies.map(\.1) }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance else { return true }
        var valid = true
        for (trigger, node) in dependencies where members[trigger] != nil {
            if !node.validate(instance, &state, &evaluated) {
                valid = false
                if state.stopsAfterFailure { return false }
            }
        }
        return valid
    }
}

/// `propertyNames`.
final class PropertyNamesKeyword: SingleApplicatorKeyword, @unchecked Sendable {
    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance else { return true }
        var valid = true
        var off = Evaluated.off
        for name in members.keys {
            let ok = state.quietly { node.validate(.string(name), &$0, &off) }
            if !ok {
                valid = false
                guard state.collecting else { return false }
                state.fail(at, child: .key(name), "is not a valid property name")
                if state.isFull { return false }
            }
        }
        return valid
    }
}

/// `unevaluatedProperties`: applies to the properties no adjacent keyword (nor in-place
/// subschema) evaluated.
final class UnevaluatedPropertiesKeyword: SingleApplicatorKeyword, @unchecked Sendable {
    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance, !evaluated.allProperties else { return true }
        var valid = true
        for (name, value) in members where !evaluated.isPropertyEvaluated(name) && !node.validate(value, key: name, &state) {
            valid = false
            if state.stopsAfterFailure { return false }
        }
        if valid { evaluated.allProperties = true }
        return valid
    }
}
