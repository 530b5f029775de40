/// The compiled route table: a segment trie over path templates. Literal segments beat `{param}`
/// segments, which beat a final greedy `{name+}`; the search backtracks, so the most specific
/// template that accepts the method wins.
public struct Router: Sendable {
    public enum Match: Sendable, Equatable {
        /// The operation's index in the plan, and its path parameters in template order, as sent
        /// (not percent-decoded).
        case operation(Int, parameters: [String])
        /// The path exists, but not with this method.
        case methodNotAllowed(allow: [String])
        case notFound
    }

    struct MethodTable: Sendable {
        var byMethod: [String: Int] = [:]
        var any: Int?
        var isEmpty: Bool { byMethod.isEmpty && any == nil }

        func lookup(_ method: String) -> Int? {
            if let op = byMethod[method] { return op }
            if method == "HEAD", let op = byMethod["GET"] { return op }
            return any
        }
    }

    struct Node: Sendable {
        var literals: [String: Int] = [:]
        var parameter: Int?
        var greedy = MethodTable()
        var methods = MethodTable()
    }

    public struct Conflict: Error, CustomStringConvertible {
        public var existing: Int
        public var description: String { "conflicts with another operation" }
    }

    private var nodes: [Node] = [Node()]

    public init() {}

    /// Adds an operation; throws `Conflict` (naming the earlier operation) when the same method is
    /// already bound to a template of the same shape.
    public mutating func add(_ template: PathTemplate, method: String?, operation: Int) throws(Conflict) {
        var index = 0
        for segment in template.segments {
            switch segment {
            case .literal(let text):
                if let next = nodes[index].literals[text] {
                    index = next
                } else {
                    nodes.append(Node())
                    nodes[index].literals[text] = nodes.count - 1
                    index = nodes.count - 1
                }
            case .parameter:
                if let next = nodes[index].parameter {
                    index = next
                } else {
                    nodes.append(Node())
                    nodes[index].parameter = nodes.count - 1
                    index = nodes.count - 1
                }
            case .greedy:
                try Router.insert(&nodes[index].greedy, method: method, operation: operation)
                return
            }
        }
        try Router.insert(&nodes[index].methods, method: method, operation: operation)
    }

    private static func insert(_ table: inout MethodTable, method: String?, operation: Int) throws(Conflict) {
        if let method {
            if let existing = table.byMethod[method] { throw Conflict(existing: existing) }
            table.byMethod[method] = operation
        } else {
            if let existing = table.any { throw Conflict(existing: existing) }
            table.any = operation
        }
    }

    /// Matches a request path (without the query string) as sent by the client.
    public func match(method: String, path: Substring) -> Match {
        // Split at the bytes of `/` (a Character split would run grapheme breaking over the whole
        // path), into one array; the empty segment before a leading `/` and after a trailing one
        // do not count.
        var segments: [Substring] = []
        segments.reserveCapacity(8)
        let bytes = path.utf8
        var start = bytes.startIndex, index = bytes.startIndex
        while index != bytes.endIndex {
            if bytes[index] == UInt8(ascii: "/") {
                if index != bytes.startIndex { segments.append(path[start..<index]) }
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        if start != bytes.endIndex { segments.append(path[start...]) }
        var values: [String] = []
        var allowed: Set<String> = []
        if let found = search(0, segments[...], method, &values, &allowed) {
            return .operation(found, parameters: values)
        }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return .methodNotAllowed(allow: allowed.sorted())
    }

    private func search(_ index: Int, _ rest: ArraySlice<Substring>, _ method: String,
                        _ values: inout [String], _ allowed: inout Set<String>) -> Int? {
        let node = nodes[index]
        guard let segment = rest.first else {
            if let op = node.methods.lookup(method) { return op }
            allowed.formUnion(node.methods.byMethod.keys)
            return nil
        }
        let tail = rest.dropFirst()
        if !node.literals.isEmpty, let decoded = PathTemplate.percentDecoded(segment),
           let next = node.literals[decoded],
           let op = search(next, tail, method, &values, &allowed) {
            return op
        }
        if let next = node.parameter, !segment.isEmpty {
            values.append(String(segment))
            if let op = search(next, tail, method, &values, &allowed) { return op }
            values.removeLast()
        }
        if !node.greedy.isEmpty {
            if let op = node.greedy.lookup(method) {
                values.append(rest.joined(separator: "/"))
                return op
            }
            allowed.formUnion(node.greedy.byMethod.keys)
        }
        return nil
    }
}
