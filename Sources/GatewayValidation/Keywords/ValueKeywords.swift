import GatewayCore

/// `const`.
final class ConstKeyword: Keyword, @unchecked Sendable {
    let value: JSONValue

    init(_ at: KeywordLocation, value: JSONValue) {
        self.value = value
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        if instance.schemaEquals(value) { return true }
        state.fail(at, "must be \(value.messageText)")
        return false
    }
}

/// `enum`: strings in a set, anything else compared one by one.
final class EnumKeyword: Keyword, @unchecked Sendable {
    let strings: Set<String>
    let others: [JSONValue]
    let message: String

    init(_ at: KeywordLocation, values: [JSONValue]) {
        var strings: Set<String> = []
        var others: [JSONValue] = []
        for value in values {
            if case .string(let s) = value { strings.insert(s) } else { others.append(value) }
        }
        self.strings = strings
        self.others = others
        message = "must be one of: " + values.map(\.messageText).joined(separator: ", ")
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        if case .string(let s) = instance {
            // `String` equality is Unicode canonical equivalence; JSON compares code points.
            if let index = strings.firstIndex(of: s),
               strings[index].utf8.elementsEqual(s.utf8) || strings.contains(where: { $0.utf8.elementsEqual(s.utf8) }) {
                return true
            }
        } else if others.contains(where: { $0.schemaEquals(instance) }) {
            return true
        }
        state.fail(at, message)
        return false
    }
}

/// `readOnly: true` in a request (or `writeOnly: true` in a response): the value must not be sent.
final class AccessModeKeyword: Keyword, @unchecked Sendable {
    let message: String

    init(_ at: KeywordLocation, message: String) {
        self.message = message
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        state.fail(at, message)
        return false
    }
}
