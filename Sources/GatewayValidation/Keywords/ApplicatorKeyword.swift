/// A keyword applying one subschema (`not`, `propertyNames`, `unevaluated*`).
class SingleApplicatorKeyword: Keyword, @unchecked Sendable {
    let node: SchemaNode

    init(_ at: KeywordLocation, node: SchemaNode) {
        self.node = node
        super.init(at)
    }
}

/// A keyword applying a list of subschemas in place (`allOf`, `anyOf`, `oneOf`).
class ListApplicatorKeyword: Keyword, @unchecked Sendable {
    let nodes: [SchemaNode]

    init(_ at: KeywordLocation, nodes: [SchemaNode]) {
        self.nodes = nodes
        super.init(at)
    }

    override var inPlaceSubschemas: [SchemaNode] { nodes }
}
