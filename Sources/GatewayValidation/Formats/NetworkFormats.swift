/// `ipv4`, `ipv6`, `hostname` and `email`.
enum NetworkFormats {
    /// Dotted quad, decimal octets 0-255 without leading zeros.
    static func isIPv4(_ bytes: UTF8Bytes) -> Bool {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
            if part.count > 1 && part.first == 0x30 { return false }
            var value = 0
            for d in part { value = value * 10 + Int(d - 0x30) }
            if value > 255 { return false }
        }
        return true
    }

    /// RFC 4291 text form: up to eight hex groups, one `::`, an optional trailing IPv4.
    static func isIPv6(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isIPv6($0) }
    }

    static func isIPv6(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 2, bytes.allSatisfy({ $0 < 0x80 }) else { return false }
        var groups = 0
        var compressed = false
        var rest = bytes[...]
        if rest.starts(with: [0x3A, 0x3A]) {
            compressed = true
            rest = rest.dropFirst(2)
            if rest.isEmpty { return true }
        } else if rest.first == 0x3A {
            return false
        }
        while !rest.isEmpty {
            let end = rest.firstIndex(of: 0x3A) ?? rest.endIndex
            let group = rest[rest.startIndex..<end]
            if end == rest.endIndex, group.contains(UInt8(ascii: ".")) {
                guard isIPv4(group) else { return false }
                groups += 2
                rest = rest[end...]
                break
            }
            guard !group.isEmpty, group.count <= 4, group.allSatisfy(StringFormat.isHexDigit) else { return false }
            groups += 1
            rest = rest[end...]
            if rest.starts(with: [0x3A, 0x3A]) {
                if compressed { return false }
                compressed = true
                rest = rest.dropFirst(2)
            } else if rest.first == 0x3A {
                rest = rest.dropFirst()
                if rest.isEmpty { return false }
            }
        }
        return compressed ? groups <= 7 : groups == 8
    }

    /// RFC 1123 host names; `xn--` labels must be decodable Punycode.
    static func isHostname(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isHostname($0) }
    }

    /// Reads the bytes by offset (no slices: this runs for every `email` and `hostname` value).
    static func isHostname(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        guard count > 0, count <= 253 else { return false }
        let allowed = ASCIISet.hostnameLabel
        var labelStart = 0
        for i in 0...count {
            if i < count, bytes[i] != UInt8(ascii: ".") {
                if !allowed.contains(bytes[i]) { return false }
                continue
            }
            let length = i - labelStart
            guard length > 0, length <= 63, bytes[labelStart] != 0x2D, bytes[i - 1] != 0x2D else { return false }
            if length >= 4, bytes[labelStart + 2] == 0x2D, bytes[labelStart + 3] == 0x2D,
               bytes[labelStart] | 0x20 == UInt8(ascii: "x"), bytes[labelStart + 1] | 0x20 == UInt8(ascii: "n") {
                guard isALabel(Array(bytes[(labelStart + 4)..<i])) else { return false }
            }
            labelStart = i + 1
        }
        return true
    }

    /// An `xn--` label: decodable Punycode, not all ASCII, not starting with a combining mark.
    /// Not inlined: rare, and inlined it made every `isHostname` call fetch Unicode property
    /// metadata on entry.
    @inline(never)
    private static func isALabel(_ encoded: [UInt8]) -> Bool {
        guard let decoded = Punycode.decode(encoded), let first = decoded.first.flatMap(Unicode.Scalar.init) else { return false }
        guard decoded.contains(where: { $0 >= 0x80 }) else { return false }
        switch first.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return false
        default: return true
        }
    }

    /// RFC 5321 mailbox: dot-atom or quoted local part; host name or address literal domain.
    static func isEmail(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isEmail($0) }
    }

    /// Reads the bytes by offset, like `isHostname`.
    static func isEmail(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var at = bytes.count - 1
        while at >= 0 && bytes[at] != UInt8(ascii: "@") { at -= 1 }
        guard at > 0, at < bytes.count - 1 else { return false }
        if bytes[0] == UInt8(ascii: "\"") {
            // Quoted local part: `"` ... `"`, backslash escapes, printable ASCII.
            guard at >= 2, bytes[at - 1] == UInt8(ascii: "\"") else { return false }
            var escaped = false
            for i in 1..<(at - 1) {
                let b = bytes[i]
                if escaped { escaped = false; continue }
                if b == UInt8(ascii: "\\") { escaped = true; continue }
                if b == UInt8(ascii: "\"") || b < 0x20 || b >= 0x7F { return false }
            }
            if escaped { return false }
        } else {
            // Dot-atom: atext runs separated by single dots.
            let atext = ASCIISet.atext
            var previousDot = true
            for i in 0..<at {
                let b = bytes[i]
                if b == UInt8(ascii: ".") {
                    if previousDot { return false }
                    previousDot = true
                    continue
                }
                if !atext.contains(b) { return false }
                previousDot = false
            }
            if previousDot { return false }
        }
        let domain = UnsafeBufferPointer(rebasing: bytes[(at + 1)...])
        if domain[0] == UInt8(ascii: "[") {
            guard domain[domain.count - 1] == UInt8(ascii: "]") else { return false }
            let literal = domain[1..<(domain.count - 1)]
            if literal.starts(with: "IPv6:".utf8) { return isIPv6(UnsafeBufferPointer(rebasing: literal.dropFirst(5))) }
            return isIPv4(literal)
        }
        return isHostname(domain)
    }
}
