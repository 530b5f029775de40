import Foundation
import GatewayCore
@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@Suite struct GatewayHandlerTests {
    func channel() throws -> EmbeddedChannel {
        let handler = GatewayHandler(shared: TestRuntime.shared(try TestRuntime.make()),
                                     connection: .init(scheme: "http", isHTTP2: false))
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    func head(_ method: HTTPMethod, _ uri: String, _ headers: [(String, String)] = []) -> HTTPServerRequestPart {
        .head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders([("host", "example.com")] + headers)))
    }

    /// Reads one complete response written by the handler.
    /// The response the handler wrote and flushed (an HTTP/1.1 response is flushed at the end of
    /// the loop's tick: the loop runs its tasks first).
    func response(_ channel: EmbeddedChannel) throws -> (HTTPResponseHead, String)? {
        channel.embeddedEventLoop.run()
        guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        var body = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case .body(.byteBuffer(let b)): body += String(buffer: b)
            case .end: return (head, body)
            default: break
            }
        }
        return (head, body)
    }

    @Test func unknownPathWithoutDefaultIs404JSON() throws {
        let channel = try channel()
        try channel.writeInbound(head(.GET, "/nowhere", [("x-request-id", "abc-123")]))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let (head, body) = try #require(try response(channel))
        #expect(head.status == .notFound)
        #expect(head.headers["content-type"] == ["application/json"])
        #expect(head.headers["x-request-id"] == ["abc-123"])
        #expect(body == #"{"message":"Not Found"}"#)
    }

    @Test func knownPathWrongMethodIs405WithAllow() throws {
        let channel = try channel()
        try channel.writeInbound(head(.DELETE, "/flights"))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let (head, body) = try #require(try response(channel))
        #expect(head.status == .methodNotAllowed)
        #expect(head.headers["allow"] == ["POST"])
        #expect(body.contains("Method Not Allowed"))
    }

    @Test func declaredBodyOverTheLimitIs413AndCloses() throws {
        let channel = try channel()
        try channel.writeInbound(head(.POST, "/flights", [("content-length", "1000")]))
        let (head, body) = try #require(try response(channel))
        #expect(head.status == .payloadTooLarge)
        #expect(head.headers["connection"] == ["close"])
        #expect(body == #"{"message":"Request Entity Too Large"}"#)
        #expect(!channel.isActive)
    }

    @Test func streamedBodyOverTheLimitIs413() throws {
        let channel = try channel()
        try channel.writeInbound(head(.POST, "/flights", [("transfer-encoding", "chunked")]))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: 0x41, count: 40)))
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: 0x41, count: 40)))
        let (head, _) = try #require(try response(channel))
        #expect(head.status == .payloadTooLarge)
    }

    @Test func generatesARequestIdWhenTheClientSentNone() throws {
        let channel = try channel()
        try channel.writeInbound(head(.GET, "/nowhere"))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let (head, _) = try #require(try response(channel))
        let id = try #require(head.headers.first(name: "x-request-id"))
        #expect(id.count == 32)
    }

    @Test func keepAliveServesASecondRequestOnTheSameChannel() throws {
        let channel = try channel()
        for _ in 0..<2 {
            try channel.writeInbound(head(.GET, "/nowhere"))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
            let (head, _) = try #require(try response(channel))
            #expect(head.status == .notFound)
        }
        #expect(channel.isActive)
    }
}

@Suite struct GatewayHandlerFunctionTests {
    func exchange(_ method: HTTPMethod, _ uri: String, body: String? = nil,
                  advanceClock: TimeAmount? = nil) async throws -> (HTTPResponseHead, String) {
        let handler = GatewayHandler(shared: TestRuntime.shared(try TestRuntime.make()),
                                     connection: .init(scheme: "https", isHTTP2: false))
        let channel = NIOAsyncTestingChannel()
        try await channel.pipeline.addHandler(handler)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1))
        var headers = HTTPHeaders([("host", "example.com")])
        if let body { headers.add(name: "content-type", value: "application/json"); headers.add(name: "content-length", value: "\(body.utf8.count)") }
        try await channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)))
        if let body { try await channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body))) }
        try await channel.writeInbound(HTTPServerRequestPart.end(nil))
        if let advanceClock {
            // The function sleeps for 30s; its 100ms timeout fires when the loop's clock moves.
            try await Task.sleep(for: .milliseconds(20))
            await channel.testingEventLoop.advanceTime(by: advanceClock)
        }
        guard case .head(let head) = try await channel.waitForOutboundWrite(as: HTTPServerResponsePart.self) else {
            throw TestFailure("no head")
        }
        var text = ""
        while true {
            let part = try await channel.waitForOutboundWrite(as: HTTPServerResponsePart.self)
            if case .body(.byteBuffer(let b)) = part { text += String(buffer: b) }
            if case .end = part { break }
        }
        _ = try? await channel.finish()
        return (head, text)
    }

    struct TestFailure: Error { var text: String; init(_ t: String) { text = t } }

    @Test func functionGetsDecodedPathParametersAndRouteKey() async throws {
        let (head, body) = try await exchange(.GET, "/echo/a%20b")
        #expect(head.status == .ok)
        #expect(head.headers["content-type"] == ["application/json"])
        let json = try JSONValue.parse(Data(body.utf8))
        #expect(json["pathParameters"]?["id"] == "a b")
        #expect(json["routeKey"] == "GET /echo/{id}")
    }

    @Test func throwingFunctionIs500() async throws {
        let (head, body) = try await exchange(.GET, "/boom")
        #expect(head.status == .internalServerError)
        #expect(body == #"{"message":"Internal server error"}"#)
    }

    @Test func functionPastItsTimeoutIs504() async throws {
        let (head, body) = try await exchange(.GET, "/slow", advanceClock: .milliseconds(150))
        #expect(head.status == .gatewayTimeout)
        #expect(body == #"{"message":"Endpoint request timed out"}"#)
    }
}
