@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@Suite struct HTTP1ResponseEncoderTests {
    /// Every byte written for these parts, and how many body writes failed.
    func bytes(_ encoder: some ChannelHandler, _ parts: [HTTPServerResponsePart],
               before: (() -> Void)? = nil) throws -> (String, failed: Int) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(encoder)
        before?()
        var failed = 0
        for part in parts {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenFailure { _ in failed += 1 }
            channel.writeAndFlush(part, promise: promise)
        }
        var out = ByteBuffer()
        while let chunk = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(var buffer) = chunk else { continue }
            out.writeBuffer(&buffer)
        }
        _ = try channel.finish()
        return (String(buffer: out), failed)
    }

    func head(_ status: HTTPResponseStatus, _ headers: [(String, String)], version: HTTPVersion = .http1_1) -> HTTPServerResponsePart {
        .head(HTTPResponseHead(version: version, status: status, headers: HTTPHeaders(headers)))
    }

    func body(_ text: String) -> HTTPServerResponsePart { .body(.byteBuffer(ByteBuffer(string: text))) }

    @Test func writesWhatNIOsEncoderWritesForEveryStatusAndFraming() throws {
        let cases: [[HTTPServerResponsePart]] = [
            [head(.ok, [("content-type", "application/json"), ("Content-Length", "11"), ("x-request-id", "r")]),
             body(#"{"ok":true}"#), .end(nil)],
            [head(.ok, [("server", "x")]), body("abc"), body(""), body("defghijklmnopqrstuvwxyz"), .end(nil)],
            [head(.created, [("transfer-encoding", "chunked")]), body("x"), .end(HTTPHeaders([("x-digest", "1")]))],
            [head(.ok, [("content-length", "2"), ("transfer-encoding", "chunked")]), body("ok"), .end(nil)],
            [head(.noContent, [("content-length", "0"), ("x-a", "b")]), .end(nil)],
            [head(.notModified, [("transfer-encoding", "chunked"), ("etag", "\"v\"")]), .end(nil)],
            [head(.continue, []), head(.ok, [("content-length", "1")]), body("z"), .end(nil)],
            [head(.ok, [("x", "y")], version: .http1_0), body("old"), .end(nil)],
            [head(.custom(code: 299, reasonPhrase: "Whatever"), [("content-length", "0")]), .end(nil)],
            [head(.init(statusCode: 418), [("ünïcode", "wert €"), ("content-length", "0")]), .end(nil)],
        ]
        for parts in cases {
            let ours = try bytes(HTTP1ResponseEncoder(), parts)
            let nio = try bytes(HTTPResponseEncoder(), parts)
            #expect(ours.0 == nio.0)
            #expect(ours.failed == 0)
        }
    }

    @Test func answersToHeadKeepTheirFramingButNoBodyAndConnectHasNeither() throws {
        let head5 = try bytes(HTTP1ResponseEncoder(), [head(.ok, [("content-length", "5")]), body("hello"), .end(nil)]) {}
        #expect(head5.0.contains("hello"))

        var encoder = HTTP1ResponseEncoder()
        let suppressed = try bytes(encoder, [head(.ok, [("content-length", "5")]), body("hello"), .end(nil)]) { encoder.record(.HEAD) }
        #expect(suppressed.0 == "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
        #expect(suppressed.failed == 1)

        encoder = HTTP1ResponseEncoder()
        let chunkedHead = try bytes(encoder, [head(.ok, []), body("x"), .end(nil)]) { encoder.record(.HEAD) }
        #expect(chunkedHead.0 == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "no last chunk after a HEAD answer")

        encoder = HTTP1ResponseEncoder()
        let connect = try bytes(encoder, [head(.ok, [("content-length", "5")]), .end(nil)]) { encoder.record(.CONNECT) }
        #expect(connect.0 == "HTTP/1.1 200 OK\r\n\r\n")
    }

    @Test func pipelinedAnswersFollowTheirRequestsAndA100DoesNotConsumeOne() throws {
        let encoder = HTTP1ResponseEncoder()
        let out = try bytes(encoder, [
            head(.continue, []),
            head(.ok, [("content-length", "2")]), body("g1"), .end(nil),
            head(.ok, [("content-length", "2")]), body("h1"), .end(nil),
            head(.ok, [("content-length", "2")]), body("g2"), .end(nil),
        ]) {
            encoder.record(.GET)
            encoder.record(.HEAD)
            encoder.record(.GET)
        }
        #expect(out.0.contains("g1") && !out.0.contains("h1") && out.0.contains("g2"))
        #expect(out.failed == 1)
    }

    /// The buffers written for `parts` handed to the encoder directly, as `GatewayHandler` does,
    /// then flushed; `flushAfter`: the index after which the handler flushes (a read ended).
    func writes(_ parts: [HTTPServerResponsePart], promises: Bool = false, flushAfter: Int? = nil) throws -> (buffers: [String], completed: Int) {
        let channel = EmbeddedChannel()
        let encoder = HTTP1ResponseEncoder()
        try channel.pipeline.syncOperations.addHandler(encoder)
        let context = try channel.pipeline.syncOperations.context(handler: encoder)
        var completed = 0
        for (index, part) in parts.enumerated() {
            let promise = promises ? channel.eventLoop.makePromise(of: Void.self) : nil
            promise?.futureResult.whenSuccess { completed += 1 }
            encoder.write(part, context: context, promise: promise)
            if index == flushAfter {
                encoder.writePending(context: context)
                context.flush()
            }
        }
        channel.flush()
        var out: [String] = []
        while let chunk = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = chunk, buffer.readableBytes > 0 else { continue }
            out.append(String(buffer: buffer))
        }
        _ = try channel.finish()
        return (out, completed)
    }

    @Test func aSmallBodyGoesOutInItsHeadsBuffer() throws {
        let parts = [head(.ok, [("content-length", "5")]), body("he"), body("llo"), .end(nil)]
        let one = try writes(parts, promises: true)
        #expect(one.buffers == ["HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"])
        #expect(one.completed == 4, "every part's promise completes with the write")

        // A read ended after the first part of the body: what came so far goes at once.
        let split = try writes(parts, flushAfter: 1)
        #expect(split.buffers == ["HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhe", "llo"])
    }

    @Test func otherBodiesAreWrittenAfterTheirHead() throws {
        let big = String(repeating: "x", count: HTTP1ResponseEncoder.mergedBodyLimit + 1)
        let large = try writes([head(.ok, [("content-length", "\(big.utf8.count)")]), body(big), .end(nil)])
        #expect(large.buffers.count == 2 && large.buffers[1] == big)

        let chunked = try writes([head(.ok, []), body("abc"), .end(nil)])
        #expect(chunked.buffers == ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "3\r\n", "abc", "\r\n", "0\r\n\r\n"])

        // Two Content-Length fields: neither is trusted for the merge (the encoder still writes
        // what it is given).
        let twice = try writes([head(.ok, [("content-length", "3"), ("content-length", "3")]), body("abc"), .end(nil)])
        #expect(twice.buffers.count == 2 && twice.buffers[1] == "abc")

        // A body longer than its Content-Length says is not squeezed into the head's room.
        let over = try writes([head(.ok, [("content-length", "2")]), body("abc"), .end(nil)])
        #expect(over.buffers == ["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", "abc"])
    }

    @Test func contentLengthValuesAreReadAsPlainDecimals() {
        #expect(HeaderRules.contentLength("12") == 12)
        #expect(HeaderRules.contentLength("0012") == 12)
        #expect(HeaderRules.contentLength("0") == 0)
        #expect(HeaderRules.contentLength("") == nil)
        #expect(HeaderRules.contentLength("1a") == nil)
        #expect(HeaderRules.contentLength(" 1") == nil)
        #expect(HeaderRules.contentLength("123456789012345678") == 123456789012345678)
        #expect(HeaderRules.contentLength("1234567890123456789") == nil, "19 digits could overflow")
    }

    /// A forwarded head (fields as bytes, the gateway's appended) is written byte for byte as the
    /// same head made `HTTPHeaders` with the gateway's fields added would be.
    @Test func aForwardedHeadIsWrittenAsTheDecoratedHeadWouldBe() throws {
        let appended = ResponseDecorator.Appended(
            requestId: "req-1",
            rateLimit: RateLimitFields(plan: "basic", policy: "\"basic\";q=3", first: .init(quota: false, remaining: 2, reset: 1),
                                       second: .init(quota: true, remaining: 40, reset: 86_400)))
        let big = String(repeating: "b", count: HTTP1ResponseEncoder.mergedBodyLimit + 10)
        let cases: [(status: HTTPResponseStatus, fields: [(String, String)], method: HTTPMethod, version: HTTPVersion, body: [String])] = [
            (.ok, [("Content-Length", "11"), ("content-type", "application/json")], .GET, .http1_1, [#"{"ok":true}"#]),
            (.ok, [("server", "x")], .GET, .http1_1, ["abc", "def"]),
            (.ok, [("Content-Length", "5")], .HEAD, .http1_1, []),
            (.ok, [("server", "x")], .HEAD, .http1_1, []),
            (.ok, [("x", "y")], .GET, .http1_0, ["old"]),
            (.noContent, [("etag", "\"e\"")], .DELETE, .http1_1, []),
            (.notModified, [], .GET, .http1_1, []),
            (.ok, [("content-length", "\(big.utf8.count)")], .GET, .http1_1, [big]),
            (.created, [("Location", "/a/1"), ("content-length", "0"), ("ünïcode", "wert €")], .POST, .http1_1, []),
        ]
        for item in cases {
            let parts = item.body.map { body($0) } + [.end(nil)]
            var fields = ByteBuffer()
            for (name, value) in item.fields { fields.writeString("\(name): \(value)\r\n") }
            let length = item.fields.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) }
            let forwarded = UpstreamResponseHead(version: .http1_1, status: item.status, fields: fields, contentLength: length,
                                                 hasGatewayFieldNames: false)
            let channel = EmbeddedChannel()
            let direct = HTTP1ResponseEncoder()
            try channel.pipeline.syncOperations.addHandler(direct)
            direct.record(item.method)
            #expect(direct.canWrite(forwarded: forwarded))
            let context = try channel.pipeline.syncOperations.context(handler: direct)
            direct.write(forwarded: forwarded, version: item.version, appending: appended, context: context)
            for part in parts { channel.write(part, promise: nil) }
            channel.flush()
            var out = ByteBuffer()
            while let chunk = try channel.readOutbound(as: IOData.self) {
                guard case .byteBuffer(var buffer) = chunk else { continue }
                out.writeBuffer(&buffer)
            }
            _ = try channel.finish()

            var decorated = HTTPHeaders(item.fields)
            decorated.add(name: "x-request-id", value: "req-1")
            for (name, value) in appended.rateLimit!.pairs { decorated.add(name: name, value: value) }
            let reference = HTTP1ResponseEncoder()
            let expected = try bytes(reference, [.head(HTTPResponseHead(version: item.version, status: item.status, headers: decorated))] + parts) {
                reference.record(item.method)
            }
            #expect(String(buffer: out) == expected.0, "\(item.status) \(item.method) \(item.version)")
        }
        // Framing that would remove a field is left to the `HTTPHeaders` path.
        let noContent = UpstreamResponseHead(version: .http1_1, status: .noContent, fields: ByteBuffer(string: "content-length: 0\r\n"),
                                             contentLength: 0, hasGatewayFieldNames: false)
        #expect(!HTTP1ResponseEncoder().canWrite(forwarded: noContent))
        let connect = HTTP1ResponseEncoder()
        connect.record(.CONNECT)
        #expect(!connect.canWrite(forwarded: UpstreamResponseHead(version: .http1_1, status: .ok, fields: ByteBuffer(),
                                                                 contentLength: nil, hasGatewayFieldNames: false)))
    }
}
