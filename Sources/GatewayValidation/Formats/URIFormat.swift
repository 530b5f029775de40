/// RFC 3986 syntax for `uri` (absolute, with scheme) and `uri-reference`.
enum URIFormat {
    static func isValid(_ bytes: [UInt8], requireScheme: Bool) -> Bool {
        var rest = bytes[...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) {
            guard isComponent(rest[(hash + 1)...], extra: "/?:@") else { return false }
            rest = rest[..<hash]
        }
        if let question = rest.firstIndex(of: UInt8(ascii: "?")) {
            guard isComponent(rest[(question + 1)...], extra: "/?:@") else { return false }
            rest = rest[..<question]
        }
        var hasScheme = false
        if let colon = rest.firstIndex(of: UInt8(ascii: ":")), !rest[..<colon].contains(UInt8(ascii: "/")) {
            let scheme = rest[..<colon]
            guard let first = scheme.first, isAlpha(first),
                  scheme.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E }) else { return false }
            hasScheme = true
            rest = rest[(colon + 1)...]
        }
        if requireScheme && !hasScheme { return false }
        if rest.starts(with: [0x2F, 0x2F]) {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
            guard isAuthority(rest[rest.startIndex..<end]) else { return false }
            rest = rest[end...]
        }
        if !hasScheme, let firstSegmentEnd = rest.firstIndex(of: UInt8(ascii: "/")) ?? Optional(rest.endIndex),
           rest[rest.startIndex..<firstSegmentEnd].contains(UInt8(ascii: ":")) {
            return false
        }
        return isComponent(rest, extra: "/:@")
    }

    private static func isAuthority(_ authority: ArraySlice<UInt8>) -> Bool {
        var host = authority
        if let at = authority.firstIndex(of: UInt8(ascii: "@")) {
            guard isComponent(authority[..<at], extra: ":") else { return false }
            host = authority[(at + 1)...]
        }
        if host.first == UInt8(ascii: "[") {
            guard let close = host.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = host[(host.startIndex + 1)..<close]
            let ok = literal.first == UInt8(ascii: "v") || literal.first == UInt8(ascii: "V")
                ? isComponent(literal, extra: ":")
                : NetworkFormats.isIPv6(String(decoding: literal, as: UTF8.self))
            guard ok else { return false }
            let after = host[(close + 1)...]
            return after.isEmpty || (after.first == UInt8(ascii: ":") && after.dropFirst().allSatisfy(isDigit))
        }
        if let colon = host.lastIndex(of: UInt8(ascii: ":")) {
            guard host[(colon + 1)...].allSatisfy(isDigit) else { return false }
            host = host[..<colon]
        }
        return isComponent(host, extra: "")
    }

    /// Unreserved, percent-encoded, sub-delims, plus `extra`.
    private static func isComponent(_ bytes: ArraySlice<UInt8>, extra: String) -> Bool {
        let allowed = Array("-._~!$&'()*+,;=".utf8) + Array(extra.utf8)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.endIndex, StringFormat.isHexDigit(bytes[i + 1]), StringFormat.isHexDigit(bytes[i + 2]) else { return false }
                i += 3
                continue
            }
            guard isAlpha(b) || isDigit(b) || allowed.contains(b) else { return false }
            i += 1
        }
        return true
    }

    private static func isAlpha(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}
