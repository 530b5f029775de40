import GatewayCore

/// `minLength` and `maxLength`, counted in Unicode code points.
final class LengthKeyword: Keyword, @unchecked Sendable {
    let limit: Int
    let isMinimum: Bool

    init(_ at: KeywordLocation, limit: Int, isMinimum: Bool) {
        self.limit = limit
        self.isMinimum = isMinimum
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .string(let s) = instance else { return true }
        let bytes = s.utf8.count
        if isMinimum {
            // Each code point takes at most 4 UTF-8 bytes and at least 1.
            if bytes >= limit * 4 || (bytes >= limit && s.unicodeScalars.count >= limit) { return true }
            state.fail(at, "must be at least \(limit) character\(limit == 1 ? "" : "s")")
        } else {
            if bytes <= limit || s.unicodeScalars.count <= limit { return true }
            state.fail(at, "must be at most \(limit) character\(limit == 1 ? "" : "s")")
        }
        return false
    }
}

/// `pattern`: an ECMA-262 regular expression, not anchored.
final class PatternKeyword: Keyword, @unchecked Sendable {
    let regex: ECMARegex

    init(_ at: KeywordLocation, regex: ECMARegex) {
        self.regex = regex
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        guard case .string(let s) = instance else { return true }
        if regex.firstMatch(in: s, stepLimit: state.regexStepLimit) { return true }
        state.fail(at, "must match pattern \(regex.source)")
        return false
    }
}

/// `format`, when asserting.
final class FormatKeyword: Keyword, @unchecked Sendable {
    let format: StringFormat

    init(_ at: KeywordLocation, format: StringFormat) {
        self.format = format
        super.init(at)
    }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        if format.accepts(instance) { return true }
        state.fail(at, "is not a valid \(format.name)")
        return false
    }
}
