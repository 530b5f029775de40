import GatewayCore

/// The raw parts of a request that parameters are read from, as the data plane has them.
public struct RequestValues {
    /// Path parameters' template names and their values as sent (still percent-encoded),
    /// index-aligned.
    public var pathNames: [String]
    public var pathValues: [String]
    /// The query string without `?`, as sent.
    public var query: Substring?
    /// All values of a header, by lower-case name.
    public var header: (String) -> [String]

    public init(pathNames: [String], pathValues: [String], query: Substring?, header: @escaping (String) -> [String]) {
        self.pathNames = pathNames
        self.pathValues = pathValues
        self.query = query
        self.header = header
    }

    /// Path parameters as name and value pairs.
    public init(pathParameters: [(String, String)], query: Substring?, header: @escaping (String) -> [String]) {
        self.init(pathNames: pathParameters.map(\.0), pathValues: pathParameters.map(\.1), query: query, header: header)
    }

    /// The value of the path parameter `name`, as sent.
    func pathValue(_ name: String) -> String? {
        guard let index = pathNames.firstIndex(of: name), index < pathValues.count else { return nil }
        return pathValues[index]
    }

    /// `name=value` pairs of the query: names form-decoded, values still raw (so a style's
    /// separators are found before decoding).
    func queryPairs() -> [(name: String, raw: Substring)] {
        guard var query, !query.isEmpty else { return [] }
        // Found as bytes (`&` and `=` are ASCII) in one pass over the query's storage, the pairs
        // then cut from it by offset: Character splitting runs grapheme breaking, and a split
        // makes an array of its own. (A request's target is stored contiguously already.)
        query.makeContiguousUTF8()
        var out: [(name: String, raw: Substring)] = []
        let utf8 = query.utf8
        _ = utf8.withContiguousStorageIfAvailable { bytes in
            var start = 0
            while start <= bytes.count {
                var end = start, eq = -1
                while end < bytes.count && bytes[end] != UInt8(ascii: "&") {
                    if eq < 0 && bytes[end] == UInt8(ascii: "=") { eq = end }
                    end += 1
                }
                if end > start {
                    let from = utf8.index(utf8.startIndex, offsetBy: start), to = utf8.index(utf8.startIndex, offsetBy: end)
                    if eq >= 0 {
                        let at = utf8.index(utf8.startIndex, offsetBy: eq)
                        out.append((Self.name(query[from..<at]), query[utf8.index(after: at)..<to]))
                    } else {
                        out.append((Self.name(query[from..<to]), ""))
                    }
                }
                start = end + 1
            }
        }
        return out
    }

    /// A query parameter's name, form-decoded (as sent when it is not valid percent-encoding).
    private static func name(_ raw: Substring) -> String {
        PercentDecoding.decode(raw, plusAsSpace: true) ?? String(raw)
    }

    /// `name=value` pairs of the `Cookie` headers, values as sent.
    func cookiePairs() -> [(name: String, raw: Substring)] {
        var out: [(String, Substring)] = []
        for line in header("cookie") {
            for part in line.split(separator: ";") {
                let item = part.trimmingWhitespace()
                guard let eq = item.firstIndex(of: "=") else { continue }
                out.append((String(item[..<eq]), item[item.index(after: eq)...]))
            }
        }
        return out
    }
}
