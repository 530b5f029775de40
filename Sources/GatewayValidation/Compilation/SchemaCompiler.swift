import GatewayCore

/// Turns schema JSON into a graph of `SchemaNode`s. Each location is compiled once; a node is
/// registered before its keywords are compiled, so cyclic `$ref`s close on themselves.
final class SchemaCompiler {
    let registry: SchemaRegistry
    let options: ValidationOptions
    private(set) var nodes: [SchemaLocation: SchemaNode] = [:]
    private(set) var resources: [SchemaLocation: SchemaResource] = [:]
    private(set) var usesDynamicScope = false

    init(registry: SchemaRegistry, options: ValidationOptions) {
        self.registry = registry
        self.options = options
    }

    func node(at location: SchemaLocation) throws(SchemaCompileError) -> SchemaNode {
        if let existing = nodes[location] { return existing }
        guard let value = registry.value(at: location) else { throw error(at: location, "no schema at this location") }
        let scope = registry.scope(of: location)
        let resource = try resource(at: scope.root)
        let document = registry.document(location)
        let node = SchemaNode(location: document.uri + "#" + location.pointer, resource: resource)
        nodes[location] = node
        switch value {
        case .bool(let allowed):
            node.alwaysFalse = !allowed
        case .object(let members):
            var context = KeywordContext(compiler: self, node: node, members: members, location: location, base: scope.base, document: document)
            try context.compile()
        default:
            throw error(at: location, "a schema must be an object or a boolean")
        }
        return node
    }

    /// The runtime object for a schema resource, with its `$dynamicAnchor`s compiled.
    private func resource(at root: SchemaLocation) throws(SchemaCompileError) -> SchemaResource {
        if let existing = resources[root] { return existing }
        let (base, _) = registry.scope(of: root)
        let resource = SchemaResource(uri: base)
        resources[root] = resource
        for (name, location) in registry.dynamicAnchors[root] ?? [:] {
            resource.dynamicAnchors[name] = try node(at: location)
        }
        return resource
    }

    func noteDynamicScope() { usesDynamicScope = true }

    func error(at location: SchemaLocation, _ reason: String) -> SchemaCompileError {
        let document = registry.document(location)
        return SchemaCompileError(location: document.uri + "#" + location.pointer, pointer: location.pointer, reason: reason)
    }

    /// The vocabularies of a 2020-12 document whose `$schema` names a custom metaschema.
    func vocabularies(of document: SchemaDocument, at location: SchemaLocation) throws(SchemaCompileError) -> Vocabularies {
        guard !document.dialect.isDraft4,
              let metaschemaURI = document.root["$schema"]?.stringValue,
              URIReference.split(metaschemaURI).base != Metaschemas.draft2020_12URI,
              let metaLocation = registry.resolve(metaschemaURI, base: document.uri),
              case .object(let vocabulary)? = registry.value(at: metaLocation)?["$vocabulary"]
        else { return .all }
        var result: Vocabularies = [.core]
        for (uri, required) in vocabulary {
            if let known = Vocabularies.byURI[uri] {
                result.insert(known)
            } else if required == .bool(true) {
                throw error(at: location, "metaschema requires unknown vocabulary \(uri)")
            }
        }
        return result
    }
}
