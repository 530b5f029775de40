@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@Suite struct HTTP1DecodeHandlerTests {
    /// Records what reaches the end of the pipeline; on the first request head it can feed more
    /// bytes into the pipeline from the start, as a handler reading again synchronously would.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var parts: [String] = []
        var errors: [any Error] = []
        var reenter: ByteBuffer?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): parts.append("head \(head.method) \(head.uri)")
            case .body(let body): parts.append("body \(String(buffer: body))")
            case .end: parts.append("end")
            }
            if let bytes = reenter {
                reenter = nil
                context.pipeline.fireChannelRead(NIOAny(bytes))
                parts.append("(re-entered)")
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            errors.append(error)
        }
    }

    func channel(_ recorder: Recorder) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP1DecodeHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try channel.pipeline.syncOperations.addHandler(recorder)
        return channel
    }

    @Test func aHeadCutBetweenReadsIsDecodedOnceWhole() throws {
        let recorder = Recorder()
        let channel = try channel(recorder)
        for piece in ["GET /a HT", "TP/1.1\r\nHost: x\r\nX-Lo", "ng: value\r\n", "\r\nPOST /b HTTP/1.1\r\ncontent-length: 3\r\n\r\nab", "c"] {
            try channel.writeInbound(ByteBuffer(string: piece))
        }
        #expect(recorder.parts == ["head GET /a", "end", "head POST /b", "body ab", "body c", "end"])
        #expect(recorder.errors.isEmpty)
        _ = try channel.finish()
    }

    @Test func aReadArrivingWhileTheDecoderRunsWaitsForIt() throws {
        let recorder = Recorder()
        recorder.reenter = ByteBuffer(string: "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
        let channel = try channel(recorder)
        try channel.writeInbound(ByteBuffer(string: "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"))
        // The second request is decoded after the first one's read returned, not inside it.
        #expect(recorder.parts == ["head GET /first", "(re-entered)", "end", "head GET /second", "end"])
        _ = try channel.finish()
    }

    @Test func afterAParseErrorNothingMoreIsDecoded() throws {
        let recorder = Recorder()
        let channel = try channel(recorder)
        try? channel.writeInbound(ByteBuffer(string: "GET /a HTTP/1.1\r\nBad Header\r\n\r\n"))
        try? channel.writeInbound(ByteBuffer(string: "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(recorder.parts.isEmpty)
        #expect(recorder.errors.first is HTTPParserError)
        #expect(recorder.errors.count == 2)
        if case .dataReceivedInErrorState(_, let data) = recorder.errors.last as? ByteToMessageDecoderError {
            #expect(String(buffer: data).hasPrefix("GET /b"))
        } else {
            Issue.record("the second read is reported as data received in the error state: \(recorder.errors)")
        }
        _ = try? channel.finish()
    }
}
