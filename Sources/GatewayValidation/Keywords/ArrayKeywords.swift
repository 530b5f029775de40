import GatewayCore

/// `prefixItems` + `items` (2020-12), or draft-04's array-form `items` + `additionalItems` and
/// object-form `items` (an empty prefix).
final class ItemsKeyword: Keyword, @unchecked Sendable {
    let prefix: [SchemaNode]
    let rest: SchemaNode?
    let restAt: KeywordLocation
    /// `prefix` and `rest`, unretained, for the validation loop.
    private let prefixLinks: [Unretained<SchemaNode>]
    private let restLink: Unretained<SchemaNode>?

    init(_ at: KeywordLocation, prefix: [SchemaNode], rest: SchemaNode?, restAt: KeywordLocation) {
        self.prefix = prefix
        self.rest = rest
        self.restAt = restAt
        prefixLinks = prefix.map(Unretained.init)
        restLink = rest.map(Unretained.init)
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .array(let array) = instance else { return true }
        // Through a buffer, items are lent to the subschemas instead of copied (retained) one by one.
        let valid = array.withUnsafeBufferPointer { items in
            var valid = true
            for i in items.indices {
                let node: Unretained<SchemaNode>
                if i < prefixLinks.count {
                    node = prefixLinks[i]
                } else if let restLink {
                    node = restLink
                } else {
                    break
                }
                if !node.with({ $0.validate(items[i], index: i, &state) }) {
                    valid = false
                    if state.stopsAfterFailure { return false }
                }
            }
            return valid
        }
        if rest != nil && array.count > prefix.count {
            if evaluated.tracking { evaluated.allItems = true }
        } else {
            evaluated.addItems(upTo: min(array.count, prefix.count))
        }
        return valid
    }
}

/// `contains` with `minContains`/`maxContains`.
final class ContainsKeyword: Keyword, @unchecked Sendable {
    let node: SchemaNode
    let minimum: Int
    let maximum: Int?

    init(_ at: KeywordLocation, node: SchemaNode, minimum: Int, maximum: Int?) {
        self.node = node
        self.minimum = minimum
        self.maximum = maximum
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .array(let items) = instance else { return true }
        var matches = 0
        var off = Evaluated.off
        let needsAll = maximum != nil || evaluated.tracking
        for (i, item) in items.enumerated() {
            let ok = state.quietly { node.validate(item, &$0, &off) }
            if ok {
                matches += 1
                evaluated.addItem(i)
                if !needsAll && matches >= minimum { return true }
            }
        }
        if matches < minimum {
            if minimum == 1 {
                state.fail(at, "must contain an item matching the contains schema")
            } else {
                state.fail(at, "must contain at least \(minimum) items matching the contains schema")
            }
            return false
        }
        if let maximum, matches > maximum {
            state.fail(at, "must contain at most \(maximum) items matching the contains schema")
            return false
        }
        return true
    }
}

/// `minItems`/`maxItems` and `minProperties`/`maxProperties`.
final class CountKeyword: Keyword, @unchecked Sendable {
    enum Counted {
        case items, properties
    }

    let counted: Counted
    let limit: Int
    let isMinimum: Bool
    let message: String

    init(_ at: KeywordLocation, counted: Counted, limit: Int, isMinimum: Bool) {
        self.counted = counted
        self.limit = limit
        self.isMinimum = isMinimum
        let noun = counted == .items ? (limit == 1 ? "item" : "items") : (limit == 1 ? "property" : "properties")
        message = "must have \(isMinimum ? "at least" : "at most") \(limit) \(noun)"
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        let count: Int
        switch (counted, instance) {
        case (.items, .array(let items)): count = items.count
        case (.properties, .object(let members)): count = members.count
        default: return true
        }
        if isMinimum ? count >= limit : count <= limit { return true }
        state.fail(at, message)
        return false
    }
}

/// `uniqueItems: true`.
final class UniqueItemsKeyword: Keyword, @unchecked Sendable {
    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .array(let items) = instance, items.count > 1 else { return true }
        if let (first, second) = Self.duplicate(in: items) {
            state.fail(at, "must not contain duplicate items (items \(first) and \(second) are equal)")
            return false
        }
        return true
    }

    static func duplicate(in items: [JSONValue]) -> (Int, Int)? {
        if items.count <= 16 {
            for i in items.indices {
                for j in (i + 1)..<items.count where items[i].schemaEquals(items[j]) { return (i, j) }
            }
            return nil
        }
        var seen: [JSONValue: Int] = [:]
        for (i, item) in items.enumerated() {
            let key = item.canonical
            if let first = seen[key], items[first].schemaEquals(item) { return (first, i) }
            seen[key] = i
        }
        return nil
    }
}

/// `unevaluatedItems`: applies to the items no adjacent keyword (nor in-place subschema) evaluated.
final class UnevaluatedItemsKeyword: SingleApplicatorKeyword, @unchecked Sendable {
    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .array(let items) = instance, !evaluated.allItems else { return true }
        var valid = true
        for (i, item) in items.enumerated() where !evaluated.isItemEvaluated(i) && !node.validate(item, index: i, &state) {
            valid = false
            if state.stopsAfterFailure { return false }
        }
        if valid { evaluated.allItems = true }
        return valid
    }
}
