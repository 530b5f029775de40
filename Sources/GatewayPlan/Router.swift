/// The compiled route table: a segment trie over path templates. Literal segments beat `{param}`
/// segments, which beat a final greedy `{name+}`; the search backtracks, so the most specific
/// template that accepts the method wins.
///
/// A match reads the path's bytes in place: segments are found as it goes (no array of them), a
/// literal is compared byte for byte (a segment is decoded only when it holds a `%`), and a
/// method is found by comparing the few a node has (no hashing of either on the way).
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
        /// The operation per method, in the order they were added.
        var entries: [(method: String, operation: Int)] = []
        var any: Int?
        var isEmpty: Bool { entries.isEmpty && any == nil }
        var methods: [String] { entries.map(\.method) }

        func operation(for method: String) -> Int? {
            for entry in entries where entry.method == method { return entry.operation }
            return nil
        }

        func lookup(_ method: String) -> Int? {
            if let op = operation(for: method) { return op }
            if method == "HEAD", let op = operation(for: "GET") { return op }
            return any
        }
    }

    struct Literal: Sendable {
        /// The segment, percent-decoded, as UTF-8.
        let bytes: [UInt8]
        let next: Int
    }

    struct Node: Sendable {
        var literals: [Literal] = []
        /// The literals by text, for a node with many of them and for a segment that had to be
        /// decoded.
        var literalIndex: [String: Int] = [:]
        var parameter: Int?
        var greedy = MethodTable()
        var methods = MethodTable()
    }

    /// Up to this many literals a node's are compared one by one; more are looked up by hash.
    static let linearLiterals = 8

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
                if let next = nodes[index].literalIndex[text] {
                    index = next
                } else {
                    nodes.append(Node())
                    nodes[index].literalIndex[text] = nodes.count - 1
                    nodes[index].literals.append(Literal(bytes: Array(text.utf8), next: nodes.count - 1))
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
            if let existing = table.operation(for: method) { throw Conflict(existing: existing) }
            table.entries.append((method, operation))
        } else {
            if let existing = table.any { throw Conflict(existing: existing) }
            table.any = operation
        }
    }

    /// Matches a request path (without the query string) as sent by the client.
    ///
    /// The path's segments are the parts between its `/`s; the empty part before a leading `/`
    /// and the one after a trailing `/` do not count.
    public func match(method: String, path: Substring) -> Match {
        var values: [String] = []
        var allowed: Set<String> = []
        let found = path.utf8.withContiguousStorageIfAvailable { bytes in
            search(0, Self.firstSegment(bytes), bytes, method, &values, &allowed)
        } ?? Array(path.utf8).withUnsafeBufferPointer { bytes in
            search(0, Self.firstSegment(bytes), bytes, method, &values, &allowed)
        }
        if let found { return .operation(found, parameters: values) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return .methodNotAllowed(allow: allowed.sorted())
    }

    /// Where the first segment starts (past a leading `/`). A segment starts at every offset below
    /// the path's length that a search reaches.
    @inline(__always)
    private static func firstSegment(_ path: UnsafeBufferPointer<UInt8>) -> Int {
        path.first == UInt8(ascii: "/") ? 1 : 0
    }

    private func search(_ index: Int, _ start: Int, _ path: UnsafeBufferPointer<UInt8>, _ method: String,
                        _ values: inout [String], _ allowed: inout Set<String>) -> Int? {
        guard start < path.count else {
            if let op = nodes[index].methods.lookup(method) { return op }
            allowed.formUnion(nodes[index].methods.methods)
            return nil
        }
        var end = start
        while end < path.count && path[end] != UInt8(ascii: "/") { end += 1 }
        let segment = UnsafeBufferPointer(rebasing: path[start..<end])
        // Past the `/` that ends this segment: beyond the path's end when none does.
        let next = end + 1
        if let literal = literal(after: index, segment),
           let op = search(literal, next, path, method, &values, &allowed) {
            return op
        }
        if let parameter = nodes[index].parameter, !segment.isEmpty {
            values.append(String(decoding: segment, as: UTF8.self))
            if let op = search(parameter, next, path, method, &values, &allowed) { return op }
            values.removeLast()
        }
        let greedy = nodes[index].greedy
        if !greedy.isEmpty {
            if let op = greedy.lookup(method) {
                // The rest of the path, without the `/` that would end it.
                var restEnd = path.count
                if path[restEnd - 1] == UInt8(ascii: "/") { restEnd -= 1 }
                values.append(String(decoding: UnsafeBufferPointer(rebasing: path[start..<restEnd]), as: UTF8.self))
                return op
            }
            allowed.formUnion(greedy.methods)
        }
        return nil
    }

    /// The node the literal `segment` leads to from `index`: compared as sent when it holds no
    /// `%`, else percent-decoded first (an invalid escape matches no literal).
    @inline(__always)
    private func literal(after index: Int, _ segment: UnsafeBufferPointer<UInt8>) -> Int? {
        let literals = nodes[index].literals
        if literals.isEmpty { return nil }
        if literals.count <= Self.linearLiterals, !segment.contains(UInt8(ascii: "%")) {
            for literal in literals where literal.bytes.count == segment.count {
                if literal.bytes.withUnsafeBufferPointer({ Self.same($0, segment) }) { return literal.next }
            }
            return nil
        }
        guard let decoded = PathTemplate.percentDecoded(String(decoding: segment, as: UTF8.self)) else { return nil }
        return nodes[index].literalIndex[decoded]
    }

    @inline(__always)
    private static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
