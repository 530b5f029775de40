/// A request-target as the gateway matches and forwards it: origin-form, with its path normalised
/// so that every spelling of a path reaches the same route (RFC 3986 §5.2.4 and §6.2.2).
///
/// - `.` and `..` segments are resolved (a `..` at the root stays at the root);
/// - repeated slashes are merged (`//a///b` → `/a/b`);
/// - percent-encoded unreserved characters are decoded (`%7Euser`, `%2e%2e`), other escapes kept;
/// - an encoded `/` or `\` (`%2F`, `%5C`) is refused, or kept as it is with `.keep`; an encoded
///   NUL, a raw `\`, a `#` and an escape that does not decode are always refused;
/// - absolute-form (`http://host/path`, RFC 9112 §3.2.2) becomes origin-form, and its authority is
///   returned so that it replaces `Host`.
///
/// The query string is passed on as sent.
public struct RequestTarget: Sendable, Equatable {
    public enum EscapedSlashes: String, Sendable {
        case reject, keep
    }

    public enum Failure: Error, Equatable, Sendable {
        /// Not origin-form or absolute-form (`*`, `host:port`, a relative path).
        case unsupportedForm
        /// An escape that does not decode, an encoded NUL or slash, a raw backslash or `#`.
        case badPath
    }

    /// The normalised path, starting with `/`, without the query.
    public var path: Substring
    /// What follows the first `?`, as sent.
    public var query: Substring?
    /// The authority of an absolute-form target (`evil.example:80`); nil for origin-form.
    public var authority: Substring?
    /// Whether `path` differs from what was sent (or the target was absolute-form): the forwarded
    /// request-target must then be rebuilt from `path` and `query`.
    public var rewritten: Bool

    /// The origin-form request-target to forward: `path?query`.
    public var originForm: String {
        guard let query else { return String(path) }
        return path + "?" + query
    }

    /// Stands for a target that was refused before it could be parsed.
    public static let unparsed = RequestTarget(path: "-", query: nil, authority: nil, rewritten: false)

    init(path: Substring, query: Substring?, authority: Substring?, rewritten: Bool) {
        self.path = path
        self.query = query
        self.authority = authority
        self.rewritten = rewritten
    }

    public init(parsing uri: String, escapedSlashes: EscapedSlashes = .reject) throws(Failure) {
        // The common target, origin-form with a normal path, in one pass over its bytes in place.
        if let common = uri.utf8.withContiguousStorageIfAvailable(Self.normalOriginForm), let common {
            if let queryStart = common.queryStart {
                let index = uri.utf8.index(uri.utf8.startIndex, offsetBy: queryStart)
                path = uri[..<index]
                query = uri[uri.utf8.index(after: index)...]
            } else {
                path = uri[...]
                query = nil
            }
            authority = nil
            rewritten = false
            return
        }
        var rest = uri[...]
        var authority: Substring?
        var rewritten = false
        // Byte-wise (the separators are ASCII): Character comparisons would run grapheme breaking.
        if rest.utf8.first != UInt8(ascii: "/") {
            guard let afterScheme = Self.dropHTTPScheme(rest) else { throw .unsupportedForm }
            let end = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
            let host = afterScheme[..<end]
            // userinfo ("user@host") is deprecated and a classic spoofing device: refused.
            guard !host.isEmpty, !host.contains("@") else { throw .unsupportedForm }
            authority = host
            rest = afterScheme[end...]
            rewritten = true
        }
        let queryStart = rest.utf8.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = queryStart.map { rest[..<$0] } ?? rest
        query = queryStart.map { rest[rest.utf8.index(after: $0)...] }
        if rawPath.isEmpty {
            path = "/"
            rewritten = true
        } else if Self.isNormal(rawPath) {
            path = rawPath
        } else {
            let normalised = try Self.normalise(rawPath, escapedSlashes: escapedSlashes)
            if normalised != rawPath { rewritten = true }
            path = normalised[...]
        }
        self.authority = authority
        self.rewritten = rewritten
    }

    /// `http://` or `https://` (scheme case-insensitive) dropped, or nil.
    private static func dropHTTPScheme(_ text: Substring) -> Substring? {
        let utf8 = text.utf8
        func matches(_ prefix: StaticString) -> Bool {
            guard utf8.count >= prefix.utf8CodeUnitCount else { return false }
            var i = utf8.startIndex
            for k in 0..<prefix.utf8CodeUnitCount {
                if utf8[i] | 0x20 != prefix.utf8Start[k] | 0x20 { return false }
                i = utf8.index(after: i)
            }
            return true
        }
        if matches("http://") { return text.dropFirst(7) }
        if matches("https://") { return text.dropFirst(8) }
        return nil
    }

    private struct NormalOriginForm {
        var queryStart: Int?
    }

    /// An origin-form target whose path `isNormal`, and where its query starts (the offset of the
    /// `?`); nil for any other target.
    private static func normalOriginForm(_ target: UnsafeBufferPointer<UInt8>) -> NormalOriginForm? {
        guard target.first == UInt8(ascii: "/"), let end = normalPath(target, stopAtQuery: true) else { return nil }
        return NormalOriginForm(queryStart: end < target.count ? end : nil)
    }

    /// The common case, checked in one pass: no escapes, no backslash or `#`, no empty segment and
    /// no segment that starts with a dot.
    static func isNormal(_ path: Substring) -> Bool {
        path.utf8.withContiguousStorageIfAvailable { normalPath($0, stopAtQuery: false) != nil }
            ?? Array(path.utf8).withUnsafeBufferPointer { normalPath($0, stopAtQuery: false) != nil }
    }

    /// Where a normal path in `bytes` ends: at the first `?` (with `stopAtQuery`) or at the end;
    /// nil when a byte before it makes the path not normal (`isNormal`).
    private static func normalPath(_ bytes: UnsafeBufferPointer<UInt8>, stopAtQuery: Bool) -> Int? {
        var previous: UInt8 = 0
        for i in 0..<bytes.count {
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "?") where stopAtQuery:
                return i
            case UInt8(ascii: "%"), UInt8(ascii: "\\"), UInt8(ascii: "#"):
                return nil
            case UInt8(ascii: "/"), UInt8(ascii: "."):
                if previous == UInt8(ascii: "/") { return nil }
            default:
                break
            }
            previous = byte
        }
        return bytes.count
    }

    static func normalise(_ path: Substring, escapedSlashes: EscapedSlashes) throws(Failure) -> String {
        var output: [[UInt8]] = []
        let raw = Array(path.utf8)
        var segments = raw.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        // The path starts with "/", so the first piece is empty. A trailing slash leaves an empty
        // last piece: kept as a marker that the path ends with "/".
        segments.removeFirst()
        var trailingSlash = false
        for (index, piece) in segments.enumerated() {
            let last = index == segments.count - 1
            let segment = try decodeUnreserved(piece, escapedSlashes: escapedSlashes)
            if segment.isEmpty {
                if last { trailingSlash = true }
                continue
            }
            if segment == [UInt8(ascii: ".")] {
                if last { trailingSlash = true }
                continue
            }
            if segment == [UInt8(ascii: "."), UInt8(ascii: ".")] {
                if !output.isEmpty { output.removeLast() }
                if last { trailingSlash = true }
                continue
            }
            output.append(segment)
        }
        var bytes: [UInt8] = [UInt8(ascii: "/")]
        for (i, segment) in output.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: "/")) }
            bytes.append(contentsOf: segment)
        }
        if trailingSlash && !output.isEmpty { bytes.append(UInt8(ascii: "/")) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes escapes of unreserved characters; keeps every other escape as sent (upper-cased).
    private static func decodeUnreserved(_ piece: ArraySlice<UInt8>, escapedSlashes: EscapedSlashes) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(piece.count)
        var i = piece.startIndex
        while i < piece.endIndex {
            let byte = piece[i]
            switch byte {
            case UInt8(ascii: "%"):
                guard i + 2 < piece.endIndex,
                      let high = PercentDecoding.hex(piece[i + 1]), let low = PercentDecoding.hex(piece[i + 2]) else {
                    throw .badPath
                }
                let decoded = high << 4 | low
                if isUnreserved(decoded) {
                    out.append(decoded)
                } else if decoded == 0 {
                    throw .badPath
                } else if decoded == UInt8(ascii: "/") || decoded == UInt8(ascii: "\\") {
                    guard escapedSlashes == .keep else { throw .badPath }
                    out.append(contentsOf: [UInt8(ascii: "%"), hexDigit(high), hexDigit(low)])
                } else {
                    out.append(contentsOf: [UInt8(ascii: "%"), hexDigit(high), hexDigit(low)])
                }
                i += 3
            case UInt8(ascii: "\\"), UInt8(ascii: "#"), 0:
                throw .badPath
            default:
                out.append(byte)
                i += 1
            }
        }
        return out
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }
}
