import GatewayCore

/// A part of a string's UTF-8 bytes, as the format checks read them (no copies).
typealias UTF8Bytes = Slice<UnsafeBufferPointer<UInt8>>

/// The `format` values asserted when format assertion is on. Unknown formats are not compiled
/// (they pass). String formats ignore non-strings; the OpenAPI numeric formats ignore non-numbers.
enum StringFormat: String, Sendable, CaseIterable {
    case dateTime = "date-time", date, time, email, uuid, uri, uriReference = "uri-reference"
    case ipv4, ipv6, hostname, int32, int64, float, double, byte, regex

    init?(name: String) { self.init(rawValue: name) }

    var name: String { rawValue }

    /// Inlined with `accepts(_: String)` into the `format` keyword; the checks themselves are not.
    @inline(__always)
    func accepts(_ instance: JSONValue) -> Bool {
        switch self {
        case .int32, .int64, .float, .double: return acceptsNumber(instance)
        default:
            guard case .string(let s) = instance else { return true }
            return accepts(s)
        }
    }

    @inline(__always)
    func accepts(_ s: String) -> Bool {
        if let result = s.utf8.withContiguousStorageIfAvailable(accepts) { return result }
        var s = s
        return s.withUTF8 { accepts($0) }
    }

    func accepts(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .dateTime: return DateTimeFormat.isDateTime(s)
        case .date: return DateTimeFormat.isDate(s[...])
        case .time: return DateTimeFormat.isTime(s[...])
        case .email: return NetworkFormats.isEmail(s)
        case .uuid: return Self.isUUID(s)
        case .uri: return URIFormat.isValid(Array(s), requireScheme: true)
        case .uriReference: return URIFormat.isValid(Array(s), requireScheme: false)
        case .ipv4: return NetworkFormats.isIPv4(s[...])
        case .ipv6: return NetworkFormats.isIPv6(s)
        case .hostname: return NetworkFormats.isHostname(s)
        case .byte: return Base64.isValid(s)
        case .regex: return (try? ECMARegex(String(decoding: s, as: UTF8.self))) != nil
        case .int32, .int64, .float, .double: return true
        }
    }

    private func acceptsNumber(_ instance: JSONValue) -> Bool {
        switch (self, instance) {
        case (.int32, .int(let i)): return i >= Int64(Int32.min) && i <= Int64(Int32.max)
        case (.int32, .double(let d)): return d.rounded(.towardZero) == d && d >= Double(Int32.min) && d <= Double(Int32.max)
        case (.int64, .double(let d)): return d.rounded(.towardZero) == d && d >= -9.2e18 && d <= 9.2e18
        case (.float, .double(let d)): return d.isFinite && abs(d) <= Double(Float.greatestFiniteMagnitude)
        case (.double, .double(let d)): return d.isFinite
        default: return true
        }
    }

    static func isUUID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if b != UInt8(ascii: "-") { return false }
            } else if !isHexDigit(b) {
                return false
            }
        }
        return true
    }

    static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }

}
