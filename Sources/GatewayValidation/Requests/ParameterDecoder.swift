import GatewayCore

/// Turns a parameter's serialized text into a JSON value by OpenAPI's `style` and `explode`
/// rules, coercing strings to the types its schema declares (`"42"` → `42` for an integer), so the
/// schema can then validate it. Values that cannot be coerced stay strings and fail validation
/// with the schema's own message.
enum ParameterDecoder {
    enum Decoded {
        case missing
        case value(JSONValue)
        case invalid(String)
    }

    /// `path`: the value of the path parameter named `rule.name`, if any.
    static func decode(_ rule: ParameterRule, path: String?, query: [(name: String, raw: Substring)],
                       header: (String) -> [String], cookies: [(name: String, raw: Substring)]) -> Decoded {
        let hint = rule.validator?.typeHint ?? .unknown
        switch rule.location {
        case .path:
            guard let raw = path else { return .missing }
            return pathValue(rule, Substring(raw), hint)
        case .query:
            return queryValue(rule, query, hint)
        case .header:
            let values = header(rule.name)
            guard !values.isEmpty else { return .missing }
            let joined = values.count == 1 ? values[0] : values.joined(separator: ",")
            return delimited(rule, Substring(joined.trimmingWhitespace()), separator: ",", hint: hint, decode: false)
        case .cookie:
            guard let raw = cookies.first(where: { $0.name == rule.name })?.raw else { return .missing }
            return delimited(rule, raw, separator: ",", hint: hint, decode: true)
        }
    }

    // MARK: path

    private static func pathValue(_ rule: ParameterRule, _ raw: Substring, _ hint: TypeHint) -> Decoded {
        switch rule.style {
        case .label:
            guard raw.first == "." else { return .invalid("must start with '.' (label style)") }
            let body = raw.dropFirst()
            return delimited(rule, body, separator: rule.explode ? "." : ",", hint: hint, decode: true,
                             pairSeparator: rule.explode ? "=" : nil)
        case .matrix:
            guard raw.first == ";" else { return .invalid("must start with ';' (matrix style)") }
            let parts = raw.dropFirst().split(separator: ";", omittingEmptySubsequences: false)
            if rule.explode, case .object = hint {
                return object(pairs: parts.map { splitPair($0) }, hint: hint)
            }
            var values: [Substring] = []
            for part in parts {
                let (name, value) = splitPair(part)
                guard name == rule.name else { return .invalid("matrix style expects ;\(rule.name)=…") }
                values.append(value)
            }
            if rule.explode, case .array = hint {
                return array(values, hint: hint)
            }
            guard let only = values.first else { return .missing }
            return delimited(rule, only, separator: ",", hint: hint, decode: true)
        default:
            return delimited(rule, raw, separator: ",", hint: hint, decode: true,
                             pairSeparator: rule.explode ? "=" : nil)
        }
    }

    // MARK: query

    private static func queryValue(_ rule: ParameterRule, _ pairs: [(name: String, raw: Substring)], _ hint: TypeHint) -> Decoded {
        if rule.jsonContent {
            guard let raw = pairs.first(where: { $0.name == rule.name })?.raw else { return .missing }
            return json(raw)
        }
        if rule.style == .deepObject {
            let prefix = rule.name + "["
            var members: [(Substring, Substring)] = []
            for (name, raw) in pairs where name.hasPrefix(prefix) && name.hasSuffix("]") {
                let property = name.dropFirst(prefix.count).dropLast()
                members.append((property, raw))
            }
            return members.isEmpty ? .missing : object(pairs: members, hint: hint)
        }
        if rule.explode, case .object = hint, rule.style == .form {
            guard case .object(let properties) = hint else { return .missing }
            let members = pairs.filter { properties[$0.name] != nil }.map { (Substring($0.name), $0.raw) }
            return members.isEmpty ? .missing : object(pairs: members, hint: hint)
        }
        // The first value is all most parameters need: the others are looked at only when they
        // count (all empty, or an exploded array), with no array made for one value.
        guard let firstIndex = pairs.firstIndex(where: { $0.name == rule.name }) else { return .missing }
        let first = pairs[firstIndex].raw
        let rest = pairs[(firstIndex + 1)...]
        if first.isEmpty && !rest.contains(where: { $0.name == rule.name && !$0.raw.isEmpty }) {
            if !rule.allowEmptyValue { return .invalid("must not be empty") }
            if case .array = hint { return .value(.array([])) }
            return .value(coerce("", hint))
        }
        if case .array = hint {
            if rule.explode { return array([first] + rest.filter { $0.name == rule.name }.map(\.raw), hint: hint) }
            let separator: Character
            switch rule.style {
            case .spaceDelimited: separator = " "
            case .pipeDelimited: separator = "|"
            default: separator = ","
            }
            guard let decoded = PercentDecoding.decode(first, plusAsSpace: true) else { return .invalid("is not valid percent-encoding") }
            return array(decoded.split(separator: separator, omittingEmptySubsequences: false), hint: hint, decode: false)
        }
        return delimited(rule, first, separator: ",", hint: hint, decode: true, plusAsSpace: true)
    }

    // MARK: shared

    /// A `simple`/`form`-style value: a primitive, `a,b,c` for arrays, `k,v,k,v` (or `k=v,k=v`
    /// when exploded) for objects. Parts are percent-decoded after splitting when `decode`.
    private static func delimited(_ rule: ParameterRule, _ raw: Substring, separator: Character, hint: TypeHint,
                                  decode: Bool, pairSeparator: Character? = nil, plusAsSpace: Bool = false) -> Decoded {
        if rule.jsonContent {
            return json(raw, decode: decode, plusAsSpace: plusAsSpace)
        }
        func text(_ s: Substring) -> String? { decode ? PercentDecoding.decode(s, plusAsSpace: plusAsSpace) : String(s.trimmingWhitespace()) }
        switch hint {
        case .array:
            return array(raw.split(separator: separator, omittingEmptySubsequences: false), hint: hint, decode: decode, plusAsSpace: plusAsSpace)
        case .object:
            let parts = raw.split(separator: separator, omittingEmptySubsequences: false)
            if let pairSeparator {
                return object(pairs: parts.map { splitPair($0, on: pairSeparator) }, hint: hint, decode: decode)
            }
            guard parts.count % 2 == 0 else { return .invalid("must be name,value pairs") }
            var pairs: [(Substring, Substring)] = []
            var i = 0
            while i < parts.count {
                pairs.append((parts[i], parts[i + 1]))
                i += 2
            }
            return object(pairs: pairs, hint: hint, decode: decode)
        default:
            guard let value = text(raw) else { return .invalid("is not valid percent-encoding") }
            return .value(coerce(value, hint))
        }
    }

    private static func array(_ parts: [Substring], hint: TypeHint, decode: Bool = true, plusAsSpace: Bool = true) -> Decoded {
        guard case .array(let items) = hint else { return .missing }
        var out: [JSONValue] = []
        out.reserveCapacity(parts.count)
        for part in parts {
            guard let text = decode ? PercentDecoding.decode(part, plusAsSpace: plusAsSpace) : String(part.trimmingWhitespace()) else {
                return .invalid("is not valid percent-encoding")
            }
            out.append(coerce(text, items))
        }
        return .value(.array(out))
    }

    private static func object(pairs: [(Substring, Substring)], hint: TypeHint, decode: Bool = true) -> Decoded {
        let properties: [String: TypeHint]
        if case .object(let p) = hint { properties = p } else { properties = [:] }
        var out: [String: JSONValue] = [:]
        for (rawName, rawValue) in pairs {
            guard let name = decode ? PercentDecoding.decode(rawName, plusAsSpace: true) : String(rawName),
                  let value = decode ? PercentDecoding.decode(rawValue, plusAsSpace: true) : String(rawValue) else {
                return .invalid("is not valid percent-encoding")
            }
            out[name] = coerce(value, properties[name] ?? .unknown)
        }
        return .value(.object(out))
    }

    private static func json(_ raw: Substring, decode: Bool = true, plusAsSpace: Bool = true) -> Decoded {
        guard let text = decode ? PercentDecoding.decode(raw, plusAsSpace: plusAsSpace) : String(raw) else {
            return .invalid("is not valid percent-encoding")
        }
        do {
            return .value(try JSONParser.parse(text))
        } catch {
            return .invalid("is not valid JSON (\(error.description))")
        }
    }

    private static func splitPair(_ part: Substring, on separator: Character = "=") -> (Substring, Substring) {
        guard let eq = part.firstIndex(of: separator) else { return (part, "") }
        return (part[..<eq], part[part.index(after: eq)...])
    }

    /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    /// Read over the string's bytes by offset (slicing its UTF-8 view cost about 400 instructions
    /// for a one-digit path parameter, `bench/callgrind policy`).
    static func isJSONNumber(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { u in
            var i = 0
            func at(_ byte: Unicode.Scalar) -> Bool { i < u.count && u[i] == UInt8(ascii: byte) }
            func digits() -> Int {
                let start = i
                while i < u.count, u[i] >= 0x30 && u[i] <= 0x39 { i += 1 }
                return i - start
            }
            if at("-") { i += 1 }
            if at("0") { i += 1 } else if digits() == 0 { return false }
            if at(".") {
                i += 1
                if digits() == 0 { return false }
            }
            if at("e") || at("E") {
                i += 1
                if at("+") || at("-") { i += 1 }
                if digits() == 0 { return false }
            }
            return i == u.count
        }
    }

    /// A string as the type its schema declares, when it reads as one.
    static func coerce(_ text: String, _ hint: TypeHint) -> JSONValue {
        switch hint {
        case .integer, .number:
            guard isJSONNumber(text) else { return .string(text) }
            if let i = Int64(text) { return .int(i) }
            if let d = Double(text), d.isFinite { return .double(d) }
            return .string(text)
        case .boolean:
            if text == "true" { return .bool(true) }
            if text == "false" { return .bool(false) }
            return .string(text)
        case .null:
            return text.isEmpty || text == "null" ? .null : .string(text)
        default:
            return .string(text)
        }
    }
}
