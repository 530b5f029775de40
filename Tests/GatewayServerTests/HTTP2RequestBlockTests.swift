@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

/// `HTTP2RequestBlock` against NIOHTTP2's own header-block checks: every block here goes to a
/// `NIOHTTP2Handler` with its checks on, as a client would send it, and the handler's verdict
/// (a RST_STREAM for the stream, or none) must be ours.
@Suite struct HTTP2RequestBlockTests {
    typealias Block = [(String, String)]

    static let base: Block = [(":method", "GET"), (":scheme", "https"), (":path", "/a"), (":authority", "gw.example")]

    static let requests: [(String, Block, valid: Bool)] = [
        ("plain", base, true),
        ("with fields", base + [("accept", "*/*"), ("user-agent", "x/1"), ("te", "trailers")], true),
        ("without authority", Array(base.prefix(3)), true),
        ("values with spaces, tabs and UTF-8", base + [("x-a", " a b\t"), ("x-b", "caf\u{E9}"), ("x-c", "")], true),
        ("every token byte in a name", base + [("!#$%&'*+-.^_`|~09az", "1")], true),
        ("CONNECT", [(":method", "CONNECT"), (":authority", "gw.example:443")], true),
        ("upper-case name", base + [("Accept", "*/*")], false),
        ("space in a name", base + [("a b", "1")], false),
        ("@ in a name", base + [("a@b", "1")], false),
        ("lone colon", base + [(":", "1")], false),
        ("upper-case pseudo-header", [(":Method", "GET")] + base.dropFirst(), false),
        ("pseudo-header after a field", [(":method", "GET"), ("accept", "*/*"), (":scheme", "https"), (":path", "/")], false),
        ("unknown pseudo-header", base + [(":foo", "1")], false),
        ("status in a request", [(":status", "200")] + base, false),
        ("protocol", [(":protocol", "websocket")] + base, false),
        ("repeated path", base + [(":path", "/b")], false),
        ("no scheme", [(":method", "GET"), (":path", "/")], false),
        ("no path", [(":method", "GET"), (":scheme", "https")], false),
        ("no method", [(":scheme", "https"), (":path", "/")], false),
        ("empty path", [(":method", "GET"), (":scheme", "https"), (":path", "")], false),
        ("space in the path", [(":method", "GET"), (":scheme", "https"), (":path", "/a b")], false),
        ("DEL in the path", [(":method", "GET"), (":scheme", "https"), (":path", "/a\u{7F}")], false),
        ("CR in the authority", base.dropLast() + [(":authority", "a\rb")], false),
        ("connection", base + [("connection", "close")], false),
        ("keep-alive", base + [("keep-alive", "5")], false),
        ("proxy-connection", base + [("proxy-connection", "x")], false),
        ("transfer-encoding", base + [("transfer-encoding", "chunked")], false),
        ("upgrade", base + [("upgrade", "h2c")], false),
        ("te other than trailers", base + [("te", "gzip")], false),
        ("NUL in a value", base + [("x-a", "a\u{0}b")], false),
        ("CR in a value", base + [("x-a", "a\rb")], false),
        ("LF in a value", base + [("x-a", "a\nb")], false),
        ("CONNECT with a path", [(":method", "CONNECT"), (":authority", "gw.example:443"), (":path", "/")], false),
        ("CONNECT with a scheme", [(":method", "CONNECT"), (":authority", "gw.example:443"), (":scheme", "https")], false),
        ("CONNECT without authority", [(":method", "CONNECT")], false),
    ]

    static let trailers: [(String, Block, valid: Bool)] = [
        ("plain", [("x-checksum", "1")], true),
        ("te other than trailers", [("te", "gzip")], true),
        ("empty", [], true),
        ("a pseudo-header", [(":path", "/b")], false),
        ("upper-case name", [("X-Checksum", "1")], false),
        ("connection", [("connection", "close")], false),
        ("LF in a value", [("x-a", "a\nb")], false),
    ]

    @Test(arguments: requests.indices)
    func aRequestBlockIsJudgedAsNIOHTTP2JudgesIt(index: Int) throws {
        let (name, block, valid) = Self.requests[index]
        let bytes = Self.encode(block)
        let ours = HTTP2RequestBlock.problem(try Self.decode(bytes), trailers: false)
        #expect((ours == nil) == valid, "\(name): \(ours ?? "accepted")")
        let reset = try Self.nioResets([Self.frame(1, flags: 0x5, bytes)])
        #expect(reset == !valid, "\(name): NIOHTTP2 \(reset ? "resets" : "accepts") it")
    }

    @Test(arguments: trailers.indices)
    func trailersAreJudgedAsNIOHTTP2JudgesThem(index: Int) throws {
        let (name, block, valid) = Self.trailers[index]
        let bytes = Self.encode(block)
        let ours = HTTP2RequestBlock.problem(try Self.decode(bytes), trailers: true)
        #expect((ours == nil) == valid, "\(name): \(ours ?? "accepted")")
        let request = Self.encode(Self.base + [("content-length", "2")])
        let reset = try Self.nioResets([Self.frame(1, flags: 0x4, request), Self.frame(1, type: 0, flags: 0, Array("ok".utf8)),
                                        Self.frame(1, flags: 0x5, bytes)])
        #expect(reset == !valid, "\(name): NIOHTTP2 \(reset ? "resets" : "accepts") them")
    }

    @Test func anEmptyNameIsRefusedToo() {
        // NIOHPACK's decoder refuses it first (a connection error), so NIOHTTP2's checks never see one.
        #expect(HTTP2RequestBlock.problem(HPACKHeaders(Self.base + [("", "1")]), trailers: false) != nil)
        #expect(HTTP2RequestBlock.problem(HPACKHeaders([("", "1")]), trailers: true) != nil)
    }

    @Test func aStreamWithAMalformedBlockIsResetAndGoesNoFurther() throws {
        let channel = EmbeddedChannel()
        let seen = Collector()
        try channel.pipeline.syncOperations.addHandler(HTTP2Connection())
        try channel.pipeline.syncOperations.addHandler(seen)
        let bad = HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders(Self.base + [("connection", "close")])))
        try channel.writeInbound(HTTP2Frame(streamID: 1, payload: bad))
        try channel.writeInbound(HTTP2Frame(streamID: 1, payload: .data(.init(data: .byteBuffer(ByteBuffer(string: "x"))))))
        #expect(seen.count == 0)
        guard case .rstStream(let code) = try channel.readOutbound(as: HTTP2Frame.self)?.payload else {
            Issue.record("no RST_STREAM")
            return
        }
        #expect(code == .protocolError)

        let good = EmbeddedChannel()
        let passed = Collector()
        try good.pipeline.syncOperations.addHandler(HTTP2Connection())
        try good.pipeline.syncOperations.addHandler(passed)
        try good.writeInbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: HPACKHeaders(Self.base)))))
        try good.writeInbound(HTTP2Frame(streamID: 1, payload: .headers(.init(headers: HPACKHeaders([("x-checksum", "1")]), endStream: true))))
        #expect(passed.count == 2)
        #expect(try good.readOutbound(as: HTTP2Frame.self) == nil)
    }

    final class ErrorSink: ChannelInboundHandler {
        typealias InboundIn = Any
        func errorCaught(context: ChannelHandlerContext, error: any Error) {}
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        var count = 0
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { count += 1 }
    }

    // MARK: NIOHTTP2's verdict

    /// Each field as an HPACK literal without indexing, with a new name (RFC 7541 §6.2.2), its
    /// bytes as given: NIOHPACK's encoder would lower-case the names.
    static func encode(_ block: Block) -> [UInt8] {
        func string(_ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            precondition(bytes.count < 127)
            return [UInt8(bytes.count)] + bytes
        }
        return block.flatMap { [0] + string($0.0) + string($0.1) }
    }

    /// What NIOHTTP2 hands on: the block as its HPACK decoder reads it.
    static func decode(_ bytes: [UInt8]) throws -> HPACKHeaders {
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        var buffer = ByteBuffer(bytes: bytes)
        return try decoder.decodeHeaders(from: &buffer)
    }

    static func frame(_ stream: UInt32, type: UInt8 = 1, flags: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    /// Whether a server-side `NIOHTTP2Handler` with its header-block checks on answers these
    /// frames of stream 1 (after the client preface) with a RST_STREAM.
    static func nioResets(_ frames: [[UInt8]]) throws -> Bool {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(
            mode: .server, headerBlockValidation: .enabled, contentLengthValidation: .enabled,
            maximumSequentialEmptyDataFrames: 1, maximumBufferedControlFrames: 10000))
        // NIOHTTP2 also reports a stream error down the pipeline: it is the reset that counts here.
        try channel.pipeline.syncOperations.addHandler(ErrorSink())
        // Active: the handler sends its own preface first, as on a real connection.
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(0, type: 4, flags: 0, [])
        try channel.writeInbound(ByteBuffer(bytes: preface + frames.joined()))
        channel.flush()
        var sent: [UInt8] = []
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else { continue }
            sent += buffer.readableBytesView
        }
        var i = 0
        while i + 9 <= sent.count {
            let length = Int(sent[i]) << 16 | Int(sent[i + 1]) << 8 | Int(sent[i + 2])
            #expect(sent[i + 3] != 7, "NIOHTTP2 ended the connection (GOAWAY)")
            if sent[i + 3] == 3 && sent[i + 8] == 1 { return true }
            i += 9 + length
        }
        return false
    }
}
