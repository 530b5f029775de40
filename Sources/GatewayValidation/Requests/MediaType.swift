/// A media type as written in `Content-Type` or an OpenAPI `content` key: `type/subtype`,
/// lower-cased, parameters dropped. `*` stands for a wildcard part.
public struct MediaType: Sendable, Hashable, CustomStringConvertible {
    public let type: Substring
    public let subtype: Substring

    public init?(_ text: some StringProtocol) {
        let essence = text.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let parts = essence.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let type = parts[0].trimmingWhitespace().lowercased()
        let subtype = parts[1].trimmingWhitespace().lowercased()
        guard !type.isEmpty, !subtype.isEmpty else { return nil }
        self.type = Substring(type)
        self.subtype = Substring(subtype)
    }

    public var description: String { "\(type)/\(subtype)" }

    /// `application/json` or any `+json` structured syntax (`application/problem+json`).
    public var isJSON: Bool { (type == "application" && subtype == "json") || subtype.hasSuffix("+json") }

    public var isForm: Bool { type == "application" && subtype == "x-www-form-urlencoded" }

    /// The entry of `ranges` that a request of this type uses: the exact type first, then a
    /// `+json` type falls back to `application/json`, then `type/*`, then `*/*`.
    public func bestMatch(in ranges: [MediaType]) -> Int? {
        if let i = ranges.firstIndex(where: { $0.type == type && $0.subtype == subtype }) { return i }
        if subtype.hasSuffix("+json"),
           let i = ranges.firstIndex(where: { $0.type == "application" && $0.subtype == "json" }) { return i }
        if let i = ranges.firstIndex(where: { $0.type == type && $0.subtype == "*" }) { return i }
        return ranges.firstIndex(where: { $0.type == "*" && $0.subtype == "*" })
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
