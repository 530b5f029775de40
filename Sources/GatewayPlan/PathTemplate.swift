import GatewayCore

/// A parsed OpenAPI path template: literal segments, `{param}` segments, and an optional final
/// greedy `{name+}` segment (AWS style).
public struct PathTemplate: Sendable, Equatable, CustomStringConvertible {
    public enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case greedy(String)
    }

    public var segments: [Segment]

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public init(_ text: String) throws(ParseError) {
        guard text.hasPrefix("/") else { throw ParseError(description: "path '\(text)' must start with '/'") }
        var parts = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.last == "" { parts = parts.dropLast() }
        var segments: [Segment] = []
        for (index, part) in parts.enumerated() {
            if part.hasPrefix("{") && part.hasSuffix("}") {
                var name = part.dropFirst().dropLast()
                if name.hasSuffix("+") {
                    name = name.dropLast()
                    guard index == parts.count - 1 else {
                        throw ParseError(description: "greedy segment {\(name)+} must be the last segment of '\(text)'")
                    }
                    guard !name.isEmpty else { throw ParseError(description: "empty parameter name in '\(text)'") }
                    segments.append(.greedy(String(name)))
                } else {
                    guard !name.isEmpty, !name.contains("{"), !name.contains("}") else {
                        throw ParseError(description: "bad parameter segment '\(part)' in '\(text)'")
                    }
                    segments.append(.parameter(String(name)))
                }
            } else if part.contains("{") || part.contains("}") {
                throw ParseError(description: "segment '\(part)' of '\(text)' mixes text and a parameter; only whole-segment parameters are supported")
            } else if part.isEmpty {
                throw ParseError(description: "empty segment in '\(text)'")
            } else {
                segments.append(.literal(PathTemplate.percentDecoded(part) ?? String(part)))
            }
        }
        self.segments = segments
    }

    public var parameterNames: [String] {
        segments.compactMap {
            switch $0 {
            case .parameter(let n), .greedy(let n): return n
            case .literal: return nil
            }
        }
    }

    /// The template with parameter names erased, for conflict detection: `/a/{}/b`.
    public var shape: String {
        "/" + segments.map {
            switch $0 {
            case .literal(let l): return l
            case .parameter: return "{}"
            case .greedy: return "{+}"
            }
        }.joined(separator: "/")
    }

    public var description: String {
        "/" + segments.map {
            switch $0 {
            case .literal(let l): return l
            case .parameter(let n): return "{\(n)}"
            case .greedy(let n): return "{\(n)+}"
            }
        }.joined(separator: "/")
    }

    /// Percent-decodes a path segment; nil when the escapes are malformed.
    public static func percentDecoded<S: StringProtocol>(_ text: S) -> String? {
        PercentDecoding.decode(text, plusAsSpace: false)
    }
}
