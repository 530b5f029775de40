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
        return s.withUTF8 { isHostname($0[...]) }
    }

    static func isHostname(_ bytes: UTF8Bytes) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        var labelStart = bytes.startIndex
        for i in bytes.startIndex...bytes.endIndex {
            guard i == bytes.endIndex || bytes[i] == UInt8(ascii: ".") else {
                let b = bytes[i]
                let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D
                if !ok { return false }
                continue
            }
            let label = bytes[labelStart..<i]
            guard !label.isEmpty, label.count <= 63, label.first != 0x2D, label.last != 0x2D else { return false }
            if label.count >= 4, label[labelStart + 2] == 0x2D, label[labelStart + 3] == 0x2D,
               label[labelStart] | 0x20 == UInt8(ascii: "x"), label[labelStart + 1] | 0x20 == UInt8(ascii: "n") {
                guard isALabel(Array(label.dropFirst(4))) else { return false }
            }
            labelStart = i + 1
        }
        return true
    }

    /// An `xn--` label: decodable Punycode, not all ASCII, not starting with a combining mark.
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

    private static let atext = Array("!#$%&'*+-/=?^_`{|}~".utf8)

    static func isEmail(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")), at > 0, at < bytes.count - 1 else { return false }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        if local.first == UInt8(ascii: "\"") {
            guard local.count >= 2, local.last == UInt8(ascii: "\"") else { return false }
            var escaped = false
            for b in local.dropFirst().dropLast() {
                if escaped { escaped = false; continue }
                if b == UInt8(ascii: "\\") { escaped = true; continue }
                if b == UInt8(ascii: "\"") || b < 0x20 || b >= 0x7F { return false }
            }
            if escaped { return false }
        } else {
            var previousDot = true
            for b in local {
                if b == UInt8(ascii: ".") {
                    if previousDot { return false }
                    previousDot = true
                    continue
                }
                let ok = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || atext.contains(b)
                if !ok { return false }
                previousDot = false
            }
            if previousDot { return false }
        }
        if domain.first == UInt8(ascii: "[") {
            guard domain.last == UInt8(ascii: "]") else { return false }
            let literal = domain.dropFirst().dropLast()
            if literal.starts(with: "IPv6:".utf8) { return isIPv6(UnsafeBufferPointer(rebasing: literal.dropFirst(5))) }
            return isIPv4(literal)
        }
        return isHostname(domain)
    }
}
