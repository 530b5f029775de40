/// An IAM-style pattern: `*` matches any run of characters (`/` included), `?` exactly one.
/// Matching is case-sensitive, as IAM's is for `execute-api` resources.
public struct WildcardPattern: Sendable, Equatable {
    public let text: String
    private let bytes: [UInt8]

    public init(_ text: String) {
        self.text = text
        self.bytes = Array(text.utf8)
    }

    public func matches(_ candidate: String) -> Bool {
        var subject = candidate
        return subject.withUTF8 { matches(bytes: $0) }
    }

    /// Greedy matching with one backtrack point per `*` (linear in practice, never exponential).
    private func matches(bytes s: UnsafeBufferPointer<UInt8>) -> Bool {
        let star = UInt8(ascii: "*"), question = UInt8(ascii: "?")
        var p = 0, i = 0
        var starAt = -1, resumeAt = 0
        while i < s.count {
            if p < bytes.count && (bytes[p] == question || bytes[p] == s[i]) && bytes[p] != star {
                p += 1
                i += 1
            } else if p < bytes.count && bytes[p] == star {
                starAt = p
                resumeAt = i
                p += 1
            } else if starAt >= 0 {
                p = starAt + 1
                resumeAt += 1
                i = resumeAt
            } else {
                return false
            }
        }
        while p < bytes.count && bytes[p] == star { p += 1 }
        return p == bytes.count
    }
}
