import Foundation

/// Why a JSON text was rejected: the byte offset where parsing stopped and a short reason.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    /// The JSON pointer of a repeated object key (`/passengers`); nil for syntax errors.
    public private(set) var pointer: String?

    public init(offset: Int, reason: String, pointer: String? = nil) {
        self.offset = offset
        self.reason = reason
        self.pointer = pointer
    }

    public var description: String {
        if let pointer { return "\(reason) at \(pointer.isEmpty ? "the top level" : pointer)" }
        return "\(reason) at byte \(offset)"
    }

    /// The same error seen from the enclosing object member or array element.
    func inside(_ token: String) -> JSONParseError {
        guard let pointer else { return self }
        var copy = self
        copy.pointer = "/" + JSONParseError.escape(token) + pointer
        return copy
    }

    static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}

/// A strict RFC 8259 parser from UTF-8 bytes to `JSONValue`.
///
/// Integers that fit `Int64` become `.int`, every other number `.double`. Strings must be valid
/// UTF-8 without raw control characters; escapes (including surrogate pairs) are decoded. Nesting is
/// limited to `maxDepth` so hostile input cannot exhaust the stack. Trailing non-whitespace is an
/// error. A repeated object key is an error naming its JSON pointer (I-JSON, RFC 7493 §2.3): a
/// validator that kept one value and a function that read the other would disagree.
public enum JSONParser {
    public static let defaultMaxDepth = 512

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var reader = JSONReader(bytes: bytes.bindMemory(to: UInt8.self), maxDepth: maxDepth)
        return try reader.parseDocument()
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBytes { raw in
            do throws(JSONParseError) { return .success(try parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func parse(_ data: Data, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = data.withUnsafeBytes { raw in
            do throws(JSONParseError) { return .success(try parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONParseError> = text.withUTF8 { buffer in
            do throws(JSONParseError) {
                return .success(try parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth))
            } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// The parser's cursor over the input bytes.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0
    var depth = 0
    var scratch: [UInt8] = []
    /// Members of the objects being parsed, so each dictionary is created at its final size.
    var pendingMembers: [(String, JSONValue)] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if index != bytes.count { throw fail("unexpected data after the JSON value") }
        return value
    }

    func fail(_ reason: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(offset: offset ?? index, reason: reason)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("invalid literal") }
        let start = literal.utf8Start
        for i in 0..<count where bytes[index + i] != start[i] {
            throw fail("invalid literal", at: index + i)
        }
        index += count
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth { throw fail("nesting deeper than \(maxDepth) levels") }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object([:])
        }
        let base = pendingMembers.count
        while true {
            guard index < bytes.count else { throw fail("unexpected end of input in object") }
            guard bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
            index += 1
            skipWhitespace()
            let value: JSONValue
            do { value = try parseValue() } catch { throw error.inside(key) }
            pendingMembers.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input in object") }
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if byte == UInt8(ascii: "}") { break }
            throw fail("expected ',' or '}' in object", at: index - 1)
        }
        depth -= 1
        var members = [String: JSONValue](minimumCapacity: pendingMembers.count - base)
        for i in base..<pendingMembers.count where members.updateValue(pendingMembers[i].1, forKey: pendingMembers[i].0) != nil {
            throw JSONParseError(offset: index, reason: "repeated object key", pointer: "/" + JSONParseError.escape(pendingMembers[i].0))
        }
        pendingMembers.removeSubrange(base...)
        return .object(members)
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            do { elements.append(try parseValue()) } catch { throw error.inside(String(elements.count)) }
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input in array") }
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if byte == UInt8(ascii: "]") { break }
            throw fail("expected ',' or ']' in array", at: index - 1)
        }
        depth -= 1
        return .array(elements)
    }
}

// MARK: - Strings

extension JSONReader {
    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        let start = index + 1
        let (stop, ascii) = try scan(from: start)
        index = stop
        if bytes[stop] == UInt8(ascii: "\\") { return try parseEscapedString(from: start, ascii: ascii) }
        index = stop + 1
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<stop])
        if !ascii { try validateUTF8(slice, offset: start) }
        // Measured cheaper than `String(decoding:as:)`: a string of up to 15 ASCII bytes (most
        // keys and many values) is made in place without checking the bytes once more.
        return String(unsafeUninitializedCapacity: slice.count) { buffer in
            _ = buffer.initialize(from: slice)
            return slice.count
        }
    }

    /// The fast path: from `start`, the offset of the first `"` or `\` and whether the bytes
    /// before it are all ASCII. Eight bytes at a time while none of them needs a look, then byte
    /// by byte; through locals (not `index`) so the loops stay in registers.
    @inline(__always)
    func scan(from start: Int) throws(JSONParseError) -> (stop: Int, ascii: Bool) {
        var i = start
        var seen: UInt64 = 0
        let count = bytes.count
        let base = UnsafeRawPointer(bytes.baseAddress!)  // not empty: the opening quote is in it
        while i + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if Self.needsALook(word) { break }
            seen |= word
            i += 8
        }
        while i < count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return (i, seen & Self.highBits == 0) }
            if byte < 0x20 { throw fail("control character in string", at: i) }
            seen |= UInt64(byte)
            i += 1
        }
        throw fail("unterminated string", at: start - 1)
    }

    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether one of the eight bytes of `word` is a quote, a backslash or a control character
    /// (the usual "has a zero byte" test on `word` xor the character, and "has a byte < 0x20").
    @inline(__always)
    private static func needsALook(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasBackslash = (backslash &- ones) & ~backslash
        let hasControl = (word &- ones &* 0x20) & ~word
        return (hasQuote | hasBackslash | hasControl) & highBits != 0
    }

    /// The slow path: copies into `scratch`, decoding escapes.
    mutating func parseEscapedString(from start: Int, ascii: Bool) throws(JSONParseError) -> String {
        if !ascii { try validateUTF8(UnsafeBufferPointer(rebasing: bytes[start..<index]), offset: start) }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        var runStart = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                try flushRun(from: runStart)
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if byte < 0x20 { throw fail("control character in string") }
            if byte == UInt8(ascii: "\\") {
                try flushRun(from: runStart)
                try parseEscape()
                runStart = index
                continue
            }
            index += 1
        }
        throw fail("unterminated string", at: start - 1)
    }

    mutating func flushRun(from runStart: Int) throws(JSONParseError) {
        guard runStart < index else { return }
        let run = UnsafeBufferPointer(rebasing: bytes[runStart..<index])
        try validateUTF8(run, offset: runStart)
        scratch.append(contentsOf: run)
    }

    mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = index
        index += 1
        guard index < bytes.count else { throw fail("unterminated escape") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw fail("unpaired surrogate in \\u escape", at: escapeStart)
                }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in \\u escape", at: escapeStart) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw fail("unpaired surrogate in \\u escape", at: escapeStart)
            }
            appendUTF8(scalar)
        default:
            throw fail("invalid escape", at: escapeStart)
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// Strict UTF-8 validation: no overlong forms, no surrogates, nothing above U+10FFFF.
    func validateUTF8(_ run: UnsafeBufferPointer<UInt8>, offset: Int) throws(JSONParseError) {
        var i = 0
        let n = run.count
        while i < n {
            let b0 = run[i]
            if b0 < 0x80 { i += 1; continue }
            var need = 0
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; upper = 0x9F
            case 0xF0: need = 3; lower = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; upper = 0x8F
            default: throw fail("invalid UTF-8", at: offset + i)
            }
            guard i + need < n else { throw fail("invalid UTF-8", at: offset + i) }
            let b1 = run[i + 1]
            guard b1 >= lower && b1 <= upper else { throw fail("invalid UTF-8", at: offset + i) }
            if need > 1 {
                for k in 2...need where run[i + k] & 0xC0 != 0x80 {
                    throw fail("invalid UTF-8", at: offset + i)
                }
            }
            i += need + 1
        }
    }
}

// MARK: - Numbers

extension JSONReader {
    /// Parses `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number", at: start) }
        var magnitude: UInt64 = 0
        var overflow = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw fail("leading zero in number", at: start) }
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                let digit = UInt64(bytes[index] &- UInt8(ascii: "0"))
                let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(digit)
                overflow = overflow || o1 || o2
                magnitude = s
                index += 1
            }
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected a digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected a digit in exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if isInteger && !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) + 1 { return .int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)) }
            } else if magnitude <= UInt64(Int64.max) {
                return .int(Int64(magnitude))
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw fail("invalid number", at: start) }
        return .double(value)
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
