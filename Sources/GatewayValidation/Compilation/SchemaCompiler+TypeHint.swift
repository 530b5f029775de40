import GatewayCore

extension SchemaCompiler {
    /// The type hint of the schema at `location`, following `$ref`s and `allOf`s.
    func typeHint(at location: SchemaLocation, depth: Int = 0) -> TypeHint {
        guard depth < 8, case .object(let members)? = registry.value(at: location) else { return .unknown }
        let document = registry.document(location)
        let pointer = location.pointer
        func sub(_ path: String) -> SchemaLocation { SchemaLocation(document: location.document, pointer: pointer + path) }

        if let type = members["type"] {
            let name = type.stringValue ?? type.arrayValue?.compactMap(\.stringValue).first { $0 != "null" }
            switch name {
            case "string": return .string
            case "integer": return .integer
            case "number": return .number
            case "boolean": return .boolean
            case "null": return .null
            case "array":
                let items = members["items"] == nil || members["items"]?.arrayValue != nil ? TypeHint.unknown : typeHint(at: sub("/items"), depth: depth + 1)
                return .array(items: items)
            case "object":
                var properties: [String: TypeHint] = [:]
                for name in members["properties"]?.objectValue?.keys ?? [:].keys {
                    properties[name] = typeHint(at: sub("/properties/" + JSONPointer.escape(name)), depth: depth + 1)
                }
                return .object(properties: properties)
            default:
                break
            }
        }
        if let reference = members["$ref"]?.stringValue,
           let target = registry.resolve(reference, base: registry.scope(of: location).base) {
            let hint = typeHint(at: target, depth: depth + 1)
            if hint != .unknown { return hint }
        }
        if case .array(let parts)? = members["allOf"] {
            for i in parts.indices {
                let hint = typeHint(at: sub("/allOf/\(i)"), depth: depth + 1)
                if hint != .unknown { return hint }
            }
        }
        _ = document
        return .unknown
    }
}
