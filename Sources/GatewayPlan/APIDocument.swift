import Foundation
import OpenAPIKit
import OpenAPIKit30
import OpenAPIKitCompat
import Yams

/// One OpenAPI 3.0.x or 3.1.x document from `routes/`, decoded by OpenAPIKit (3.0 documents are
/// converted to the 3.1 model) with its `$ref`s resolved, plus its YAML nodes for line numbers.
///
/// Why a document is seen through two models, both made from the same YAML nodes (`source`):
/// - OpenAPIKit checks the document's structure and resolves its endpoints (paths × methods,
///   path-level and operation-level parameters merged, `security`, `servers`); its errors name
///   the coding path, which `source` turns into a line.
/// - JSON Schema validation needs the schemas as raw JSON (`source.jsonValue()`): OpenAPIKit's
///   schema model drops what 2020-12 validation depends on (`$dynamicRef`/`$dynamicAnchor`,
///   `unevaluated*`, `$anchor`, unknown keywords that `$ref`s may point into), so the validator
///   compiles from the JSON view, addressing schemas by JSON pointer.
/// The gateway's own extensions (`x-gateway`, `securitySchemes` extensions) are read from the
/// YAML nodes directly, so every problem names its line.
public struct APIDocument {
    /// The method recorded for an `x-gateway-any-method` operation inside the OpenAPIKit model.
    static let anyMethod = OpenAPIKit.OpenAPI.HttpMethod.other("X-GATEWAY-ANY-METHOD")

    public let source: YAMLSource
    public let version: String
    public let resolved: OpenAPIKit.ResolvedDocument

    public var file: String { source.file }

    /// Reads every API document under `directory` (files with a top-level `openapi` field),
    /// skipping `exclude` (the gateway configuration itself). Returns documents and problems.
    public static func loadAll(directory: String, exclude: String) -> ([APIDocument], [ConfigError]) {
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(atPath: directory) else {
            return ([], [ConfigError(file: directory, "cannot list the routes folder")])
        }
        let excluded = URL(fileURLWithPath: exclude).standardizedFileURL.path
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let lower = relative.lowercased()
            guard lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") || lower.hasSuffix(".json") else { continue }
            let path = (directory as NSString).appendingPathComponent(relative)
            if URL(fileURLWithPath: path).standardizedFileURL.path == excluded { continue }
            files.append(path)
        }
        var documents: [APIDocument] = []
        var errors: [ConfigError] = []
        for path in files.sorted() {
            do {
                let source = try YAMLSource.load(path: path)
                guard source.root.mapping?["openapi"] != nil else { continue }
                documents.append(try APIDocument(source: source))
            } catch {
                errors.append(error)
            }
        }
        return (documents, errors)
    }

    public init(source: YAMLSource) throws(ConfigError) {
        self.source = source
        guard let versionNode = source.root.mapping?["openapi"], let version = versionNode.string else {
            throw ConfigError(file: source.file, "missing the top-level 'openapi' version")
        }
        self.version = version
        var document: OpenAPIKit.OpenAPI.Document
        do {
            if version.hasPrefix("3.0.") {
                let doc30 = try YAMLSource.decode(OpenAPIKit30.OpenAPI.Document.self, from: source.root)
                document = doc30.convert(to: .v3_1_1)
            } else if version.hasPrefix("3.1.") {
                document = try YAMLSource.decode(OpenAPIKit.OpenAPI.Document.self, from: source.root)
            } else {
                throw ConfigError(file: source.file, line: versionNode.mark?.line,
                                  "openapi version '\(version)' is not supported (3.0.x or 3.1.x)")
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw APIDocument.describe(error, source: source)
        }
        try APIDocument.attachAnyMethodOperations(&document, source: source)
        do {
            self.resolved = try document.locallyDereferenced().resolved()
        } catch let error as OpenAPIKit.OpenAPI.Components.ReferenceError {
            var line: Int?
            if case .missingOnLookup(let name, let key) = error {
                line = source.firstLine(ofRefEndingWith: "/\(key)/\(name)")
            }
            throw ConfigError(file: source.file, line: line, "unresolved $ref: \(error.description)")
        } catch {
            throw APIDocument.describe(error, source: source)
        }
    }

    /// Decodes each path item's `x-gateway-any-method` operation into the model, so it is
    /// dereferenced and resolved like the others.
    private static func attachAnyMethodOperations(_ document: inout OpenAPIKit.OpenAPI.Document,
                                                  source: YAMLSource) throws(ConfigError) {
        let pathsNode = source.root.mapping?["paths"]?.mapping
        for (path, entry) in document.paths {
            guard case .b(var item) = entry, item.vendorExtensions["x-gateway-any-method"] != nil else { continue }
            guard let node = pathsNode?[path.rawValue]?.mapping?["x-gateway-any-method"] else { continue }
            do {
                let operation: OpenAPIKit.OpenAPI.Operation
                if source.root.mapping?["openapi"]?.string?.hasPrefix("3.0.") == true {
                    let op30 = try YAMLSource.decode(OpenAPIKit30.OpenAPI.Operation.self, from: node)
                    var wrapper = OpenAPIKit30.OpenAPI.Document(
                        info: .init(title: "", version: ""), servers: [],
                        paths: [path: .init(.init(get: op30))], components: .noComponents)
                    wrapper.openAPIVersion = .v3_0_3
                    guard case .b(let converted) = wrapper.convert(to: .v3_1_1).paths[path], let get = converted.get else {
                        continue
                    }
                    operation = get
                } else {
                    operation = try YAMLSource.decode(OpenAPIKit.OpenAPI.Operation.self, from: node)
                }
                item.vendorExtensions["x-gateway-any-method"] = nil
                item.additionalOperations[anyMethod] = operation
                document.paths[path] = .b(item)
            } catch {
                throw ConfigError(file: source.file, line: node.mark?.line,
                                  "x-gateway-any-method of \(path.rawValue): \(OpenAPIKit.OpenAPI.Error(from: error).localizedDescription)")
            }
        }
    }

    static func describe(_ error: any Error, source: YAMLSource) -> ConfigError {
        let pretty = OpenAPIKit.OpenAPI.Error(from: error)
        let path = pretty.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
        let line = source.line(at: path)
        let at = pretty.codingPathString.isEmpty ? "" : " (at \(pretty.codingPathString))"
        return ConfigError(file: source.file, line: line, "invalid OpenAPI document: \(pretty.localizedDescription)\(at)")
    }

    /// Base paths from the document's `servers` (`https://h/v1` → `/v1`; variables take their defaults).
    static func basePaths(_ servers: [OpenAPIKit.OpenAPI.Server]) -> [String] {
        var out: [String] = []
        for server in servers {
            var text = server.urlTemplate.absoluteString
            for (name, variable) in server.variables {
                text = text.replacingOccurrences(of: "{\(name)}", with: variable.default)
            }
            var path: String
            if let schemeEnd = text.range(of: "://") {
                let afterScheme = text[schemeEnd.upperBound...]
                path = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? ""
            } else {
                path = text
            }
            if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = String(path[..<q]) }
            while path.hasSuffix("/") { path.removeLast() }
            if !path.isEmpty && !path.hasPrefix("/") { path = "/" + path }
            if !out.contains(path) { out.append(path) }
        }
        return out.isEmpty ? [""] : out
    }
}
