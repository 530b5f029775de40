import GatewayCore

/// The raw parts of a request that parameters are read from, as the data plane has them.
public struct RequestValues {
    /// Path parameters by template name, as sent (still percent-encoded).
    public var pathParameters: [(String, String)]
    /// The query string without `?`, as sent.
    public var query: Substring?
    /// All values of a header, by lower-case name.
    public var header: (String) -> [String]

    public init(pathParameters: [(String, String)], query: Substring?, header: @escaping (String) -> [String]) {
        self.pathParameters = pathParameters
        self.query = query
        self.header = header
    }

    /// `name=value` pairs of the query: names form-decoded, values still raw (so a style's
    /// separators are found before decoding).
    func queryPairs() -> [(name: String, raw: Substring)] {
        guard let query, !query.isEmpty else { return [] }
        var out: [(name: String, raw: Substring)] = []
        // Split as bytes (`&` and `=` are ASCII): Character splitting runs grapheme breaking.
        for bytes in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let pair = Substring(bytes)
            if let eq = bytes.firstIndex(of: UInt8(ascii: "=")) {
                let name = pair[..<eq]
                out.append((PercentDecoding.decode(name, plusAsSpace: true) ?? String(name), pair[pair.utf8.index(after: eq)...]))
            } else {
                out.append((PercentDecoding.decode(pair, plusAsSpace: true) ?? String(pair), ""))
            }
        }
        return out
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
