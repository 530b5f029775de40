/// An ECMA-262 regular expression in Unicode mode (as JSON Schema's `pattern` requires): `\d`/`\w`
/// are ASCII, `\s` is ECMA's white space, `$` matches only at the end, `\p{...}` general categories.
/// Parsed once; matching is a backtracking search over the string's UTF-8 bytes, bounded by a
/// step limit so a hostile input cannot pin a thread. Immutable and `Sendable`.
public struct ECMARegex: Sendable {
    public let source: String
    let root: RegexNode
    let groupCount: Int
    /// Whether the pattern starts with `^` in every alternative: only position 0 is tried.
    let anchoredAtStart: Bool
    /// Set when the pattern is a plain sequence of repeated character classes.
    let simple: SimplePattern?

    public init(_ source: String) throws(RegexSyntaxError) {
        var parser = RegexParser(source)
        root = try parser.parse()
        groupCount = parser.groupCount
        self.source = source
        anchoredAtStart = root.isAnchoredAtStart
        simple = SimplePattern(root)
    }

    /// Whether the pattern matches somewhere in `text` (patterns are not implicitly anchored).
    /// A search exceeding `stepLimit` backtracking steps counts as no match.
    /// Inlined (with `search`) into the `pattern` keyword: most patterns match in a few dozen
    /// instructions, so the layers of calls around the match were a good part of its cost.
    @inline(__always)
    public func firstMatch(in text: String, stepLimit: Int = 1_000_000) -> Bool {
        if let result = text.utf8.withContiguousStorageIfAvailable({ search($0, stepLimit: stepLimit) }) {
            return result
        }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { search($0, stepLimit: stepLimit) }
    }

    @inline(__always)
    private func search(_ input: UnsafeBufferPointer<UInt8>, stepLimit: Int) -> Bool {
        if let simple { return simple.firstMatch(input, stepLimit: stepLimit) }
        return backtrack(input, stepLimit: stepLimit)
    }

    /// The general matcher, for patterns `SimplePattern` does not cover.
    @inline(never)
    private func backtrack(_ input: UnsafeBufferPointer<UInt8>, stepLimit: Int) -> Bool {
        var matcher = RegexMatcher(input: input, groupCount: groupCount, stepLimit: stepLimit)
        var start = 0
        while true {
            if matcher.matches(root, at: start) { return true }
            if anchoredAtStart || start >= input.count || matcher.aborted { return false }
            start = matcher.next(start)
        }
    }
}

/// Why a pattern is not a valid ECMA-262 regular expression.
public struct RegexSyntaxError: Error, Sendable, Equatable {
    public let reason: String
    public let offset: Int
}
