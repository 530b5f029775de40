#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// An IAM-style pattern: `*` matches any run of characters (`/` included), `?` exactly one.
/// Matching is case-sensitive, as IAM's is for `execute-api` resources.
public struct WildcardPattern: Sendable, Equatable {
    public let text: String
    private let bytes: [UInt8]

    /// The pattern has neither `*` nor `?`: it matches only itself (the usual resource of a
    /// policy that names its routes, and the usual action).
    private let isLiteral: Bool

    public init(_ text: String) {
        self.text = text
        self.bytes = Array(text.utf8)
        self.isLiteral = !bytes.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
    }

    public func matches(_ candidate: String) -> Bool {
        var subject = candidate
        return subject.withUTF8 { matches(bytes: $0) }
    }

    /// The same for a subject's UTF-8 bytes.
    public func matches(bytes s: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { p in
            if isLiteral {
                return p.count == s.count && (s.isEmpty || memcmp(p.baseAddress!, s.baseAddress!, s.count) == 0)
            }
            return Self.matches(pattern: p, subject: s)
        }
    }

    /// Greedy matching with one backtrack point per `*` (linear in practice, never exponential).
    private static func matches(pattern bytes: UnsafeBufferPointer<UInt8>, subject s: UnsafeBufferPointer<UInt8>) -> Bool {
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
