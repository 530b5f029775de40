import GatewayCore

/// A compiled JSON Schema: compile once at load, validate per request from any thread.
///
/// ```swift
/// let validator = try SchemaValidator.compile(
///     document: openAPIDocument, pointer: "/components/schemas/NewFlight",
///     baseURI: "file:///srv/routes/flights.yaml", dialect: .draft2020_12, options: .request)
/// let errors = validator.validate(body, maxErrors: 20)   // [] when valid
/// ```
public final class SchemaValidator: Sendable {
    let root: SchemaNode
    let graph: NodeGraph
    let tracksScope: Bool
    let regexStepLimit: Int
    /// The schema's location: base URI `#` JSON pointer.
    public let location: String
    /// The declared type, following a top-level `$ref`/`allOf` (for coercing parameter strings).
    public let typeHint: TypeHint

    init(root: SchemaNode, graph: NodeGraph, tracksScope: Bool, regexStepLimit: Int, typeHint: TypeHint) {
        self.root = root
        self.graph = graph
        self.tracksScope = tracksScope
        self.regexStepLimit = regexStepLimit
        self.location = root.location
        self.typeHint = typeHint
    }

    /// Compiles the schema at `pointer` (a JSON pointer, `""` for the whole document) inside
    /// `document`, whose own URI is `baseURI`. `$ref`s to other documents are loaded through
    /// `resolver` (given the absolute URI without fragment); the official 2020-12 and draft-04
    /// metaschemas are bundled. Throws naming the offending schema's pointer.
    public static func compile(
        document: JSONValue,
        pointer: String = "",
        baseURI: String = SchemaLibrary.defaultBaseURI,
        dialect: SchemaDialect = .draft2020_12,
        options: ValidationOptions = ValidationOptions(),
        resolver: @escaping (String) -> JSONValue? = { _ in nil }
    ) throws(SchemaCompileError) -> SchemaValidator {
        let library = SchemaLibrary(document: document, baseURI: baseURI, dialect: dialect, options: options,
                                    documentIsSchema: pointer.isEmpty, resolver: resolver)
        return try library.validator(at: pointer)
    }

    /// The errors of `instance`, at most `maxErrors`, ordered by instance pointer; empty when it
    /// is valid. (Which errors make the cut when there are more follows the instance's key order.)
    public func validate(_ instance: JSONValue, maxErrors: Int = 20) -> [ValidationError] {
        if isValid(instance) { return [] }
        var state = ValidationState(collecting: true, maxErrors: maxErrors, tracksScope: tracksScope, regexStepLimit: regexStepLimit)
        var evaluated = Evaluated.off
        if root.validate(instance, &state, &evaluated) || state.errors.isEmpty {
            // Valid when collecting but not on the fast path cannot happen; report something anyway.
            return state.errors.isEmpty ? [ValidationError(instancePointer: "", schemaLocation: location, keyword: "", message: "is invalid")] : state.errors
        }
        return state.errors.sorted { $0.instancePointer < $1.instancePointer }
    }

    /// Whether `instance` is valid, without building any error.
    public func isValid(_ instance: JSONValue) -> Bool {
        var state = ValidationState(collecting: false, maxErrors: 1, tracksScope: tracksScope, regexStepLimit: regexStepLimit)
        var evaluated = Evaluated.off
        return root.validate(instance, &state, &evaluated)
    }
}

/// Owns every node of a compilation; schemas can be cyclic, so the cycles are broken when the
/// last validator sharing them goes away.
final class NodeGraph: @unchecked Sendable {
    let compiler: SchemaCompiler

    init(compiler: SchemaCompiler) { self.compiler = compiler }

    deinit {
        for node in compiler.nodes.values { node.keywords = [] }
        for resource in compiler.resources.values { resource.dynamicAnchors = [:] }
    }
}
