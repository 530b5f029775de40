import GatewayCore

/// `$ref`: the target was compiled once (cycles share nodes).
final class RefKeyword: Keyword, @unchecked Sendable {
    let target: SchemaNode
    private let targetLink: Unretained<SchemaNode>

    init(_ at: KeywordLocation, target: SchemaNode) {
        self.target = target
        targetLink = Unretained(target)
        super.init(at)
    }

    override var inPlaceSubschemas: [SchemaNode] { [target] }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        targetLink.with { $0.validate(instance, &state, &evaluated) }
    }
}

/// `$dynamicRef`: resolved against the outermost schema resource in the dynamic scope that
/// declares the same `$dynamicAnchor`; otherwise like `$ref`.
final class DynamicRefKeyword: Keyword, @unchecked Sendable {
    let target: SchemaNode
    let anchor: String

    init(_ at: KeywordLocation, target: SchemaNode, anchor: String) {
        self.target = target
        self.anchor = anchor
        super.init(at)
    }

    override var inPlaceSubschemas: [SchemaNode] { [target] }

    override func validate(_ instance: JSONValue, _ state: inout ValidationState, _ evaluated: inout Evaluated) -> Bool {
        var node = target
        for resource in state.scope {
            if let dynamic = resource.dynamicAnchors[anchor] {
                node = dynamic
                break
            }
        }
        return node.validate(instance, &state, &evaluated)
    }
}
