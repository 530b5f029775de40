@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@Suite struct UpstreamRequestEncoderTests {
    /// Every byte the encoder writes for these parts.
    func bytes(_ encoder: some ChannelHandler, _ parts: [HTTPClientRequestPart]) throws -> String {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(encoder)
        for part in parts { try channel.writeOutbound(part) }
        var out = ByteBuffer()
        while let chunk = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(var buffer) = chunk else { continue }
            out.writeBuffer(&buffer)
        }
        _ = try channel.finish()
        return String(buffer: out)
    }

    func body(_ text: String) -> HTTPClientRequestPart { .body(.byteBuffer(ByteBuffer(string: text))) }

    func head(_ method: HTTPMethod, _ headers: [(String, String)]) -> HTTPClientRequestPart {
        .head(HTTPRequestHead(version: .http1_1, method: method, uri: "/a/b?c=d%20e", headers: HTTPHeaders(headers)))
    }

    @Test func writesWhatNIOsEncoderWritesForEveryFraming() throws {
        let cases: [[HTTPClientRequestPart]] = [
            [head(.GET, [("host", "backend:80"), ("accept", "*/*"), ("x-request-id", "r1")]), .end(nil)],
            [head(.POST, [("host", "b"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked")]), body("hello"), .end(nil)],
            [head(.POST, [("host", "b")]), body("he"), body(""), body("llo world, a longer chunk"), .end(nil)],
            [head(.PUT, [("host", "b"), ("transfer-encoding", "chunked")]), body("x"), .end(HTTPHeaders([("x-checksum", "1")]))],
            [head(.TRACE, [("host", "b"), ("content-length", "3"), ("transfer-encoding", "chunked")]), .end(nil)],
            [head(.GET, [("host", "b"), ("Transfer-Encoding", "chunked")]), body("abc"), .end(nil)],
            [head(.DELETE, [("host", "b"), ("content-length", "2"), ("transfer-encoding", "gzip")]), body("{}"), .end(nil)],
            [head(.RAW(value: "PURGE"), [("host", "b"), ("ünïcode-value", "wert €")]), .end(nil)],
        ]
        for parts in cases {
            let ours = try bytes(UpstreamRequestEncoder(), parts)
            let nio = try bytes(HTTPRequestEncoder(), parts)
            #expect(ours == nio)
        }
    }

    @Test func aHeadIsOneWriteAndPromisesCompleteInOrder() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(UpstreamRequestEncoder())
        try channel.writeOutbound(head(.POST, [("host", "b")]))
        #expect(try channel.readOutbound(as: IOData.self) != nil)
        #expect(try channel.readOutbound(as: IOData.self) == nil)
        let chunk = channel.eventLoop.makePromise(of: Void.self), end = channel.eventLoop.makePromise(of: Void.self)
        channel.write(body("abc"), promise: chunk)
        channel.write(HTTPClientRequestPart.end(nil), promise: end)
        channel.flush()
        try chunk.futureResult.wait()
        try end.futureResult.wait()
        _ = try channel.finish()
    }
}
