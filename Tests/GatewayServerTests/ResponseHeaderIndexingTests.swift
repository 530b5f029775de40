@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@Suite struct ResponseHeaderIndexingTests {
    func written(_ payload: HTTP2Frame.FramePayload) throws -> HTTP2Frame.FramePayload? {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ResponseHeaderIndexing())
        try channel.writeOutbound(payload)
        defer { _ = try? channel.finish() }
        return try channel.readOutbound(as: HTTP2Frame.FramePayload.self)
    }

    @Test func singleUseFieldsAreNotIndexedAndTheRestAreLeftAsTheyWere() throws {
        let headers = HPACKHeaders([(":status", "200"), ("content-type", "application/json"), ("x-request-id", "r-1"),
                                    ("ratelimit", #""gold";r=9;t=1"#), ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                                    ("ratelimit-policy", #""gold";q=10;w=1"#)])
        guard case .headers(let out)? = try written(.headers(.init(headers: headers, endStream: false))) else {
            Issue.record("no HEADERS frame written")
            return
        }
        let indexing = Dictionary(uniqueKeysWithValues: out.headers.map { ($0.name, $0.indexable) })
        #expect(indexing["x-request-id"] == .nonIndexable)
        #expect(indexing["ratelimit"] == .nonIndexable)
        #expect(indexing["traceparent"] == .nonIndexable)
        #expect(indexing["content-type"] == .indexable)
        #expect(indexing["ratelimit-policy"] == .indexable)
        #expect(indexing[":status"] == .indexable)
        #expect(out.headers.map(\.name) == headers.map(\.name) && out.headers.map(\.value) == headers.map(\.value))
        #expect(!out.endStream)
    }

    @Test func otherFramesAndNeverIndexedFieldsPassUnchanged() throws {
        var secret = HPACKHeaders()
        secret.add(name: "x-request-id", value: "r-2", indexing: .neverIndexed)
        guard case .headers(let out)? = try written(.headers(.init(headers: secret, endStream: true))) else {
            Issue.record("no HEADERS frame written")
            return
        }
        #expect(out.headers.first?.indexable == .neverIndexed && out.endStream)
        guard case .data(let data)? = try written(.data(.init(data: .byteBuffer(ByteBuffer(string: "x"))))) else {
            Issue.record("no DATA frame written")
            return
        }
        #expect(data.data == .byteBuffer(ByteBuffer(string: "x")))
    }
}
