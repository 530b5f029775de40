import Foundation

/// A JSON pointer whose segments may be `*` (any one segment), or `header.NAME`: what a
/// comparison ignores.
public struct PointerPattern: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case body([String])
        case header(String)
    }

    public let kind: Kind
    public let description: String

    /// Parses `/a/*/b` (RFC 6901 escapes `~0` `~1`), `` (the whole body) or `header.NAME`.
    public init?(_ text: String) {
        if text.hasPrefix("header.") {
            let name = text.dropFirst(7)
            guard !name.isEmpty else { return nil }
            kind = .header(name.lowercased())
        } else if text.isEmpty {
            kind = .body([])
        } else {
            guard text.hasPrefix("/") else { return nil }
            kind = .body(text.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
                $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            })
        }
        description = text
    }

    /// Whether a body pointer given as segments is covered: the pattern matches it or one of its
    /// ancestors (ignoring `/items` ignores everything under it).
    public func covers(_ segments: [String]) -> Bool {
        guard case .body(let pattern) = kind, pattern.count <= segments.count else { return false }
        for (p, s) in zip(pattern, segments) where p != "*" && p != s { return false }
        return true
    }

    /// The pointer text for `segments`.
    public static func pointer(_ segments: [String]) -> String {
        segments.map { "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }.joined()
    }

    /// The pointer with array indexes as `*`: how differences are grouped in a report.
    public static func grouped(_ pointer: String) -> String {
        pointer.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            !segment.isEmpty && segment.allSatisfy(\.isNumber) ? "*" : String(segment)
        }.joined(separator: "/")
    }
}
