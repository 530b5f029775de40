@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The gateway's request decoder against NIO's: the same bytes, in the same reads, must give the
/// same parts and errors; the common requests must be parsed by the gateway's decoder, and
/// anything else handed to NIO's.
@Suite struct HTTP1RequestDecoderTests {
    /// Every part as text, with all of a head's fields in order, and every error.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var parts: [String] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                let fields = head.headers.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
                parts.append("head \(head.method) \(head.uri) \(head.version) [\(fields)] keep-alive \(head.isKeepAlive)")
            case .body(let body):
                parts.append("body \(String(buffer: body))")
            case .end(let trailers):
                parts.append("end \(trailers.map { "\($0)" } ?? "")")
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            parts.append("error \(error)")
        }
    }

    static let maxHeadBytes = 1024
    static let maxFields = 10

    static func nioDecoder() -> HTTPRequestDecoder {
        HTTP1RequestDecoder.nioDecoder(maxHeadBytes: maxHeadBytes, maxFields: maxFields)
    }

    /// The parts `reads` give through the gateway's decoder (and whether it had handed the
    /// connection to NIO's after the last read), or through NIO's alone; the connection ends after
    /// the last read.
    static func decode(_ reads: [String], gateway: Bool) throws -> (parts: [String], handedToNIO: Bool) {
        let recorder = Recorder()
        let channel = EmbeddedChannel()
        let decoder = HTTP1RequestDecoder(maxHeadBytes: maxHeadBytes, maxFields: maxFields)
        let handler = gateway ? HTTP1DecodeHandler(decoder) : HTTP1DecodeHandler(nioDecoder())
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.pipeline.syncOperations.addHandler(recorder)
        for read in reads { try channel.writeInbound(ByteBuffer(bytes: Array(read.utf8))) }
        let handed = decoder.handedToNIO
        _ = try? channel.finish()
        return (recorder.parts, handed)
    }

    /// The parts up to the first error, and the error: after it the gateway closes the connection
    /// (how many later reads are reported as "data received in error state" depends on how the
    /// bytes were split between the decoder's calls).
    static func upToFirstError(_ parts: [String]) -> [String] {
        guard let error = parts.firstIndex(where: { $0.hasPrefix("error") }) else { return parts }
        return Array(parts[...error])
    }

    /// Both decoders agree on `reads`; returns whether the gateway's handed the connection on.
    @discardableResult
    static func agree(_ reads: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
        let ours = try decode(reads, gateway: true)
        let nio = try decode(reads, gateway: false)
        #expect(upToFirstError(ours.parts) == upToFirstError(nio.parts), "\(reads.joined().debugDescription)",
                sourceLocation: sourceLocation)
        #expect(!nio.parts.isEmpty, sourceLocation: sourceLocation)
        return ours.handedToNIO
    }

    /// `bytes` whole, one byte per read, and in reads of 7 bytes.
    static func splits(_ bytes: String) -> [[String]] {
        let characters = Array(bytes.utf8)
        func pieces(_ n: Int) -> [String] {
            stride(from: 0, to: characters.count, by: n).map {
                String(decoding: characters[$0..<min($0 + n, characters.count)], as: UTF8.self)
            }
        }
        return [[bytes], pieces(1), pieces(7)]
    }

    static let common: [String] = [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a/b?x=1&y=%20z HTTP/1.1\r\nHost: example.com\r\nUser-Agent: h2load nghttp2/1.52.0\r\nAccept: */*\r\n\r\n",
        "POST /items HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        "GET / HTTP/1.0\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-A: a \t b\r\nX-B:c\r\nX-C: \t  d\r\n\r\n",
        "PUT /x HTTP/1.1\r\nhOsT: a\r\nCONTENT-length: 2\r\n\r\nhi",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        "PATCH /p HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc",
        "DELETE /d HTTP/1.1\r\nHost: a\r\n\r\n",
        "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n",
        "OPTIONS /o HTTP/1.1\r\nHost: a\r\nOrigin: https://b\r\nAccess-Control-Request-Method: PUT\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nConnection: keep-alive, x-custom\r\nX-Custom: 1\r\n\r\n",
    ]

    @Test func theCommonRequestsAreParsedHereAndGiveWhatNIOGives() throws {
        for request in Self.common {
            for reads in Self.splits(request) {
                let handed = try Self.agree(reads)
                #expect(!handed, "handed to NIO: \(request.debugDescription)")
            }
        }
        // Pipelined, in one read and cut anywhere.
        let pipelined = Self.common[2] + Self.common[0] + Self.common[9] + Self.common[1]
        for reads in Self.splits(pipelined) {
            #expect(try !Self.agree(reads))
        }
    }

    /// A connection's next head with the same field lines takes the last head's fields over
    /// (`HeadFieldMemo`); whatever differs is parsed again: the parts stay NIO's on one
    /// connection sending the same, nearly the same, and different heads in turn.
    @Test func repeatedFieldLinesOnOneConnectionGiveWhatNIOGives() throws {
        let get = "GET /a HTTP/1.1\r\nHost: a\r\nUser-Agent: some client/1.0 (x)\r\nX-Api-Key: k1\r\n\r\n"
        let post5 = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        let post7 = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\nhello!!"
        let sequence = [
            get, get, get.replacingOccurrences(of: "/a", with: "/b"),
            get.replacingOccurrences(of: "k1", with: "k2"), get,
            post5, post5, post7, post5, get,
            // The same fields with one of them upgraded: NIO's from there on, and what follows too.
            "GET /a HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
        ]
        for n in 1...sequence.count {
            let reads = Array(sequence.prefix(n))
            let handed = try Self.agree(reads)
            #expect(handed == (n == sequence.count), "handed to NIO after \(n) heads")
            try Self.agree([reads.joined()])
        }
        // A request line ending in CRLF then a bare LF: the head ends before any field line.
        try Self.agree(["GET / HTTP/1.1\r\n\n"])
        try Self.agree([get, "GET / HTTP/1.1\r\n\n"])
        try Self.agree(["GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", get, "GET / HTTP/1.1\r\n\r\n"])
        // A head whose fields end in a bare LF after the same lines is not taken for the last one.
        try Self.agree([get, "GET /a HTTP/1.1\r\nHost: a\r\nUser-Agent: some client/1.0 (x)\r\nX-Api-Key: k1\r\n\n"])
        try Self.agree([get, "GET /a HTTP/1.1\r\nHost: a\r\nUser-Agent: some client/1.0 (x)\r\nX-Api-Key: k1\n\r\n"])
    }

    /// The digest the decoder hands on with a head (made from the fields it parsed, or kept with
    /// the fields it took over) is the one the head itself gives.
    @Test func theDigestHandedOnIsTheHeadsOwn() throws {
        let memo = HeadFieldMemo()
        let heads = Self.common.map { String($0[..<$0.range(of: "\r\n\r\n")!.upperBound]) } + [
            "GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: r-1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n",
            "GET /longer/target HTTP/1.1\r\nHost: a\r\nX-Request-Id: r-1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n",
        ]
        var parsed = 0
        for text in heads + heads.reversed() + heads {
            for _ in 0..<2 {
                let bytes = Array(text.utf8)
                let result = bytes.withUnsafeBufferPointer { HTTP1RequestDecoder.head($0, maxFields: Self.maxFields, memo: memo) }
                guard case .request(let head, _, _, let digest) = result else { continue }
                parsed += 1
                #expect(digest == HeadDigest(head), "\(text.debugDescription)")
            }
        }
        #expect(parsed >= 2 * 3 * Self.common.count)
    }

    /// Each common head with a CR or LF put in place of any one of its bytes, after the head
    /// itself on the same connection (so the memo holds its fields): nothing crashes, and the
    /// parts are NIO's.
    @Test func aLineBreakAnywhereAfterARememberedHeadGivesWhatNIOGives() throws {
        // Heads after which the connection stays open (after the others the gateway closes it).
        for request in Self.common where !request.contains("HTTP/1.0\r\nHost") && !request.contains("close") {
            let head = String(request[..<request.range(of: "\r\n\r\n")!.upperBound])
            let bytes = Array(head.utf8)
            for i in bytes.indices {
                for byte: UInt8 in [0x0D, 0x0A] where bytes[i] != byte {
                    var changed = bytes
                    changed[i] = byte
                    try Self.agree([head, String(decoding: changed, as: UTF8.self)])
                }
            }
        }
    }

    /// The memo matches the same bytes only: a change of any one byte, at any place, or of the
    /// length, is a miss.
    @Test func theMemoMatchesOnlyTheSameBytes() {
        let memo = HeadFieldMemo()
        let lines = Array("Host: a\r\nUser-Agent: some client/1.0\r\nX-Api-Key: gw_0123456789abcdef\r\n".utf8)
        lines.withUnsafeBufferPointer { memo.remember($0, fields: [("Host", "a")], contentLength: 3, digest: HeadDigest()) }
        let hit = lines.withUnsafeBufferPointer { memo.fields(matching: $0) }
        #expect(hit?.fields.first?.0 == "Host" && hit?.contentLength == 3)
        for i in lines.indices {
            var changed = lines
            changed[i] ^= 0x01
            #expect(changed.withUnsafeBufferPointer { memo.fields(matching: $0) } == nil, "byte \(i)")
        }
        #expect(Array(lines.dropLast()).withUnsafeBufferPointer { memo.fields(matching: $0) } == nil)
        #expect((lines + [0x41]).withUnsafeBufferPointer { memo.fields(matching: $0) } == nil)
        let target = Array("/items/1?key=abc".utf8)
        let first = target.withUnsafeBufferPointer { memo.target($0) }
        #expect(first == "/items/1?key=abc" && target.withUnsafeBufferPointer { memo.target($0) } == first)
        var other = target
        other[other.count - 1] = UInt8(ascii: "d")
        #expect(other.withUnsafeBufferPointer { memo.target($0) } == "/items/1?key=abd")
    }

    @Test func everyVisibleByteInATargetOrAValueAndEveryTokenByteInANameAgrees() throws {
        for byte in UInt8(0x21)...UInt8(0x7E) {
            let character = String(UnicodeScalar(byte))
            try Self.agree(["GET /a\(character)b HTTP/1.1\r\nHost: a\r\n\r\n"])
            try Self.agree(["GET / HTTP/1.1\r\nHost: a\r\nX-V: a\(character)b\r\n\r\n"])
            try Self.agree(["GET / HTTP/1.1\r\nHost: a\r\nX\(character)N: v\r\n\r\n"])
        }
    }

    @Test func anythingElseGoesToNIOsDecoderFromItsFirstByte() throws {
        let others: [String] = [
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "GET / HTTP/1.1\nHost: a\n\n",
            "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a \r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: caf\u{e9}\r\n\r\n",
            "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
            "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n",
            "FOO / HTTP/1.1\r\nHost: a\r\n\r\n",
            "get / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\nabc",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n" + (1...11).map { "X-\($0): v\r\n" }.joined() + "\r\n",
            "GET /\(String(repeating: "a", count: 1100)) HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX-Long: \(String(repeating: "b", count: 1100))\r\n\r\n",
            "\u{1}\u{2}\u{3}\r\n\r\n",
        ]
        for request in others {
            for reads in Self.splits(request) {
                let handed = try Self.agree(reads)
                #expect(handed, "parsed here: \(request.debugDescription)")
            }
        }
        // A common request, then one that is not: the first is parsed here, the rest by NIO's.
        try Self.agree([Self.common[0] + others[0] + Self.common[2]])
    }

    /// A head that is not the gateway decoder's is handed on as soon as a line of it shows it, not
    /// when its end comes: NIO's decoder reports its error at once, as it did alone.
    @Test func aBadLineIsReportedBeforeTheHeadEnds() throws {
        let unfinished: [[String]] = [
            ["FOO / HTTP/1.1\r\n"],
            ["POST", "X"],
            ["GET / HTTP/1.1\r\nBad Header\r\n"],
            ["GE", "T / HTTP/1.1\r\nHost: a\r\nX: \u{1}\r\n"],
            ["GET / HTTP/1.1\r\nHost: a\r\nX: v\nY: w"],
            ["GET / HTTP/1.1\r\nHost: a\r\n" + (1...11).map { "X-\($0): v\r\n" }.joined()],
        ]
        for reads in unfinished {
            let ours = try Self.decode(reads, gateway: true)
            let nio = try Self.decode(reads, gateway: false)
            #expect(ours.handedToNIO, "\(reads)")
            #expect(Self.upToFirstError(ours.parts) == Self.upToFirstError(nio.parts), "\(reads)")
        }
        // Lines that are the decoder's wait for the rest of the head.
        let waiting = try Self.decode(["GET / HTTP/1.1\r\nHost: a\r\n", "X-A: b\r\n"], gateway: true)
        #expect(!waiting.handedToNIO)
    }

    @Test func theConnectionEndingInsideAHeadOrABodyGivesNIOsErrors() throws {
        // Ended inside a body: llhttp's invalid-EOF error, after the bytes that came.
        try Self.agree(["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"])
        try Self.agree(["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"])
        // Ended inside a head, at the start and after a whole request.
        try Self.agree(["GET / HT"])
        try Self.agree(["GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHo"])
        // Ended between requests: no error.
        let clean = try Self.decode([Self.common[0]], gateway: true)
        #expect(clean.parts.last == "end ")
    }
}
