/// A schema resource (a document root or a subschema with its own `$id`), for the dynamic scope:
/// its `$dynamicAnchor`s, compiled.
final class SchemaResource: @unchecked Sendable {
    let uri: String
    /// Set while compiling, read-only afterwards.
    var dynamicAnchors: [String: SchemaNode] = [:]

    init(uri: String) { self.uri = uri }
}
