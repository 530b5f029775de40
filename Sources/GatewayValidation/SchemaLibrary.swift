import GatewayCore

/// Compiles many schemas of one document (an OpenAPI document's operations) sharing the work:
/// each referenced component is compiled once. Use it while loading, from one thread; the
/// validators it returns are immutable and `Sendable`.
public final class SchemaLibrary {
    public static let defaultBaseURI = "urn:gateway:schema"
    let compiler: SchemaCompiler
    let graph: NodeGraph
    let documentIndex: Int

    public init(
        document: JSONValue,
        baseURI: String = SchemaLibrary.defaultBaseURI,
        dialect: SchemaDialect = .draft2020_12,
        options: ValidationOptions = ValidationOptions(),
        documentIsSchema: Bool = false,
        resolver: @escaping (String) -> JSONValue? = { _ in nil }
    ) {
        let registry = SchemaRegistry(resolver: resolver)
        documentIndex = registry.add(document, uri: baseURI, dialect: dialect, rootIsSchema: documentIsSchema)
        compiler = SchemaCompiler(registry: registry, options: options)
        graph = NodeGraph(compiler: compiler)
    }

    /// The validator of the schema at `pointer` (JSON pointer, `~0`/`~1` escaped).
    public func validator(at pointer: String) throws(SchemaCompileError) -> SchemaValidator {
        let location = SchemaLocation(document: documentIndex, pointer: pointer)
        let root = try compiler.node(at: location)
        try compiler.checkForInfiniteLoops()
        return SchemaValidator(root: root, graph: graph, tracksScope: compiler.usesDynamicScope,
                               regexStepLimit: compiler.options.regexStepLimit, typeHint: compiler.typeHint(at: location))
    }
}
