import GatewayCore

/// `minimum`/`exclusiveMinimum`/`maximum`/`exclusiveMaximum` (and draft-04's boolean forms).
final class BoundKeyword: Keyword, @unchecked Sendable {
    let limit: JSONValue
    let isMinimum: Bool
    let exclusive: Bool
    let message: String

    init(_ at: KeywordLocation, limit: JSONValue, isMinimum: Bool, exclusive: Bool) {
        self.limit = limit
        self.isMinimum = isMinimum
        self.exclusive = exclusive
        let op = isMinimum ? (exclusive ? ">" : ">=") : (exclusive ? "<" : "<=")
        message = "must be \(op) \(limit.messageText)"
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        let order: Int
        switch (instance, limit) {
        case (.int(let x), .int(let y)): order = x < y ? -1 : (x == y ? 0 : 1)
        case (.int, _), (.double, _):
            guard let c = NumberComparison.compare(instance, limit) else { state.fail(at, message); return false }
            order = c
        default: return true
        }
        let ok = isMinimum ? (exclusive ? order > 0 : order >= 0) : (exclusive ? order < 0 : order <= 0)
        if !ok { state.fail(at, message) }
        return ok
    }
}

final class MultipleOfKeyword: Keyword, @unchecked Sendable {
    let divisor: JSONValue

    init(_ at: KeywordLocation, divisor: JSONValue) {
        self.divisor = divisor
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        switch instance {
        case .int, .double:
            if NumberComparison.isMultiple(instance, of: divisor) { return true }
            state.fail(at, "must be a multiple of \(divisor.messageText)")
            return false
        default:
            return true
        }
    }
}
