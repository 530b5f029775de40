import Foundation
import GatewayCore
import GatewayValidation

/// Compiles each operation's parameters and request body, as its document describes them, into an
/// `OperationValidator`. Schemas are compiled once per document (shared components once), as
/// JSON Schema 2020-12 for OpenAPI 3.1 documents and as the OpenAPI 3.0 schema object (draft-04
/// with `nullable`) for 3.0 ones. A schema that cannot be compiled is an error naming the document,
/// the line and the JSON pointer.
struct RequestValidationCompiler {
    let source: YAMLSource
    let document: JSONValue
    let library: SchemaLibrary
    let dialect: SchemaDialect

    init(_ apiDocument: APIDocument) {
        source = apiDocument.source
        document = source.jsonValue()
        dialect = apiDocument.version.hasPrefix("3.0.") ? .draft04(openAPI30: true) : .draft2020_12
        let base = URL(fileURLWithPath: source.file).standardizedFileURL
        let directory = base.deletingLastPathComponent()
        library = SchemaLibrary(document: document, baseURI: base.absoluteString, dialect: dialect, options: .request,
                                resolver: { uri in Self.load(uri, under: directory) })
    }

    /// Another document of the routes folder a `$ref` points to.
    static func load(_ uri: String, under directory: URL) -> JSONValue? {
        guard let url = URL(string: uri), url.isFileURL,
              url.standardizedFileURL.path.hasPrefix(directory.standardizedFileURL.path) else { return nil }
        return (try? YAMLSource.load(path: url.path))?.jsonValue()
    }

    static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// The object at `pointer`, following local `$ref`s; returns it with its own pointer.
    private func resolve(_ pointer: String, name: String, line: Int?) throws(ConfigError) -> (JSONValue, String) {
        var pointer = pointer
        for _ in 0..<32 {
            guard let value = Self.value(at: pointer, in: document) else {
                throw ConfigError(file: source.file, line: line, "\(name): nothing at \(pointer)")
            }
            guard case .string(let ref)? = value["$ref"] else { return (value, pointer) }
            guard ref.hasPrefix("#") else {
                throw ConfigError(file: source.file, line: line, "\(name): $ref '\(ref)' at \(pointer) points outside the document (not supported for parameters and request bodies)")
            }
            pointer = PercentDecoding.decode(ref.dropFirst(), plusAsSpace: false) ?? String(ref.dropFirst())
        }
        throw ConfigError(file: source.file, line: line, "\(name): $ref chain at \(pointer) does not end")
    }

    static func value(at pointer: String, in root: JSONValue) -> JSONValue? {
        guard !pointer.isEmpty else { return root }
        var node = root
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch node {
            case .object(let o): guard let next = o[token] else { return nil }; node = next
            case .array(let a): guard let i = Int(token), a.indices.contains(i) else { return nil }; node = a[i]
            default: return nil
            }
        }
        return node
    }

    private func compile(_ pointer: String, name: String, line: Int?) throws(ConfigError) -> SchemaValidator {
        do {
            return try library.validator(at: pointer)
        } catch {
            throw ConfigError(file: source.file, line: lineFor(error.pointer) ?? line,
                              "\(name): the schema at \(error.pointer.isEmpty ? pointer : error.pointer) cannot be compiled: \(error.reason)")
        }
    }

    private func lineFor(_ pointer: String) -> Int? {
        guard !pointer.isEmpty else { return nil }
        let tokens = pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        return source.line(at: tokens)
    }

    /// The validator of the operation at `paths[path][methodKey]`, or nil when it has nothing to check.
    func validator(path: String, methodKey: String, name: String, line: Int?,
                   rejectUnknownQuery: Bool) throws(ConfigError) -> OperationValidator? {
        let itemPointer = "/paths/" + Self.escape(path)
        let operationPointer = itemPointer + "/" + Self.escape(methodKey)
        var rules: [ParameterRule] = []
        var seen: [String: Int] = [:]
        for base in [itemPointer, operationPointer] {
            guard case .array(let list)? = Self.value(at: base + "/parameters", in: document) else { continue }
            for index in list.indices {
                guard let rule = try parameter("\(base)/parameters/\(index)", name: name, line: line) else { continue }
                let key = "\(rule.location.rawValue) \(rule.name)"
                if let existing = seen[key] {
                    rules[existing] = rule     // the operation's definition overrides the path item's
                } else {
                    seen[key] = rules.count
                    rules.append(rule)
                }
            }
        }
        let body = try requestBody(operationPointer + "/requestBody", name: name, line: line)
        if rules.isEmpty && body == nil && !rejectUnknownQuery { return nil }
        return OperationValidator(parameters: rules, body: body, rejectUnknownQuery: rejectUnknownQuery)
    }

    /// OpenAPI says header parameters named Accept, Content-Type or Authorization are ignored
    /// (content negotiation and security schemes describe those).
    static let ignoredHeaders: Set<String> = ["accept", "content-type", "authorization"]

    private func parameter(_ pointer: String, name: String, line: Int?) throws(ConfigError) -> ParameterRule? {
        let (object, at) = try resolve(pointer, name: name, line: line)
        let lineHere = lineFor(at) ?? line
        guard let paramName = object["name"]?.stringValue,
              let location = object["in"]?.stringValue.flatMap(ParameterRule.Location.init(rawValue:)) else {
            throw ConfigError(file: source.file, line: lineHere, "\(name): the parameter at \(at) needs a name and in: path, query, header or cookie")
        }
        if location == .header && Self.ignoredHeaders.contains(paramName.lowercased()) { return nil }
        var style: ParameterRule.Style?
        if let text = object["style"]?.stringValue {
            guard let s = ParameterRule.Style(rawValue: text), ParameterRule.allows(s, in: location) else {
                throw ConfigError(file: source.file, line: lineHere, "\(name): parameter '\(paramName)': style '\(text)' is not allowed in \(location.rawValue)")
            }
            style = s
        }
        var validator: SchemaValidator?
        var jsonContent = false
        if object["schema"] != nil {
            validator = try compile(at + "/schema", name: name, line: lineHere)
        } else if case .object(let content)? = object["content"], let (type, entry) = content.first {
            if MediaType(type)?.isJSON == true {
                jsonContent = true
                if entry["schema"] != nil {
                    validator = try compile(at + "/content/" + Self.escape(type) + "/schema", name: name, line: lineHere)
                }
            }
        }
        return ParameterRule(name: paramName, location: location, style: style, explode: object["explode"]?.boolValue,
                             required: object["required"]?.boolValue ?? false,
                             allowEmptyValue: object["allowEmptyValue"]?.boolValue ?? false,
                             validator: validator, jsonContent: jsonContent)
    }

    private func requestBody(_ pointer: String, name: String, line: Int?) throws(ConfigError) -> BodyRule? {
        guard Self.value(at: pointer, in: document) != nil else { return nil }
        let (object, at) = try resolve(pointer, name: name, line: line)
        var entries: [BodyRule.Entry] = []
        if case .object(let content)? = object["content"] {
            for type in content.keys.sorted() {
                guard let mediaType = MediaType(type) else {
                    throw ConfigError(file: source.file, line: lineFor(at) ?? line, "\(name): '\(type)' in requestBody.content is not a media type")
                }
                let entry = content[type]!
                let validator = entry["schema"] == nil ? nil
                    : try compile(at + "/content/" + Self.escape(type) + "/schema", name: name, line: line)
                entries.append(.init(mediaType: mediaType, validator: validator))
            }
        }
        guard !entries.isEmpty else { return nil }
        return BodyRule(required: object["required"]?.boolValue ?? false, entries: entries)
    }
}
