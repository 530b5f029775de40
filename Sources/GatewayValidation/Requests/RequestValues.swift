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
        var out: [(String, Substring)] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = pair.firstIndex(of: "=") {
                out.append((PercentDecoding.decode(pair[..<eq], plusAsSpace: true) ?? String(pair[..<eq]), pair[pair.index(after: eq)...]))
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

/// Percent-decoding of URL components (`+` as space in query strings).
public enum PercentDecoding {
    public static func decode(_ text: some StringProtocol, plusAsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var it = text.utf8.makeIterator()
        var changed = false
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hv = hex(h), let lv = hex(l) else { return nil }
                bytes.append(hv << 4 | lv)
                changed = true
            } else if b == UInt8(ascii: "+") && plusAsSpace {
                bytes.append(UInt8(ascii: " "))
                changed = true
            } else {
                bytes.append(b)
            }
        }
        if !changed { return String(text) }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
