import GatewayCore
import Yams

extension YAMLSource {
    /// The document as a JSON value, scalars resolved as YAML 1.2's core schema says: quoted
    /// scalars stay strings; plain ones may be null, booleans or numbers, anything else (dates
    /// included) stays text. Used to decode documents with OpenAPIKit and to compile schemas.
    public func jsonValue() -> JSONValue {
        Self.jsonValue(root)
    }

    static func jsonValue(_ node: Node) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var out: [String: JSONValue] = [:]
            for (key, value) in mapping {
                out[key.string ?? "\(key)"] = jsonValue(value)
            }
            return .object(out)
        case .sequence(let sequence):
            return .array(sequence.map { jsonValue($0) })
        case .scalar(let scalar):
            let text = scalar.string
            if scalar.style != .plain { return .string(text) }
            switch text {
            case "null", "Null", "NULL", "~", "": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: break
            }
            if let i = Int64(text) { return .int(i) }
            if text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true,
               let d = Double(text), d.isFinite { return .double(d) }
            return .string(text)
        case .alias:
            return .null
        }
    }
}

extension YAMLSource {
    /// The line of the first `$ref` whose target ends with `suffix`.
    func firstLine(ofRefEndingWith suffix: String) -> Int? {
        func search(_ node: Node) -> Int? {
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    if key.string == "$ref", let target = value.string, target.hasSuffix(suffix) { return key.mark?.line }
                    if let line = search(value) { return line }
                }
                return nil
            case .sequence(let sequence):
                for item in sequence { if let line = search(item) { return line } }
                return nil
            default:
                return nil
            }
        }
        return search(root)
    }
}
