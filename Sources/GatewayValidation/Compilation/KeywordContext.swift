import GatewayCore

/// Compiles the keywords of one schema object into its node.
struct KeywordContext {
    let compiler: SchemaCompiler
    let node: SchemaNode
    let members: [String: JSONValue]
    let location: SchemaLocation
    let base: String
    let document: SchemaDocument
    var dialect: SchemaDialect { document.dialect }
    var keywords: [Keyword] = []
    var lateKeywords: [Keyword] = []

    init(compiler: SchemaCompiler, node: SchemaNode, members: [String: JSONValue], location: SchemaLocation, base: String, document: SchemaDocument) {
        self.compiler = compiler
        self.node = node
        self.members = members
        self.location = location
        self.base = base
        self.document = document
    }

    mutating func compile() throws(SchemaCompileError) {
        if !document.vocabulariesResolved {
            document.vocabularies = try compiler.vocabularies(of: document, at: location)
            document.vocabulariesResolved = true
        }
        if dialect.isDraft4, let ref = members["$ref"] {
            // draft-04 and OpenAPI 3.0: keywords beside `$ref` are ignored.
            try compileRef(ref)
            node.keywords = lateKeywords
            return
        }
        let vocabularies = document.vocabularies
        if vocabularies.contains(.validation) {
            try compileType()
            try compileValues()
            try compileNumberKeywords()
            try compileStringKeywords()
            try compileCountKeywords()
        }
        try compileFormat(vocabularies)
        if vocabularies.contains(.applicator) {
            try compileArrayApplicators()
            try compileObjectApplicators()
            try compileInPlaceApplicators()
        }
        if vocabularies.contains(.validation) { try compileObjectValidation() }
        if let ref = members["$ref"] { try compileRef(ref) }
        if !dialect.isDraft4, let ref = members["$dynamicRef"] { try compileDynamicRef(ref) }
        compileAccessMode()
        if vocabularies.contains(.unevaluated) && !dialect.isDraft4 { try compileUnevaluated() }
        node.keywords = keywords + lateKeywords
    }

    // MARK: Helpers

    func error(_ keyword: String, _ reason: String) -> SchemaCompileError {
        compiler.error(at: SchemaLocation(document: location.document, pointer: JSONPointer.append(location.pointer, keyword)), reason)
    }

    func at(_ keyword: String) -> KeywordLocation { node.keywordLocation(keyword) }

    func subschema(_ keyword: String) throws(SchemaCompileError) -> SchemaNode {
        try compiler.node(at: SchemaLocation(document: location.document, pointer: JSONPointer.append(location.pointer, keyword)))
    }

    func subschema(_ keyword: String, _ index: Int) throws(SchemaCompileError) -> SchemaNode {
        try compiler.node(at: SchemaLocation(document: location.document, pointer: "\(JSONPointer.append(location.pointer, keyword))/\(index)"))
    }

    func subschema(_ keyword: String, _ name: String) throws(SchemaCompileError) -> SchemaNode {
        let pointer = JSONPointer.append(JSONPointer.append(location.pointer, keyword), name)
        return try compiler.node(at: SchemaLocation(document: location.document, pointer: pointer))
    }

    func subschemaList(_ keyword: String) throws(SchemaCompileError) -> [SchemaNode]? {
        guard let value = members[keyword] else { return nil }
        guard case .array(let items) = value, !items.isEmpty else { throw error(keyword, "\(keyword) must be a non-empty array of schemas") }
        var nodes: [SchemaNode] = []
        for i in items.indices { nodes.append(try subschema(keyword, i)) }
        return nodes
    }

    func number(_ keyword: String) throws(SchemaCompileError) -> JSONValue? {
        guard let value = members[keyword] else { return nil }
        switch value {
        case .int, .double: return value
        default: throw error(keyword, "\(keyword) must be a number")
        }
    }

    func count(_ keyword: String) throws(SchemaCompileError) -> Int? {
        guard let value = members[keyword] else { return nil }
        switch value {
        case .int(let i) where i >= 0: return Int(clamping: i)
        case .double(let d) where d >= 0 && d.rounded() == d: return d < 9e18 ? Int(d) : Int.max
        default: throw error(keyword, "\(keyword) must be a non-negative integer")
        }
    }

    func regex(_ pattern: String, keyword: String) throws(SchemaCompileError) -> ECMARegex {
        do {
            return try ECMARegex(pattern)
        } catch {
            throw self.error(keyword, "invalid regular expression \(pattern): \(error.reason)")
        }
    }
}
