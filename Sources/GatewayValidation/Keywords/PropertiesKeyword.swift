import GatewayCore

/// `properties`, `patternProperties` and `additionalProperties` together, since the last depends
/// on the other two.
final class PropertiesKeyword: Keyword {
    let properties: [String: SchemaNode]
    let patterns: [(ECMARegex, SchemaNode)]
    let additional: SchemaNode?
    /// When only `properties` is present: walk the schema's names rather than the instance's keys.
    let propertyList: [(String, SchemaNode)]

    init(_ at: KeywordLocation, properties: [String: SchemaNode], patterns: [(ECMARegex, SchemaNode)], additional: SchemaNode?) {
        self.properties = properties
        self.patterns = patterns
        self.additional = additional
        propertyList = properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance else { return true }
        var valid = true
        var off = Evaluated.off
        if patterns.isEmpty && additional == nil && members.count >= propertyList.count {
            for (name, node) in propertyList {
                guard let value = members[name] else { continue }
                evaluated.addProperty(name)
                state.push(name)
                let ok = node.validate(value, &state, &off)
                state.pop()
                if !ok {
                    valid = false
                    if !state.collecting || state.isFull { return false }
                }
            }
            return valid
        }
        for (name, value) in members {
            var matched = false
            if let node = properties[name] {
                matched = true
                state.push(name)
                let ok = node.validate(value, &state, &off)
                state.pop()
                if !ok {
                    valid = false
                    if !state.collecting || state.isFull { return false }
                }
            }
            for (regex, node) in patterns where regex.firstMatch(in: name, stepLimit: state.regexStepLimit) {
                matched = true
                state.push(name)
                let ok = node.validate(value, &state, &off)
                state.pop()
                if !ok {
                    valid = false
                    if !state.collecting || state.isFull { return false }
                }
            }
            if !matched, let additional {
                matched = true
                state.push(name)
                let ok = additional.validate(value, &state, &off)
                state.pop()
                if !ok {
                    valid = false
                    if !state.collecting || state.isFull { return false }
                }
            }
            if matched { evaluated.addProperty(name) }
        }
        return valid
    }
}

/// `required`: the error is reported at the missing property's pointer.
final class RequiredKeyword: Keyword {
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

/// `minProperties` and `maxProperties`.
final class PropertyCountKeyword: Keyword {
    let limit: Int
    let isMinimum: Bool

    init(_ at: KeywordLocation, limit: Int, isMinimum: Bool) {
        self.limit = limit
        self.isMinimum = isMinimum
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance else { return true }
        if isMinimum ? members.count >= limit : members.count <= limit { return true }
        let noun = limit == 1 ? "property" : "properties"
        state.fail(at, isMinimum ? "must have at least \(limit) \(noun)" : "must have at most \(limit) \(noun)")
        return false
    }
}

/// `dependentRequired` (and draft-04 `dependencies` with arrays).
final class DependentRequiredKeyword: Keyword {
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
final class DependentSchemasKeyword: Keyword {
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
                if !state.collecting || state.isFull { return false }
            }
        }
        return valid
    }
}

/// `propertyNames`.
final class PropertyNamesKeyword: Keyword {
    let node: SchemaNode

    init(_ at: KeywordLocation, node: SchemaNode) {
        self.node = node
        super.init(at)
    }

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
final class UnevaluatedPropertiesKeyword: Keyword {
    let node: SchemaNode

    init(_ at: KeywordLocation, node: SchemaNode) {
        self.node = node
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .object(let members) = instance, !evaluated.allProperties else { return true }
        var valid = true
        var off = Evaluated.off
        for (name, value) in members where !evaluated.isPropertyEvaluated(name) {
            state.push(name)
            let ok = node.validate(value, &state, &off)
            state.pop()
            if !ok {
                valid = false
                if !state.collecting || state.isFull { return false }
            }
        }
        if valid { evaluated.allProperties = true }
        return valid
    }
}
