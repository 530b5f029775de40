@testable import GatewayAuthorizers
import GatewayPlan
@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The upstream request head written as bytes in one pass must be exactly what
/// `UpstreamRequestEncoder` writes for `HeaderRules.upstreamRequest`'s head, framing included.
@Suite struct UpstreamRequestHeadTests {
    func encoded(_ head: HTTPRequestHead) throws -> (bytes: String, chunked: Bool) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(UpstreamRequestEncoder())
        try channel.writeOutbound(HTTPClientRequestPart.head(head))
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "x"))))
        var out: [String] = []
        while let chunk = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = chunk { out.append(String(buffer: buffer)) }
        }
        _ = try channel.finish()
        // A chunked body part goes out as size line, bytes, CRLF.
        return (out[0], out.count > 2)
    }

    static let cases: [(HTTPMethod, [(String, String)])] = [
        (.GET, [("Host", "api.example.com"), ("Accept", "*/*"), ("User-Agent", "t")]),
        (.GET, [("host", "a"), ("X-Forwarded-Host", "spoof"), ("X-Forwarded-For", "1.1.1.1"), ("x-forwarded-for", "2.2.2.2"),
                ("Connection", "keep-alive, X-Private"), ("x-private", "1"), ("TE", "trailers"), ("X-Request-Id", "client")]),
        (.GET, [("X-Forwarded-Host", "before"), ("Host", "h"), ("Connection", "Host")]),
        (.GET, [("X-Forwarded-Host", "kept"), ("Accept", "a")]),
        (.GET, [("Host", "h"), ("Transfer-Encoding", "gzip, chunked")]),
        (.DELETE, [("Host", "h"), ("Content-Length", "2"), ("Transfer-Encoding", "chunked")]),
        (.POST, [("Host", "h"), ("Content-Length", "5"), ("Expect", "100-continue")]),
        (.POST, [("Host", "h")]),
        (.PUT, [("Host", "h"), ("Transfer-Encoding", "chunked")]),
        (.PATCH, [("Host", "h"), ("Transfer-Encoding", "gzip")]),
        (.TRACE, [("Host", "h"), ("Content-Length", "3"), ("Transfer-Encoding", "chunked")]),
        (.HEAD, [("Host", "h"), ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]),
        (.RAW(value: "PURGE"), [("Host", "h"), ("ünïcode-value", "wert €")]),
        (.GET, [("Host", "h"), ("X-Large", String(repeating: "v", count: 5000))]),
    ]

    @Test(arguments: 0..<cases.count)
    func bytesMatchTheEncodersForEveryFraming(index: Int) throws {
        let (method, headers) = Self.cases[index]
        for basePath in ["", "/legacy"] {
            let target = Upstream.Target(tls: false, host: "backend", port: 8080, basePath: basePath)
            let request = TestRuntime.context(HTTPRequestHead(version: .http1_1, method: method, uri: "/a/b?c=d",
                                                              headers: HTTPHeaders(headers)))
            let head = HeaderRules.upstreamRequestHead(request, target: target)
            let expected = try encoded(HeaderRules.upstreamRequest(request, target: target))
            #expect(String(buffer: head.bytes) == expected.bytes)
            #expect(head.chunked == expected.chunked, "\(method) \(headers)")
            #expect(head.method == method)
            // The data plane skips looking for `Connection` when the head's digest found none.
            request.mayHaveConnectionField = HeadDigest(request.head).connection
            #expect(String(buffer: HeaderRules.upstreamRequestHead(request, target: target).bytes) == expected.bytes,
                    "with the digest's Connection flag: \(headers)")
        }
    }

    @Test func bytesMatchWithAnAuthorizersHeadersAndATrace() throws {
        let target = Upstream.Target(tls: false, host: "backend", port: 80, basePath: "")
        let request = TestRuntime.context(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x", headers: HTTPHeaders([
            ("Host", "api.example.com"), ("X-Authorizer-Principal-Id", "forged"), ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ])))
        request.authorization = Forwarding.callout(principalId: "user-1", context: ["tier": .string("gold")])
        request.trace = TraceContext(traceId: "4bf92f3577b34da6a3ce929d0e0e4736", span: 1, parentId: nil, sampled: true)
        let head = HeaderRules.upstreamRequestHead(request, target: target)
        #expect(String(buffer: head.bytes) == (try encoded(HeaderRules.upstreamRequest(request, target: target))).bytes)
        #expect(String(buffer: head.bytes).contains("x-authorizer-principal-id: user-1\r\n"))
    }
}
