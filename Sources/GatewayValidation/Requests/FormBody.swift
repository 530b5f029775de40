import GatewayCore

/// An `application/x-www-form-urlencoded` body as a JSON object (OpenAPI's default encoding: `form`
/// style, exploded): each name becomes a property, repeated names an array when the schema wants
/// one, and values are coerced to the declared property types.
enum FormBody {
    static func decode(_ text: String, hint: TypeHint) -> JSONValue {
        let properties: [String: TypeHint]
        if case .object(let p) = hint { properties = p } else { properties = [:] }
        var values: [String: [String]] = [:]
        var order: [String] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let (rawName, rawValue): (Substring, Substring)
            if let eq = pair.firstIndex(of: "=") {
                (rawName, rawValue) = (pair[..<eq], pair[pair.index(after: eq)...])
            } else {
                (rawName, rawValue) = (pair, "")
            }
            let name = PercentDecoding.decode(rawName, plusAsSpace: true) ?? String(rawName)
            let value = PercentDecoding.decode(rawValue, plusAsSpace: true) ?? String(rawValue)
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(value)
        }
        var object: [String: JSONValue] = [:]
        for name in order {
            let all = values[name]!
            let hint = properties[name] ?? .unknown
            if case .array(let items) = hint {
                object[name] = .array(all.map { ParameterDecoder.coerce($0, items) })
            } else if all.count > 1 {
                object[name] = .array(all.map { ParameterDecoder.coerce($0, hint) })
            } else {
                object[name] = ParameterDecoder.coerce(all[0], hint)
            }
        }
        return .object(object)
    }
}
