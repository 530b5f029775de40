@testable import GatewayServer
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@Suite struct UpstreamResponseParserTests {
    /// Parts as text, a body's parts joined: "head 1.1 200 name=value ...", "body …", "end",
    /// "end name=value".
    static func describe(_ parts: [HTTPClientResponsePart]) -> [String] {
        var out: [String] = []
        for part in parts {
            switch part {
            case .head(let head):
                let fields = head.headers.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
                out.append("head \(head.version.major).\(head.version.minor) \(head.status.code) \(fields)")
            case .body(let body):
                if let last = out.last, last.hasPrefix("body ") {
                    out[out.count - 1] = last + String(buffer: body)
                } else {
                    out.append("body " + String(buffer: body))
                }
            case .end(let trailers):
                out.append((["end"] + (trailers ?? [:]).map { "\($0.name)=\($0.value)" }).joined(separator: " "))
            }
        }
        return out
    }

    /// The parser's parts, each head as NIO's type.
    static func describe(_ parts: [UpstreamResponsePart]) -> [String] {
        describe(parts.map { part -> HTTPClientResponsePart in
            switch part {
            case .head(let head): .head(head.head)
            case .body(let body): .body(body)
            case .end(let trailers): .end(trailers)
            }
        })
    }

    /// What the parser makes of `bytes` fed in pieces of `step` bytes (0: at once).
    static func ours(_ bytes: String, methods: [HTTPMethod], step: Int = 0, eof: Bool = false) throws -> [String] {
        var parser = UpstreamResponseParser()
        for method in methods { parser.requestSent(method: method) }
        var parts: [UpstreamResponsePart] = []
        var pending = ByteBuffer()
        let all = Array(bytes.utf8)
        var at = 0
        repeat {
            let end = step == 0 ? all.count : min(all.count, at + step)
            pending.writeBytes(all[at..<end])
            at = end
            while let part = try parser.next(&pending) { parts.append(part) }
        } while at < all.count
        if eof, let part = try parser.endOfInput(unparsed: pending.readableBytes) { parts.append(part) }
        return describe(parts)
    }

    /// What NIO's response decoder makes of `bytes`.
    static func nio(_ bytes: String, methods: [HTTPMethod], eof: Bool = false) throws -> [String] {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder()))
        for method in methods {
            try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: "/")))
        }
        try channel.writeInbound(ByteBuffer(string: bytes))
        if eof { channel.pipeline.fireChannelInactive() }
        var parts: [HTTPClientResponsePart] = []
        while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
            // NIO hands hop-by-hop fields on; the parser leaves them out (its own test below).
            if case .head(var head) = part {
                head.headers = HTTPHeaders(head.headers.filter { !HeaderRules.isHopByHop($0.name) }.map { ($0.name, $0.value) })
                parts.append(.head(head))
            } else {
                parts.append(part)
            }
        }
        _ = try? channel.finish()
        return describe(parts)
    }

    static let valid: [(String, [HTTPMethod], Bool)] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", [.GET], false),
        ("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", [.POST], false),
        ("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", [.GET], false),
        ("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", [.DELETE, .GET], false),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", [.HEAD, .GET], false),
        ("HTTP/1.1 304 Not Modified\r\nETag: \"v\"\r\nContent-Length: 10\r\n\r\n", [.GET], false),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", [.PUT], false),
        ("HTTP/1.1 200 OK\r\nServer: old\r\n\r\nuntil the end", [.GET], true),
        ("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", [.GET], false),
        ("HTTP/1.1 200 OK\r\nX-A: \t spaced\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n", [.GET], false),
        ("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", [.GET], false),
        ("HTTP/1.1 299\r\nContent-Length: 0\r\n\r\n", [.GET], false),
        ("\r\nHTTP/1.1 200 OK\r\nX-Unicode: wërt €\r\nContent-Length: 1\r\n\r\nx", [.GET], false),
    ]

    @Test func readsWhatNIOsDecoderReadsFedAtOnceOrInAnyPieces() throws {
        for (bytes, methods, eof) in Self.valid {
            let expected = try Self.nio(bytes, methods: methods, eof: eof)
            #expect(!expected.isEmpty)
            #expect(try Self.ours(bytes, methods: methods, eof: eof) == expected, "\(bytes.debugDescription)")
            for step in [1, 2, 3, 7] {
                #expect(try Self.ours(bytes, methods: methods, step: step, eof: eof) == expected, "\(bytes.debugDescription) in pieces of \(step)")
            }
        }
    }

    @Test func spacesAndTabsAroundAValueAreNotPartOfIt() throws {
        #expect(try Self.ours("HTTP/1.1 200 OK\r\nX-A: \t spaced \t\r\nContent-Length: 0\r\n\r\n", methods: [.GET])
            == ["head 1.1 200 X-A=spaced Content-Length=0", "end"])
    }

    @Test func hopByHopFieldsAndThoseConnectionNamesAreNotHandedOn() throws {
        #expect(try Self.ours("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
                              + "TE: trailers\r\nUpgrade: h2c\r\nProxy-Authenticate: x\r\nTrailer: x\r\nAccept-Ranges: bytes\r\n"
                              + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", methods: [.GET])
            == ["head 1.1 200 Accept-Ranges=bytes", "end"])
        // A Connection header after the field it names, and a second one; a block without any
        // is handed on as it came.
        #expect(try Self.ours("HTTP/1.1 200 OK\r\nX-Secret: 1\r\nConnection: close, Keep-Alive\r\nConnection:  x-secret \r\n"
                              + "Content-Length: 0\r\n\r\n", methods: [.GET])
            == ["head 1.1 200 Content-Length=0", "end"])
        #expect(try Self.ours("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: x\r\nContent-Length: 0\r\n\r\n", methods: [.GET])
            == ["head 1.1 200 Content-Type=text/plain ETag=x Content-Length=0", "end"])
    }

    /// The head handed on keeps its fields as `name: value` lines (the name as sent, the value
    /// trimmed, CRLF), with what the HTTP/1 encoder needs to write them as they are.
    @Test func theHeadKeepsTheForwardedFieldsAsNormalisedLines() throws {
        func head(_ bytes: String, method: HTTPMethod = .GET) throws -> UpstreamResponseHead? {
            var parser = UpstreamResponseParser()
            parser.requestSent(method: method)
            var buffer = ByteBuffer(string: bytes)
            guard case .head(let head)? = try parser.next(&buffer) else { return nil }
            return head
        }
        let first = try #require(try head("HTTP/1.1 200 OK\r\nX-A:b\nX-B: \t c  d \t\r\nContent-Length: 2\r\n"
                                          + "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nx-request-id: up\r\n\r\nok"))
        #expect(String(buffer: first.fields) == "X-A: b\r\nX-B: c  d\r\nContent-Length: 2\r\nx-request-id: up\r\n")
        #expect(first.contentLength == 2)
        #expect(first.hasGatewayFieldNames)
        #expect(first.head.headers.map { "\($0.name)=\($0.value)" } == ["X-A=b", "X-B=c  d", "Content-Length=2", "x-request-id=up"])

        let chunked = try #require(try head("HTTP/1.1 201 Created\r\nETag: \"x\"\r\nTransfer-Encoding: chunked\r\n\r\n"))
        #expect(String(buffer: chunked.fields) == "ETag: \"x\"\r\n")
        #expect(chunked.contentLength == nil)
        #expect(!chunked.hasGatewayFieldNames)
        #expect(chunked.status == .created)

        for name in ["RateLimit", "ratelimit-policy", "X-Request-ID"] {
            #expect(try head("HTTP/1.1 200 OK\r\n\(name): 1\r\nContent-Length: 0\r\n\r\n")?.hasGatewayFieldNames == true, "\(name)")
        }
        let none = try #require(try head("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
        #expect(none.fields.readableBytes == 0)
        #expect(none.head.headers.isEmpty)
        // A server must not send Content-Length with 204 (RFC 9110 §8.6): one an upstream sent
        // is not handed on (over HTTP/2, NIOHTTP2 refuses a 204 head that has one).
        let noContent = try #require(try head("HTTP/1.1 204 No Content\r\nX-A: 1\r\nContent-Length: 10\r\nX-B: 2\r\n\r\n"))
        #expect(String(buffer: noContent.fields) == "X-A: 1\r\nX-B: 2\r\n")
        #expect(noContent.contentLength == nil)
    }

    /// Lines that already read `name: value\r\n` one after another are handed on as the bytes
    /// that came (a slice of the read buffer); a dropped line between kept ones, other spacing or
    /// a bare LF makes a copy. Either way the fields are the same normalised lines, whether the
    /// head came at once or in pieces, and stay so when the buffer they came in is reused.
    @Test func theForwardedFieldsAreTheSameLinesWhereverTheyComeFrom() throws {
        let cases: [(fields: String, expected: String)] = [
            ("A: 1\r\nB: 2\r\nContent-Length: 0\r\n", "A: 1\r\nB: 2\r\nContent-Length: 0\r\n"),
            ("A: 1\r\nContent-Length: 0\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n",
             "A: 1\r\nContent-Length: 0\r\n"),
            ("Connection: keep-alive\r\nA: 1\r\nContent-Length: 0\r\n", "A: 1\r\nContent-Length: 0\r\n"),
            ("A: 1\r\nConnection: keep-alive\r\nB: 2\r\nContent-Length: 0\r\nKeep-Alive: x\r\nC: 3\r\n",
             "A: 1\r\nB: 2\r\nContent-Length: 0\r\nC: 3\r\n"),
            ("A: 1\r\nB:2\r\nC: 3\r\nContent-Length: 0\r\n", "A: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n"),
            ("A: 1 \r\nB: 2\nC:\t3\r\nD: \r\nContent-Length: 0\r\n",
             "A: 1\r\nB: 2\r\nC: 3\r\nD: \r\nContent-Length: 0\r\n"),
            ("Connection: x-b\r\nA: 1\r\nX-B: 2\r\nC: 3\r\nContent-Length: 0\r\n", "A: 1\r\nC: 3\r\nContent-Length: 0\r\n"),
            ("Connection: close\r\n", ""),
        ]
        for (fields, expected) in cases {
            // 304: no body (the next answer follows at once), and its Content-Length is kept.
            let bytes = Array("HTTP/1.1 304 Not Modified\r\n\(fields)\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)
            for step in [0, 1, 5] {
                var parser = UpstreamResponseParser()
                parser.requestSent(method: .GET)
                parser.requestSent(method: .GET)
                var buffer = ByteBuffer()
                var heads: [UpstreamResponseHead] = []
                var at = 0
                repeat {
                    let end = step == 0 ? bytes.count : min(bytes.count, at + step)
                    buffer.writeBytes(bytes[at..<end])
                    at = end
                    while let part = try parser.next(&buffer) {
                        if case .head(let head) = part { heads.append(head) }
                    }
                } while at < bytes.count
                #expect(heads.count == 2)
                let first = try #require(heads.first)
                // The buffer the head came in is used again (as a connection's reads do).
                buffer.clear()
                buffer.writeString(String(repeating: "x", count: bytes.count))
                #expect(String(buffer: first.fields) == expected, "\(fields.debugDescription) in pieces of \(step)")
                #expect(first.contentLength == (fields.contains("Content-Length") ? 0 : nil))
            }
        }
    }

    @Test func linesMayEndInABareLF() throws {
        #expect(try Self.ours("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", methods: [.GET])
            == ["head 1.1 200 Content-Length=2", "body ok", "end"])
        #expect(try Self.ours("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\n0\n\n", methods: [.GET], step: 1)
            == ["head 1.1 200 ", "body ok", "end"])
    }

    static let malformed: [(String, String)] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "both framings"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "two lengths"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", "a repeated length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", "a length that is not a number"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "a negative length"),
        ("HTTP/1.1 200 OK\r\nX-A: b\r\n folded\r\n\r\n", "a folded line"),
        ("HTTP/1.1 200 OK\r\nX A: b\r\n\r\n", "a space in a name"),
        ("HTTP/1.1 200 OK\r\nX-Ünïcode: b\r\n\r\n", "a name that is not a token"),
        ("HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n", "a space before the colon"),
        ("HTTP/1.1 200 OK\r\nX-A: b\u{1}c\r\n\r\n", "a control byte in a value"),
        ("HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n", "a bare CR"),
        ("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "a line without a colon"),
        ("HTTP/2 200\r\n\r\n", "another version"),
        ("HTTX/1.1 200 OK\r\n\r\n", "not HTTP"),
        ("HTTP/1.1 20 OK\r\n\r\n", "a two-digit status"),
        ("HTTP/1.1 099 Low\r\n\r\n", "a status below 100"),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "an upgrade"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a chunk size that is not hex"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n", "a chunk size too large"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n", "junk after a chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n", "a chunk longer than its size"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n", "a second answer to one request"),
    ]

    @Test func malformedResponsesAreErrorsAndNothingFollowsThem() throws {
        for (bytes, what) in Self.malformed {
            for step in [0, 1] {
                #expect(throws: UpstreamResponseParser.Failure.self, "\(what), pieces of \(step)") {
                    _ = try Self.ours(bytes, methods: [.GET], step: step)
                }
            }
        }
        var parser = UpstreamResponseParser()
        parser.requestSent(method: .GET)
        var bad = ByteBuffer(string: "HTTP/1.1 200 OK\r\nX A: b\r\n\r\n")
        #expect(throws: UpstreamResponseParser.Failure.self) { _ = try parser.next(&bad) }
        var good = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(throws: UpstreamResponseParser.Failure.self) { _ = try parser.next(&good) }
    }

    @Test func aHeadTooLargeIsAnErrorBeforeItEnds() throws {
        let huge = "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: UpstreamResponseParser.maxHeadSize)
        #expect(throws: UpstreamResponseParser.Failure.self) { _ = try Self.ours(huge, methods: [.GET]) }
        #expect(throws: UpstreamResponseParser.Failure.self) { _ = try Self.ours(huge, methods: [.GET], step: 4096) }
    }

    @Test func theCloseEndsABodyReadUntilItAndNothingElse() throws {
        #expect(try Self.ours("HTTP/1.1 200 OK\r\n\r\nabc", methods: [.GET], step: 1, eof: true)
            == ["head 1.1 200 ", "body abc", "end"])
        #expect(try Self.ours("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", methods: [.GET], eof: true)
            == ["head 1.1 200 Content-Length=1", "body x", "end"], "closed between responses")
        for cut in ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe",
                    "HTTP/1.1 200 OK\r\nContent-"] {
            #expect(throws: UpstreamResponseParser.Failure.self, "\(cut.debugDescription)") {
                _ = try Self.ours(cut, methods: [.GET], eof: true)
            }
        }
    }

    @Test func theConnectionIsKeptForHTTP11UnlessClosedAndForHTTP10OnlyWhenAsked() throws {
        let cases: [(String, Bool)] = [
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\n\r\nread until the close", false),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: x-other\r\n\r\n0\r\n\r\n", true),
        ]
        for (bytes, kept) in cases {
            var parser = UpstreamResponseParser()
            parser.requestSent(method: .GET)
            var buffer = ByteBuffer(string: bytes)
            guard case .head? = try parser.next(&buffer) else {
                Issue.record("no head in \(bytes.debugDescription)")
                continue
            }
            #expect(parser.keepAlive == kept, "\(bytes.debugDescription)")
        }
    }

    @Test func aResponseToNoRequestIsAnError() throws {
        #expect(throws: UpstreamResponseParser.Failure.self) {
            _ = try Self.ours("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", methods: [])
        }
        // Requests answered one after the other on a kept-alive connection.
        var parser = UpstreamResponseParser()
        for round in 0..<3 {
            parser.requestSent(method: round == 1 ? .HEAD : .GET)
            var bytes = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" + (round == 1 ? "" : "ok"))
            var parts: [UpstreamResponsePart] = []
            while let part = try parser.next(&bytes) { parts.append(part) }
            #expect(Self.describe(parts) == ["head 1.1 200 Content-Length=2"] + (round == 1 ? [] : ["body ok"]) + ["end"])
        }
    }

    // MARK: the connection's memo of the last head

    /// What a parser makes of `bytes`, one response to a GET, with `memo` (nil: none): its parts
    /// described (a head's forwarded lines, Content-Length and gateway names with it), then the
    /// connection's keep-alive and the bytes left; or the error.
    static func outcome(_ bytes: [UInt8], memo: ResponseHeadMemo?) -> String {
        var parser = UpstreamResponseParser()
        parser.requestSent(method: .GET)
        var buffer = ByteBuffer(bytes: bytes)
        var out: [String] = []
        do {
            while let part = try parser.next(&buffer, memo: memo) {
                switch part {
                case .head(let head):
                    out.append("head \(head.version) \(head.status.code) [\(String(buffer: head.fields))] "
                               + "\(head.contentLength.map { String($0) } ?? "-") \(head.hasGatewayFieldNames)")
                case .body(let body): out.append("body \(String(buffer: body))")
                case .end(let trailers): out.append("end \(trailers.map { "\($0)" } ?? "")")
                }
            }
            out.append("keepAlive \(parser.keepAlive) left \(buffer.readableBytes)")
        } catch {
            out.append("error \(error)")
        }
        return out.joined(separator: " | ")
    }

    static let memoBase = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 05 Dec 2026 21:36:56 GMT\r\n"
        + "Content-Type: application/json\r\nContent-Length: 10\r\nConnection: keep-alive\r\n\r\n0123456789"

    /// Heads one after another on one connection give with its memo what each gives alone:
    /// the same head, one line changed, fewer and more lines, other framing, heads over the
    /// memo's limits, and the first head again after each.
    @Test func headsReadWithTheMemoGiveWhatTheyGiveAlone() {
        let base = Self.memoBase
        let long = (0..<40).map { "X-Field-\($0): \($0)\r\n" }.joined()
        let large = "X-Large: " + String(repeating: "v", count: 2000) + "\r\n"
        let heads: [String] = [
            base, base,
            base.replacingOccurrences(of: "21:36:56", with: "21:36:57"),
            base.replacingOccurrences(of: "Content-Length: 10\r\n", with: ""),
            base.replacingOccurrences(of: "Connection: keep-alive\r\n", with: "Connection: keep-alive\r\nSet-Cookie: s=1\r\n"),
            base.replacingOccurrences(of: "Connection: keep-alive", with: "Connection: close"),
            base.replacingOccurrences(of: "Connection: keep-alive", with: "Connection: X-Secret\r\nX-Secret: 1"),
            base.replacingOccurrences(of: "Connection: keep-alive\r\n", with: "X-Secret: 1\r\nConnection: X-Secret\r\n"),
            base.replacingOccurrences(of: "Content-Length: 10", with: "Content-Length: 4"),
            base.replacingOccurrences(of: "Content-Length: 10", with: "Content-Length: 10\r\nContent-Length: 10"),
            base.replacingOccurrences(of: "Content-Length: 10", with: "Transfer-Encoding: chunked").replacingOccurrences(of: "0123456789", with: "3\r\nabc\r\n0\r\n\r\n"),
            base.replacingOccurrences(of: "Content-Length: 10", with: "Transfer-Encoding: gzip"),
            base.replacingOccurrences(of: "\r\n", with: "\n"),
            base.replacingOccurrences(of: "Server: nginx", with: "Server:nginx"),
            base.replacingOccurrences(of: "HTTP/1.1 200 OK", with: "HTTP/1.0 200 OK"),
            base.replacingOccurrences(of: "HTTP/1.1 200 OK", with: "HTTP/1.1 404 Not Found"),
            base.replacingOccurrences(of: "HTTP/1.1 200 OK\r\n", with: "HTTP/1.1 200 OK\r\nx-request-id: up\r\n"),
            base.replacingOccurrences(of: "Connection: keep-alive\r\n", with: long),
            base.replacingOccurrences(of: "Connection: keep-alive\r\n", with: large),
            base.replacingOccurrences(of: "Server: nginx/1.22.1\r\n", with: "Server: nginx/1.22.1\r\n Folded\r\n"),
            "HTTP/1.1 200 OK\r\n\r\n",
        ]
        let memo = ResponseHeadMemo()
        for head in heads {
            let bytes = Array(head.utf8)
            let alone = Self.outcome(bytes, memo: nil)
            #expect(Self.outcome(bytes, memo: memo) == alone, "\(head.debugDescription)")
            #expect(Self.outcome(bytes, memo: memo) == alone, "again: \(head.debugDescription)")
            let first = Array(base.utf8)
            #expect(Self.outcome(first, memo: memo) == Self.outcome(first, memo: nil), "the first head after \(head.debugDescription)")
        }
    }

    /// Every byte of a head replaced in turn by one that matters to the parser, after the memo
    /// holds the head itself: what the changed head gives with the memo is what it gives alone
    /// (a memo that took over a line not compared whole fails this).
    @Test func aHeadThatDiffersInOneByteIsReadAsItself() {
        let base = Array(Self.memoBase.utf8)
        let memo = ResponseHeadMemo()
        let headEnd = Self.memoBase.utf8.count - 10
        for index in 0..<headEnd {
            for byte: UInt8 in [0x0D, 0x0A, 0x3A, 0x20, 0x09, 0x58, 0x00, 0x7F, 0x31] where byte != base[index] {
                var changed = base
                changed[index] = byte
                _ = Self.outcome(base, memo: memo)
                let alone = Self.outcome(changed, memo: nil)
                #expect(Self.outcome(changed, memo: memo) == alone, "byte \(index) as \(byte)")
                #expect(Self.outcome(changed, memo: memo) == alone, "byte \(index) as \(byte), again")
            }
        }
    }

    @Test func theMemosComparisonSeesEveryByte() {
        for count in 0...24 {
            let a = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            a.withUnsafeBytes { x in
                #expect(ResponseHeadMemo.equal(x.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, x.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, count: count))
            }
            for index in 0..<count {
                var b = a
                b[index] ^= 0x20
                a.withUnsafeBytes { x in
                    b.withUnsafeBytes { y in
                        #expect(!ResponseHeadMemo.equal(x.baseAddress!, y.baseAddress!, count: count), "length \(count), byte \(index)")
                    }
                }
            }
        }
    }
}
