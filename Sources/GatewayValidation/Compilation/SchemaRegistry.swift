import GatewayCore

/// Every document a compilation touches, indexed by URI: schema resources (`$id`), anchors,
/// dynamic anchors and each schema's base URI. Used only while compiling.
final class SchemaRegistry {
    typealias Resolver = (String) -> JSONValue?

    private(set) var documents: [SchemaDocument] = []
    private var documentIndex: [String: Int] = [:]
    /// Absolute URI (no fragment) of each schema resource.
    private(set) var resources: [String: SchemaLocation] = [:]
    /// `uri#name` of each `$anchor`/`$dynamicAnchor` (and draft-04 `id: "#name"`).
    private var anchors: [String: SchemaLocation] = [:]
    /// A resource root's `$dynamicAnchor`s.
    private(set) var dynamicAnchors: [SchemaLocation: [String: SchemaLocation]] = [:]
    /// Each indexed schema's base URI and resource root.
    private var scopes: [SchemaLocation: (base: String, root: SchemaLocation)] = [:]
    let resolver: Resolver

    init(resolver: @escaping Resolver) {
        self.resolver = resolver
    }

    /// Adds a document and indexes its schemas (the whole document is walked as a schema when it
    /// is one; an OpenAPI document is walked from the schema positions it holds).
    @discardableResult
    func add(_ root: JSONValue, uri: String, dialect: SchemaDialect, rootIsSchema: Bool = true) -> Int {
        let key = URIReference.split(uri).base
        if let existing = documentIndex[key] { return existing }
        let id = documents.count
        documents.append(SchemaDocument(uri: key, root: root, dialect: dialect))
        documentIndex[key] = id
        let rootLocation = SchemaLocation(document: id, pointer: "")
        if resources[key] == nil { resources[key] = rootLocation }
        if rootIsSchema {
            indexSchema(root, document: id, pointer: "", base: key, root: rootLocation, dialect: dialect)
        } else {
            indexContainer(root, document: id, pointer: "", base: key, root: rootLocation, dialect: dialect)
        }
        return id
    }

    func document(_ location: SchemaLocation) -> SchemaDocument { documents[location.document] }

    func value(at location: SchemaLocation) -> JSONValue? {
        JSONPointer.resolve(location.pointer, in: documents[location.document].root)
    }

    /// The base URI and resource root in force at `location` (the nearest indexed ancestor's).
    func scope(of location: SchemaLocation) -> (base: String, root: SchemaLocation) {
        var pointer = location.pointer
        while true {
            if let found = scopes[SchemaLocation(document: location.document, pointer: pointer)] { return found }
            guard let slash = pointer.lastIndex(of: "/") else {
                let doc = documents[location.document]
                return (doc.uri, SchemaLocation(document: location.document, pointer: ""))
            }
            pointer = String(pointer[..<slash])
        }
    }

    /// Resolves a `$ref` value against `base`: a resource, a JSON pointer inside one, or an anchor.
    /// Loads unknown documents through the bundled metaschemas, then the resolver.
    func resolve(_ reference: String, base: String) -> SchemaLocation? {
        let absolute = URIReference.resolve(reference, against: base)
        let (uri, rawFragment) = URIReference.split(absolute)
        if resources[uri] == nil && !load(uri) { return nil }
        guard let resource = resources[uri] else { return nil }
        let fragment = JSONPointer.percentDecoded(rawFragment)
        if fragment.isEmpty { return resource }
        if fragment.hasPrefix("/") {
            let location = SchemaLocation(document: resource.document, pointer: resource.pointer + fragment)
            return value(at: location) == nil ? nil : location
        }
        return anchors[uri + "#" + fragment]
    }

    /// Whether `location` carries `$dynamicAnchor: name` in its resource.
    func isDynamicAnchor(_ location: SchemaLocation, named name: String) -> Bool {
        dynamicAnchors[scope(of: location).root]?[name] == location
    }

    private func load(_ uri: String) -> Bool {
        guard let root = Metaschemas.document(for: uri) ?? resolver(uri) else { return false }
        let schemaURI = root["$schema"]?.stringValue ?? ""
        let dialect: SchemaDialect
        if schemaURI.contains("draft-04") {
            dialect = .draft04(openAPI30: false)
        } else if schemaURI.contains("2020-12") {
            dialect = .draft2020_12
        } else {
            dialect = documents.first?.dialect ?? .draft2020_12
        }
        add(root, uri: uri, dialect: dialect)
        return true
    }

    // MARK: Indexing

    private func indexSchema(_ value: JSONValue, document: Int, pointer: String, base: String, root: SchemaLocation, dialect: SchemaDialect) {
        let location = SchemaLocation(document: document, pointer: pointer)
        guard case .object(let members) = value else {
            if scopes[location] == nil { scopes[location] = (base, root) }
            return
        }
        var base = base
        var root = root
        let refSuppressesID = dialect.isDraft4 && members["$ref"] != nil
        if let id = members[dialect.idKeyword]?.stringValue, !refSuppressesID {
            if dialect.isDraft4 && id.hasPrefix("#") {
                anchors[base + id] = location
            } else {
                let resolved = URIReference.split(URIReference.resolve(id, against: base))
                base = resolved.base
                root = location
                if resources[base] == nil { resources[base] = location }
                if dialect.isDraft4 && !resolved.fragment.isEmpty {
                    anchors[base + "#" + resolved.fragment] = location
                }
            }
        }
        if !dialect.isDraft4 {
            if let anchor = members["$anchor"]?.stringValue { anchors[base + "#" + anchor] = location }
            if let anchor = members["$dynamicAnchor"]?.stringValue {
                anchors[base + "#" + anchor] = location
                dynamicAnchors[root, default: [:]][anchor] = location
            }
        }
        if scopes[location] == nil { scopes[location] = (base, root) }
        for (keyword, member) in members {
            switch SubschemaKeywords.shape(of: keyword, dialect: dialect) {
            case .single:
                indexSchema(member, document: document, pointer: JSONPointer.append(pointer, keyword), base: base, root: root, dialect: dialect)
            case .list:
                if case .array(let items) = member {
                    for (i, item) in items.enumerated() {
                        indexSchema(item, document: document, pointer: "\(JSONPointer.append(pointer, keyword))/\(i)", base: base, root: root, dialect: dialect)
                    }
                } else {
                    indexSchema(member, document: document, pointer: JSONPointer.append(pointer, keyword), base: base, root: root, dialect: dialect)
                }
            case .map:
                if case .object(let entries) = member {
                    let keywordPointer = JSONPointer.append(pointer, keyword)
                    for (name, entry) in entries {
                        indexSchema(entry, document: document, pointer: JSONPointer.append(keywordPointer, name), base: base, root: root, dialect: dialect)
                    }
                }
            case .none:
                break
            }
        }
    }

    /// Walks a document that is not itself a schema (an OpenAPI document): the values of `schema`
    /// members and the entries of `schemas` maps are schemas.
    private func indexContainer(_ value: JSONValue, document: Int, pointer: String, base: String, root: SchemaLocation, dialect: SchemaDialect) {
        switch value {
        case .object(let members):
            for (key, member) in members {
                let memberPointer = JSONPointer.append(pointer, key)
                if key == "schema" {
                    indexSchema(member, document: document, pointer: memberPointer, base: base, root: root, dialect: dialect)
                } else if key == "schemas", case .object(let entries) = member {
                    for (name, entry) in entries {
                        indexSchema(entry, document: document, pointer: JSONPointer.append(memberPointer, name), base: base, root: root, dialect: dialect)
                    }
                } else {
                    indexContainer(member, document: document, pointer: memberPointer, base: base, root: root, dialect: dialect)
                }
            }
        case .array(let items):
            for (i, item) in items.enumerated() {
                indexContainer(item, document: document, pointer: "\(pointer)/\(i)", base: base, root: root, dialect: dialect)
            }
        default:
            break
        }
    }
}
