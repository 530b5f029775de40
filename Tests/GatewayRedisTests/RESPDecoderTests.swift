import GatewayRedis
import NIOCore
import NIOEmbedded
import Testing

@Suite struct RESPDecoderTests {
    /// Feeds `bytes` to a decoder in an EmbeddedChannel, `chunk` bytes at a time, and returns what it read.
    static func decode(_ bytes: String, chunk: Int = .max) throws -> [RESPValue] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        let all = Array(bytes.utf8)
        var i = 0
        while i < all.count {
            let end = min(all.count, i + chunk)
            try channel.writeInbound(ByteBuffer(bytes: all[i..<end]))
            i = end
        }
        var out: [RESPValue] = []
        while let v = try channel.readInbound(as: RESPValue.self) { out.append(v) }
        _ = try? channel.finish()
        return out
    }

    static let everyType = "+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n:1\r\n"
        + "_\r\n#t\r\n#f\r\n,3.5\r\n,inf\r\n(12345678901234567890\r\n!5\r\nOOPS!\r\n=7\r\ntxt:abc\r\n%1\r\n+k\r\n:9\r\n~2\r\n:1\r\n:2\r\n"
        + ">2\r\n+message\r\n+x\r\n|1\r\n+ttl\r\n:3\r\n+after-attribute\r\n*0\r\n"

    static let expected: [RESPValue] = [
        .simpleString("OK"), .error("ERR bad thing"), .integer(42), .integer(-7), .bulkString(ByteBuffer(string: "hello")),
        .bulkString(ByteBuffer()), .null, .null, .array([.bulkString(ByteBuffer(string: "a")), .integer(1)]),
        .null, .boolean(true), .boolean(false), .double(3.5), .double(.infinity), .bigNumber("12345678901234567890"),
        .error("OOPS!"), .verbatim("abc"), .map([.simpleString("k"), .integer(9)]), .set([.integer(1), .integer(2)]),
        .push([.simpleString("message"), .simpleString("x")]), .simpleString("after-attribute"), .array([]),
    ]

    @Test func decodesEveryRESP2AndRESP3Type() throws {
        #expect(try Self.decode(Self.everyType) == Self.expected)
    }

    @Test(arguments: [1, 2, 3, 7, 13])
    func decodesTheSameWhenSplitAnywhere(chunk: Int) throws {
        #expect(try Self.decode(Self.everyType, chunk: chunk) == Self.expected)
    }

    @Test func waitsForAWholeValueAndConsumesNothingBefore() throws {
        var buffer = ByteBuffer(string: "*2\r\n$3\r\nfoo\r\n$3\r\nba")
        #expect(try RESPDecoder.parse(&buffer) == nil)
        #expect(buffer.readableBytes == 19)
        buffer.writeString("r\r\n")
        #expect(try RESPDecoder.parse(&buffer) == .array([.bulkString(ByteBuffer(string: "foo")), .bulkString(ByteBuffer(string: "bar"))]))
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [
        ("?what\r\n", "unknown type byte"),
        (":12x\r\n", "bad integer"),
        ("$3\r\nabcd\r\n", "not followed by CRLF"),
        ("$-5\r\n", "out of range"),
        ("*-2\r\n", "out of range"),
        ("#x\r\n", "boolean"),
        (",1.2.3\r\n", "bad double"),
        ("+OK\rX", "CR not followed by LF"),
        ("$999999999999\r\n", "out of range"),
        ("=3\r\nabc\r\n", "verbatim"),
    ])
    func refusesMalformedInputWithAReason(input: String, reason: String) throws {
        var buffer = ByteBuffer(string: input)
        #expect {
            _ = try RESPDecoder.parse(&buffer)
        } throws: { error in
            guard case RedisError.protocolError(let message) = error else { return false }
            return message.contains(reason)
        }
    }

    @Test func refusesEndlessLinesAndDeepNesting() throws {
        var long = ByteBuffer(string: "+" + String(repeating: "a", count: 70_000))
        #expect(throws: RedisError.self) { _ = try RESPDecoder.parse(&long) }
        var deep = ByteBuffer(string: String(repeating: "*1\r\n", count: 100) + ":1\r\n")
        #expect(throws: RedisError.self) { _ = try RESPDecoder.parse(&deep) }
    }

    @Test func aMalformedReplyInAChannelIsAnErrorNotACrash() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        #expect(throws: RedisError.self) { try channel.writeInbound(ByteBuffer(string: "+OK\r\n@nonsense\r\n")) }
        #expect(try channel.readInbound(as: RESPValue.self) == .simpleString("OK"))
        _ = try? channel.finish()
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() throws {
        var buffer = ByteBuffer()
        RedisCommand("SET", "k", "héllo").encode(into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nhéllo\r\n")
        // What the encoder writes, the decoder reads back.
        #expect(try RESPDecoder.parse(&buffer) == .array([.bulkString(ByteBuffer(string: "SET")), .bulkString(ByteBuffer(string: "k")),
                                                          .bulkString(ByteBuffer(string: "héllo"))]))
    }
}
