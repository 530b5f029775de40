import GatewayPlan
@testable import GatewayServer
import NIOHTTP1
import Testing

@Suite struct HeaderRulesTests {
    func request(_ headers: [(String, String)], uri: String = "/a/b?c=d") -> RequestContext {
        TestRuntime.context(HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: HTTPHeaders(headers)))
    }

    @Test func hopByHopAndConnectionNamedHeadersAreRemoved() {
        var headers = HTTPHeaders([("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"), ("Keep-Alive", "timeout=5"),
                                   ("TE", "trailers"), ("Upgrade", "h2c"), ("Proxy-Authorization", "x"), ("Accept", "*/*")])
        HeaderRules.stripHopByHop(&headers)
        #expect(headers.map(\.name) == ["Accept"])
    }

    @Test func upstreamRequestGetsForwardingHeadersAndTargetHost() {
        let target = Upstream.Target(tls: false, host: "127.0.0.1", port: 9000, basePath: "/legacy")
        let head = HeaderRules.upstreamRequest(
            request([("Host", "api.example.com"), ("X-Forwarded-For", "1.1.1.1"), ("Connection", "close"),
                     ("Transfer-Encoding", "chunked"), ("Expect", "100-continue")]),
            target: target)
        #expect(head.uri == "/legacy/a/b?c=d")
        #expect(head.headers["host"] == ["127.0.0.1:9000"])
        #expect(head.headers["x-forwarded-host"] == ["api.example.com"])
        #expect(head.headers["x-forwarded-for"] == ["1.1.1.1, 10.1.2.3"])
        #expect(head.headers["x-forwarded-proto"] == ["https"])
        #expect(head.headers["x-request-id"] == ["rid"])
        #expect(head.headers["connection"].isEmpty)
        #expect(head.headers["expect"].isEmpty)
        #expect(head.headers["transfer-encoding"] == ["chunked"])
    }

    @Test func responseKeepsEndToEndHeadersAndAddsRequestId() {
        let upstream = HTTPResponseHead(version: .http1_1, status: .ok,
                                        headers: HTTPHeaders([("Content-Length", "5"), ("Connection", "keep-alive"), ("ETag", "x")]))
        var out = HeaderRules.downstreamResponse(upstream)
        ResponseDecorator.decorate(&out.headers, for: request([]))
        #expect(out.headers["content-length"] == ["5"])
        #expect(out.headers["etag"] == ["x"])
        #expect(out.headers["connection"].isEmpty)
        #expect(out.headers["x-request-id"] == ["rid"])
    }
}
