import GatewayCore

/// `prefixItems` + `items` (2020-12), or draft-04's array-form `items` + `additionalItems` and
/// object-form `items` (an empty prefix).
final class ItemsKeyword: Keyword {
    let prefix: [SchemaNode]
    let rest: SchemaNode?
    let restAt: KeywordLocation

    init(_ at: KeywordLocation, prefix: [SchemaNode], rest: SchemaNode?, restAt: KeywordLocation) {
        self.prefix = prefix
        self.rest = rest
        self.restAt = restAt
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .array(let items) = instance else { return true }
        var valid = true
        var off = Evaluated.off
        for (i, item) in items.enumerated() {
            let node: SchemaNode
            if i < prefix.count {
                node = prefix[i]
            } else if let rest {
                node = rest
            } else {
                break
            }
            state.push(i)
            let ok = node.validate(item, &state, &off)
            state.pop()
            if !ok {
                valid = false
                if !state.collecting || state.isFull { return false }
            }
        }
        if rest != nil && items.count > prefix.count {
            if evaluated.tracking { evaluated.allItems = true }
        } else {
            evaluated.addItems(upTo: min(items.count, prefix.count))
        }
        return valid
    }
}

/// `contains` with `minContains`/`maxContains`.
final class ContainsKeyword: Keyword {
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

/// `minItems` and `maxItems`.
final class ItemCountKeyword: Keyword {
    let limit: Int
    let isMinimum: Bool

    init(_ at: KeywordLocation, limit: Int, isMinimum: Bool) {
        self.limit = limit
        self.isMinimum = isMinimum
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .array(let items) = instance else { return true }
        if isMinimum ? items.count >= limit : items.count <= limit { return true }
        let noun = limit == 1 ? "item" : "items"
        state.fail(at, isMinimum ? "must have at least \(limit) \(noun)" : "must have at most \(limit) \(noun)")
        return false
    }
}

/// `uniqueItems: true`.
final class UniqueItemsKeyword: Keyword {
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
final class UnevaluatedItemsKeyword: Keyword {
    let node: SchemaNode

    init(_ at: KeywordLocation, node: SchemaNode) {
        self.node = node
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .array(let items) = instance, !evaluated.allItems else { return true }
        var valid = true
        var off = Evaluated.off
        for (i, item) in items.enumerated() where !evaluated.isItemEvaluated(i) {
            state.push(i)
            let ok = node.validate(item, &state, &off)
            state.pop()
            if !ok {
                valid = false
                if !state.collecting || state.isFull { return false }
            }
        }
        if valid { evaluated.allItems = true }
        return valid
    }
}
