import Foundation
import GatewayCore
import Yams

/// One parsed YAML (or JSON) file, kept as Yams nodes so errors can name the line.
public struct YAMLSource {
    public let file: String
    public let root: Node

    public init(file: String, text: String) throws(ConfigError) {
        self.file = file
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigError(file: file, "the file is empty")
            }
            self.root = node
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw YAMLSource.describe(error, file: file)
        } catch {
            throw ConfigError(file: file, "cannot parse: \(error)")
        }
    }

    public static func load(path: String) throws(ConfigError) -> YAMLSource {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, "the file is not UTF-8 text")
        }
        return try YAMLSource(file: path, text: text)
    }

    private static func describe(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.joined(separator: " ")
            return ConfigError(file: file, line: mark.line, "invalid YAML: \(what)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(file: file, line: context.mark.line,
                               "duplicate keys \(duplicates.joined(separator: ", "))")
        default:
            return ConfigError(file: file, "invalid YAML: \(error)")
        }
    }

    /// The line of the deepest node reachable along `path` (mapping keys and sequence indexes).
    public func line(at path: [String]) -> Int? {
        var node = root
        var line = root.mark?.line
        for component in path {
            if let mapping = node.mapping, let (key, value) = mapping.first(where: { $0.key.string == component }) {
                line = key.mark?.line ?? line
                node = value
            } else if let sequence = node.sequence, let index = Int(component), sequence.indices.contains(index) {
                node = sequence[index]
                line = node.mark?.line ?? line
            } else {
                break
            }
        }
        return line
    }

    public func error(_ node: Node?, _ message: String) -> ConfigError {
        ConfigError(file: file, line: node?.mark?.line, message)
    }
}

/// Typed, strict reading of a YAML mapping: unknown keys are errors that name the line.
struct YAMLMap {
    let source: YAMLSource
    let node: Node
    let mapping: Node.Mapping
    let context: String

    init(_ node: Node, in source: YAMLSource, context: String) throws(ConfigError) {
        guard let mapping = node.mapping else {
            throw source.error(node, "\(context) must be a mapping")
        }
        self.source = source
        self.node = node
        self.mapping = mapping
        self.context = context
    }

    var keys: [String] { mapping.keys.compactMap(\.string) }

    func requireOnly(_ allowed: Set<String>) throws(ConfigError) {
        for key in mapping.keys {
            let name = key.string ?? "?"
            if !allowed.contains(name) {
                throw source.error(key, "unknown key '\(name)' in \(context) (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    func node(_ key: String) -> Node? { mapping[key] }

    func keyNode(_ key: String) -> Node? { mapping.keys.first { $0.string == key } }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let value = mapping[key] else { return nil }
        guard let s = value.scalar?.string, value.scalar != nil else {
            throw source.error(value, "\(context).\(key) must be a string")
        }
        return s
    }

    func requiredString(_ key: String) throws(ConfigError) -> String {
        guard let s = try string(key) else { throw source.error(node, "\(context) needs '\(key)'") }
        return s
    }

    func double(_ key: String) throws(ConfigError) -> Double? {
        guard let value = mapping[key] else { return nil }
        guard let d = value.float ?? value.int.map(Double.init), d.isFinite else {
            throw source.error(value, "\(context).\(key) must be a number")
        }
        return d
    }

    func int(_ key: String) throws(ConfigError) -> Int? {
        guard let value = mapping[key] else { return nil }
        guard let i = value.int else { throw source.error(value, "\(context).\(key) must be an integer") }
        return i
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let value = mapping[key] else { return nil }
        guard let b = value.bool else { throw source.error(value, "\(context).\(key) must be true or false") }
        return b
    }

    func duration(_ key: String) throws(ConfigError) -> Duration? {
        guard let value = mapping[key] else { return nil }
        guard let text = value.string, let d = ConfigDuration.parse(text) else {
            throw source.error(value, "\(context).\(key) must be a duration like 250ms, 29s or 5m")
        }
        return d
    }

    func map(_ key: String) throws(ConfigError) -> YAMLMap? {
        guard let value = mapping[key] else { return nil }
        return try YAMLMap(value, in: source, context: "\(context).\(key)")
    }

    func stringList(_ key: String) throws(ConfigError) -> [String]? {
        guard let value = mapping[key] else { return nil }
        if let s = value.scalar?.string { return [s] }
        guard let sequence = value.sequence else {
            throw source.error(value, "\(context).\(key) must be a list of strings")
        }
        var out: [String] = []
        for item in sequence {
            guard let s = item.scalar?.string else { throw source.error(item, "\(context).\(key) must be a list of strings") }
            out.append(s)
        }
        return out
    }
}

extension YAMLSource {
    /// Decodes a `Decodable` from a node through JSON (the node as `jsonValue` resolves it).
    public static func decode<T: Decodable>(_ type: T.Type, from node: Node) throws -> T {
        try JSONDecoder().decode(type, from: jsonValue(node).serialized())
    }
}
