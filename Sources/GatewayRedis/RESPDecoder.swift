import NIOCore

/// Decodes RESP2 and RESP3 values from a byte stream. A value split across reads waits for the
/// rest (nothing is consumed until it is whole); bytes that are not RESP throw
/// `RedisError.protocolError` with the reason, and the connection is closed by its handler.
/// Sizes are bounded: a line (type byte to CRLF) of 64 KiB, a bulk string of 512 MiB (Redis's own
/// limit), an aggregate of 16 Mi elements, nesting 64 deep.
public struct RESPDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = RESPValue

    static let maxLine = 64 * 1024
    static let maxBulk = 512 * 1024 * 1024
    static let maxElements = 16 * 1024 * 1024
    static let maxDepth = 64

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try Self.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(value))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Reads one whole value from `buffer`, or nothing (returns nil, `buffer` untouched) when it is
    /// not all there yet.
    public static func parse(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        var copy = buffer
        guard let value = try parseValue(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    private static func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPValue? {
        guard depth < maxDepth else { throw RedisError.protocolError("nested deeper than \(maxDepth)") }
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard let line = try readLine(&buffer) else { return nil }
        let body = line.dropFirst()
        switch type {
        case UInt8(ascii: "+"): return .simpleString(String(decoding: body, as: UTF8.self))
        case UInt8(ascii: "-"): return .error(String(decoding: body, as: UTF8.self))
        case UInt8(ascii: ":"): return .integer(try integer(body))
        case UInt8(ascii: "_"):
            guard body.isEmpty else { throw RedisError.protocolError("null with a body") }
            return .null
        case UInt8(ascii: "#"):
            switch String(decoding: body, as: UTF8.self) {
            case "t": return .boolean(true)
            case "f": return .boolean(false)
            default: throw RedisError.protocolError("boolean that is neither t nor f")
            }
        case UInt8(ascii: ","):
            let text = String(decoding: body, as: UTF8.self)
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let d = Double(text) else { throw RedisError.protocolError("bad double '\(text.prefix(40))'") }
                return .double(d)
            }
        case UInt8(ascii: "("):
            let text = String(decoding: body, as: UTF8.self)
            guard !text.isEmpty, text.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy(\.isNumber) else {
                throw RedisError.protocolError("bad big number")
            }
            return .bigNumber(text)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            let length = try integer(body)
            if length == -1 && type == UInt8(ascii: "$") { return .null }
            guard length >= 0, length <= maxBulk else { throw RedisError.protocolError("bulk length \(length) out of range") }
            guard buffer.readableBytes >= Int(length) + 2 else { return nil }
            let data = buffer.readSlice(length: Int(length))!
            guard buffer.readInteger(as: UInt8.self) == 13, buffer.readInteger(as: UInt8.self) == 10 else {
                throw RedisError.protocolError("bulk string not followed by CRLF")
            }
            switch type {
            case UInt8(ascii: "!"): return .error(String(buffer: data))
            case UInt8(ascii: "="):
                let text = String(buffer: data)
                // "txt:" or "mkd:" before the text.
                guard text.utf8.count >= 4, Array(text.utf8)[3] == UInt8(ascii: ":") else {
                    throw RedisError.protocolError("verbatim string without its format")
                }
                return .verbatim(String(text.dropFirst(4)))
            default: return .bulkString(data)
            }
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            let count = try integer(body)
            if count == -1 && type == UInt8(ascii: "*") { return .null }
            guard count >= 0, count <= maxElements else { throw RedisError.protocolError("aggregate length \(count) out of range") }
            let n = Int(count) * (type == UInt8(ascii: "%") || type == UInt8(ascii: "|") ? 2 : 1)
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(n, 1024))
            for _ in 0..<n {
                guard let element = try parseValue(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            switch type {
            case UInt8(ascii: "~"): return .set(elements)
            case UInt8(ascii: ">"): return .push(elements)
            case UInt8(ascii: "%"): return .map(elements)
            // An attribute describes the value after it; the client has no use for it.
            case UInt8(ascii: "|"): return try parseValue(&buffer, depth: depth + 1)
            default: return .array(elements)
            }
        default:
            throw RedisError.protocolError("unknown type byte 0x\(String(type, radix: 16))")
        }
    }

    /// The bytes up to CRLF (which is consumed), or nil when CRLF has not arrived yet.
    private static func readLine(_ buffer: inout ByteBuffer) throws -> ArraySlice<UInt8>? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 13) else {
            if view.count > maxLine { throw RedisError.protocolError("line longer than \(maxLine) bytes") }
            return nil
        }
        if cr - view.startIndex > maxLine { throw RedisError.protocolError("line longer than \(maxLine) bytes") }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == 10 else { throw RedisError.protocolError("CR not followed by LF") }
        let line = Array(view[view.startIndex..<cr])[...]
        buffer.moveReaderIndex(forwardBy: line.count + 2)
        return line
    }

    private static func integer(_ bytes: ArraySlice<UInt8>) throws -> Int64 {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let value = Int64(text) else { throw RedisError.protocolError("bad integer '\(text.prefix(40))'") }
        return value
    }
}
