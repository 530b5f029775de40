import GatewayCore

/// The validation vocabulary: assertions on one instance value.
extension KeywordContext {
    mutating func compileType() throws(SchemaCompileError) {
        if dialect.isOpenAPI30, members["nullable"] == .bool(true) { node.nullable = true }
        guard let value = members["type"] else { return }
        var types: JSONTypeSet = []
        switch value {
        case .string(let name):
            guard let t = JSONTypeSet(name: name) else { throw error("type", "unknown type \(name)") }
            types = t
        case .array(let names):
            for name in names {
                guard let s = name.stringValue, let t = JSONTypeSet(name: s) else { throw error("type", "unknown type \(name.jsonString)") }
                types.insert(t)
            }
        default:
            throw error("type", "type must be a string or an array of strings")
        }
        node.types = types
        node.typeKeyword = at("type")
    }

    mutating func compileValues() throws(SchemaCompileError) {
        if !dialect.isDraft4, let value = members["const"] { keywords.append(ConstKeyword(at("const"), value: value)) }
        if let value = members["enum"] {
            guard case .array(let values) = value else { throw error("enum", "enum must be an array") }
            keywords.append(EnumKeyword(at("enum"), values: values))
        }
    }

    mutating func compileNumberKeywords() throws(SchemaCompileError) {
        for (keyword, exclusiveKeyword, isMinimum) in [("minimum", "exclusiveMinimum", true), ("maximum", "exclusiveMaximum", false)] {
            if dialect.isDraft4 {
                let exclusive: Bool
                switch members[exclusiveKeyword] {
                case nil: exclusive = false
                case .bool(let b)?: exclusive = b
                default: throw error(exclusiveKeyword, "\(exclusiveKeyword) must be a boolean")
                }
                if let limit = try number(keyword) {
                    keywords.append(BoundKeyword(at(exclusive ? exclusiveKeyword : keyword), limit: limit, isMinimum: isMinimum, exclusive: exclusive))
                }
            } else {
                if let limit = try number(keyword) {
                    keywords.append(BoundKeyword(at(keyword), limit: limit, isMinimum: isMinimum, exclusive: false))
                }
                if let limit = try number(exclusiveKeyword) {
                    keywords.append(BoundKeyword(at(exclusiveKeyword), limit: limit, isMinimum: isMinimum, exclusive: true))
                }
            }
        }
        if let divisor = try number("multipleOf") {
            guard (divisor.doubleValue ?? 0) > 0 else { throw error("multipleOf", "multipleOf must be greater than 0") }
            keywords.append(MultipleOfKeyword(at("multipleOf"), divisor: divisor))
        }
    }

    mutating func compileStringKeywords() throws(SchemaCompileError) {
        if let limit = try count("minLength"), limit > 0 { keywords.append(LengthKeyword(at("minLength"), limit: limit, isMinimum: true)) }
        if let limit = try count("maxLength") { keywords.append(LengthKeyword(at("maxLength"), limit: limit, isMinimum: false)) }
        if let value = members["pattern"] {
            guard let pattern = value.stringValue else { throw error("pattern", "pattern must be a string") }
            keywords.append(PatternKeyword(at("pattern"), regex: try regex(pattern, keyword: "pattern")))
        }
    }

    mutating func compileFormat(_ vocabularies: Vocabularies) throws(SchemaCompileError) {
        guard let value = members["format"] else { return }
        guard let name = value.stringValue else { throw error("format", "format must be a string") }
        guard options.formatAssertion || vocabularies.contains(.formatAssertion), let format = StringFormat(name: name) else { return }
        keywords.append(FormatKeyword(at("format"), format: format))
    }

    var options: ValidationOptions { compiler.options }

    mutating func compileCountKeywords() throws(SchemaCompileError) {
        if let limit = try count("minItems"), limit > 0 { keywords.append(CountKeyword(at("minItems"), counted: .items, limit: limit, isMinimum: true)) }
        if let limit = try count("maxItems") { keywords.append(CountKeyword(at("maxItems"), counted: .items, limit: limit, isMinimum: false)) }
        if members["uniqueItems"] == .bool(true) { keywords.append(UniqueItemsKeyword(at("uniqueItems"))) }
        if let limit = try count("minProperties"), limit > 0 {
            keywords.append(CountKeyword(at("minProperties"), counted: .properties, limit: limit, isMinimum: true))
        }
        if let limit = try count("maxProperties") {
            keywords.append(CountKeyword(at("maxProperties"), counted: .properties, limit: limit, isMinimum: false))
        }
    }

    /// `required` and `dependentRequired` (draft-04: `dependencies` with arrays).
    mutating func compileObjectValidation() throws(SchemaCompileError) {
        if let value = members["required"] {
            guard case .array(let items) = value, let names = Self.strings(items) else {
                throw error("required", "required must be an array of strings")
            }
            let properties = keywords.lazy.compactMap { $0 as? PropertiesKeyword }.first
            if !names.isEmpty && properties?.adoptRequired(names, at: at("required")) != true {
                keywords.append(RequiredKeyword(at("required"), names: names))
            }
        }
        let keyword = dialect.isDraft4 ? "dependencies" : "dependentRequired"
        guard case .object(let entries)? = members[keyword] else { return }
        var dependencies: [(String, [String])] = []
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
            if case .array(let items) = entry {
                guard let names = Self.strings(items) else { throw error(keyword, "\(keyword) values must be arrays of strings") }
                dependencies.append((name, names))
            } else if !dialect.isDraft4 {
                throw error(keyword, "dependentRequired values must be arrays of strings")
            }
        }
        if !dependencies.isEmpty { keywords.append(DependentRequiredKeyword(at(keyword), dependencies: dependencies)) }
    }

    static func strings(_ items: [JSONValue]) -> [String]? {
        var names: [String] = []
        for item in items {
            guard let s = item.stringValue else { return nil }
            names.append(s)
        }
        return names
    }

    /// `readOnly`/`writeOnly` refused by the options (request or response validation).
    mutating func compileAccessMode() {
        if options.refuseReadOnly, members["readOnly"] == .bool(true) {
            keywords.append(AccessModeKeyword(at("readOnly"), message: "is read-only"))
        }
        if options.refuseWriteOnly, members["writeOnly"] == .bool(true) {
            keywords.append(AccessModeKeyword(at("writeOnly"), message: "is write-only"))
        }
    }
}
