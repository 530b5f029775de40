@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@Suite struct HTTP2StreamWriterTests {
    func written(_ payload: HTTP2Frame.FramePayload) throws -> HTTP2Frame.FramePayload? {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP2StreamWriter())
        try channel.writeOutbound(payload)
        defer { _ = try? channel.finish() }
        return try channel.readOutbound(as: HTTP2Frame.FramePayload.self)
    }

    func data(_ text: String, end: Bool = false) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(string: text)), endStream: end))
    }

    /// The frames written so far, as "DATA text" / "DATA text END" / "HEADERS" / "HEADERS END".
    func frames(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) {
            switch frame {
            case .data(let d):
                guard case .byteBuffer(let b) = d.data else { continue }
                out.append("DATA \(String(buffer: b))" + (d.endStream ? " END" : ""))
            case .headers(let h): out.append(h.endStream ? "HEADERS END" : "HEADERS")
            default: out.append("OTHER")
            }
        }
        return out
    }

    @Test func theLastDataFrameCarriesEndStreamInsteadOfAnEmptyFrameOfItsOwn() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP2StreamWriter())
        let body = channel.eventLoop.makePromise(of: Void.self), end = channel.eventLoop.makePromise(of: Void.self)
        channel.write(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([(":status", "200")]))), promise: nil)
        channel.write(data("hello"), promise: body)
        channel.write(data("", end: true), promise: end)
        channel.flush()
        #expect(try frames(channel) == ["HEADERS", "DATA hello END"])
        try body.futureResult.wait()
        try end.futureResult.wait()
        _ = try channel.finish()
    }

    @Test func aHeldFrameGoesOutOnFlushAndBeforeAnythingElse() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP2StreamWriter())
        channel.write(data("a"), promise: nil)
        channel.flush()
        #expect(try frames(channel) == ["DATA a"])
        channel.write(data("b"), promise: nil)
        channel.write(data("c"), promise: nil)
        channel.write(data("d", end: true), promise: nil)
        channel.write(data("e"), promise: nil)
        channel.write(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([("x-trailer", "1")]), endStream: true)), promise: nil)
        channel.flush()
        #expect(try frames(channel) == ["DATA b", "DATA c", "DATA d END", "DATA e", "HEADERS END"])
        _ = try channel.finish()
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
