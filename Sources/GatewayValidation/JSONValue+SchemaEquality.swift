import GatewayCore

extension JSONValue {
    /// Equality as JSON Schema defines it: numbers compare by value (`1 == 1.0`), objects by
    /// members regardless of order, arrays element by element.
    func schemaEquals(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double):
            return NumberComparison.compare(self, other) == 0
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            for i in a.indices where !a[i].schemaEquals(b[i]) { return false }
            return true
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let otherValue = b[key], value.schemaEquals(otherValue) else { return false }
            }
            return true
        default:
            return false
        }
    }

    /// A form in which `Hashable` agrees with `schemaEquals`: integral doubles become ints.
    var canonical: JSONValue {
        switch self {
        case .double(let d):
            if d.rounded(.towardZero) == d, d >= -9.2e18, d <= 9.2e18 { return .int(Int64(d)) }
            return self
        case .array(let a): return .array(a.map(\.canonical))
        case .object(let o): return .object(o.mapValues(\.canonical))
        default: return self
        }
    }

    /// Compact JSON for messages, e.g. `"delay"`.
    var messageText: String {
        switch self {
        case .double(let d) where d.isFinite && d.rounded(.towardZero) == d && abs(d) < 1e15:
            return String(Int64(d))
        default:
            return jsonString
        }
    }
}
