import GatewayCore

/// The applicator vocabulary: keywords that apply subschemas.
extension KeywordContext {
    mutating func compileArrayApplicators() throws(SchemaCompileError) {
        if dialect.isDraft4 {
            switch members["items"] {
            case .array?:
                let prefix = try subschemaList("items") ?? []
                let rest = members["additionalItems"] == nil ? nil : try subschema("additionalItems")
                keywords.append(ItemsKeyword(at("items"), prefix: prefix, rest: rest, restAt: at("additionalItems")))
            case .some:
                keywords.append(ItemsKeyword(at("items"), prefix: [], rest: try subschema("items"), restAt: at("items")))
            case nil:
                break
            }
            return
        }
        let prefix: [SchemaNode]
        if case .array(let items)? = members["prefixItems"] {
            var nodes: [SchemaNode] = []
            for i in items.indices { nodes.append(try subschema("prefixItems", i)) }
            prefix = nodes
        } else if members["prefixItems"] != nil {
            throw error("prefixItems", "prefixItems must be an array of schemas")
        } else {
            prefix = []
        }
        if case .array? = members["items"] { throw error("items", "items must be a schema (use prefixItems for tuples)") }
        let rest = members["items"] == nil ? nil : try subschema("items")
        if !prefix.isEmpty || rest != nil {
            keywords.append(ItemsKeyword(at(prefix.isEmpty ? "items" : "prefixItems"), prefix: prefix, rest: rest, restAt: at("items")))
        }
        if members["contains"] != nil {
            let validation = document.vocabularies.contains(.validation)
            let minimum = validation ? try count("minContains") ?? 1 : 1
            let maximum = validation ? try count("maxContains") : nil
            keywords.append(ContainsKeyword(at("contains"), node: try subschema("contains"), minimum: minimum, maximum: maximum))
        }
    }

    mutating func compileObjectApplicators() throws(SchemaCompileError) {
        var properties: [String: SchemaNode] = [:]
        if let value = members["properties"] {
            guard case .object(let entries) = value else { throw error("properties", "properties must be an object") }
            for name in entries.keys { properties[name] = try subschema("properties", name) }
        }
        var patterns: [(ECMARegex, SchemaNode)] = []
        if let value = members["patternProperties"] {
            guard case .object(let entries) = value else { throw error("patternProperties", "patternProperties must be an object") }
            for name in entries.keys.sorted() {
                let regex = try regex(name, keyword: "patternProperties")
                patterns.append((regex, try subschema("patternProperties", name)))
            }
        }
        let additional = members["additionalProperties"] == nil ? nil : try subschema("additionalProperties")
        if !properties.isEmpty || !patterns.isEmpty || additional != nil {
            let name = additional != nil ? "additionalProperties" : (patterns.isEmpty ? "properties" : "patternProperties")
            keywords.append(PropertiesKeyword(at(name), properties: properties, patterns: patterns, additional: additional))
        }
        if !dialect.isDraft4, members["propertyNames"] != nil {
            keywords.append(PropertyNamesKeyword(at("propertyNames"), node: try subschema("propertyNames")))
        }
        let keyword = dialect.isDraft4 ? "dependencies" : "dependentSchemas"
        if case .object(let entries)? = members[keyword] {
            var dependencies: [(String, SchemaNode)] = []
            for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
                if case .array = entry, dialect.isDraft4 { continue }
                dependencies.append((name, try subschema(keyword, name)))
                _ = entry
            }
            if !dependencies.isEmpty { lateKeywords.append(DependentSchemasKeyword(at(keyword), dependencies: dependencies)) }
        }
    }

    /// `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`.
    mutating func compileInPlaceApplicators() throws(SchemaCompileError) {
        if let nodes = try subschemaList("allOf") { lateKeywords.append(AllOfKeyword(at("allOf"), nodes: nodes)) }
        if let nodes = try subschemaList("anyOf") { lateKeywords.append(AnyOfKeyword(at("anyOf"), nodes: nodes)) }
        if let nodes = try subschemaList("oneOf") { lateKeywords.append(OneOfKeyword(at("oneOf"), nodes: nodes)) }
        if members["not"] != nil { lateKeywords.append(NotKeyword(at("not"), node: try subschema("not"))) }
        if !dialect.isDraft4, members["if"] != nil {
            let then = members["then"] == nil ? nil : try subschema("then")
            let otherwise = members["else"] == nil ? nil : try subschema("else")
            let condition = try subschema("if")
            // Even without then/else, a passing `if` contributes annotations to unevaluated*.
            lateKeywords.append(IfThenElseKeyword(at("if"), condition: condition, then: then, otherwise: otherwise))
        }
    }

    mutating func compileRef(_ value: JSONValue) throws(SchemaCompileError) {
        guard let reference = value.stringValue else { throw error("$ref", "$ref must be a string") }
        guard let target = compiler.registry.resolve(reference, base: base) else {
            throw error("$ref", "cannot resolve $ref \(reference)")
        }
        lateKeywords.append(RefKeyword(at("$ref"), target: try compiler.node(at: target)))
    }

    mutating func compileDynamicRef(_ value: JSONValue) throws(SchemaCompileError) {
        guard let reference = value.stringValue else { throw error("$dynamicRef", "$dynamicRef must be a string") }
        guard let target = compiler.registry.resolve(reference, base: base) else {
            throw error("$dynamicRef", "cannot resolve $dynamicRef \(reference)")
        }
        let anchor = JSONPointer.percentDecoded(URIReference.split(reference).fragment)
        let targetNode = try compiler.node(at: target)
        if !anchor.isEmpty, !anchor.hasPrefix("/"), compiler.registry.isDynamicAnchor(target, named: anchor) {
            compiler.noteDynamicScope()
            lateKeywords.append(DynamicRefKeyword(at("$dynamicRef"), target: targetNode, anchor: anchor))
        } else {
            lateKeywords.append(RefKeyword(at("$dynamicRef"), target: targetNode))
        }
    }

    mutating func compileUnevaluated() throws(SchemaCompileError) {
        if members["unevaluatedItems"] != nil {
            node.needsAnnotations = true
            lateKeywords.append(UnevaluatedItemsKeyword(at("unevaluatedItems"), node: try subschema("unevaluatedItems")))
        }
        if members["unevaluatedProperties"] != nil {
            node.needsAnnotations = true
            lateKeywords.append(UnevaluatedPropertiesKeyword(at("unevaluatedProperties"), node: try subschema("unevaluatedProperties")))
        }
    }
}
