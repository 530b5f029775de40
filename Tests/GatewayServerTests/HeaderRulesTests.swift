@testable import GatewayAuthorizers
import GatewayPlan
@testable import GatewayServer
import NIOHTTP1
import Testing

@Suite struct HeaderRulesTests {
    func request(_ headers: [(String, String)], uri: String = "/a/b?c=d") -> RequestContext {
        TestRuntime.context(HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: HTTPHeaders(headers)))
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

    @Test func theDecoratorAddsTheRequestId() {
        var headers = HTTPHeaders([("Content-Length", "5"), ("ETag", "x")])
        ResponseDecorator.decorate(&headers, for: request([]))
        #expect(headers["content-length"] == ["5"])
        #expect(headers["etag"] == ["x"])
        #expect(headers["x-request-id"] == ["rid"])
    }

    @Test func theDecoratorKeepsAnUpstreamsRequestIdAndReplacesItsRateLimitFields() {
        let keyed = request([])
        keyed.rateLimit = RateLimitFields(plan: "gold", policy: #""gold";q=10;w=1"#, first: .init(quota: false, remaining: 9, reset: 1))
        var plain = HTTPHeaders([("Content-Length", "5")])
        ResponseDecorator.decorate(&plain, for: keyed)
        #expect(plain.map(\.name) == ["Content-Length", "x-request-id", "ratelimit-policy", "ratelimit"])

        var upstream = HTTPHeaders([("X-Request-ID", "theirs"), ("RateLimit", "forged"), ("Content-Length", "5")])
        ResponseDecorator.decorate(&upstream, for: keyed)
        #expect(upstream["x-request-id"] == ["theirs"])
        #expect(upstream["ratelimit"] == [#""gold";r=9;t=1"#])
        #expect(upstream["ratelimit-policy"] == [#""gold";q=10;w=1"#])
        #expect(upstream.count == 4)
    }

    @Test func upstreamRequestLeavesOutWhatConnectionNamesAndForgedGatewayHeaders() {
        let target = Upstream.Target(tls: false, host: "backend", port: 80, basePath: "")
        let context = request([("Host", "api.example.com"), ("Connection", "Keep-Alive, X-Private ,HOST"), ("x-private", "1"),
                               ("X-Authorizer-Principal-Id", "forged"), ("X-Request-Id", "client"), ("X-Api-Key-Id", "forged"),
                               ("X-Forwarded-Host", "spoofed"), ("X-Forwarded-For", "1.1.1.1, 2.2.2.2"), ("x-forwarded-for", "3.3.3.3"),
                               ("Accept", "*/*"), ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")])
        context.authorization = Forwarding.callout(principalId: "user-1", context: ["tier": .string("gold")])
        context.trace = TraceContext(traceId: "4bf92f3577b34da6a3ce929d0e0e4736", span: 1, parentId: nil, sampled: true)
        let head = HeaderRules.upstreamRequest(context, target: target)
        // A POST without Content-Length goes chunked (framed as NIO's encoder frames it).
        #expect(head.headers.map(\.name) == ["X-Forwarded-Host", "Accept", "x-authorizer-principal-id", "x-authorizer-tier", "host",
                                              "x-forwarded-for", "x-forwarded-proto", "traceparent", "x-request-id",
                                              "transfer-encoding"])
        #expect(head.headers["x-forwarded-host"] == ["spoofed"])  // Host was named in Connection: none to forward
        #expect(head.headers["x-private"].isEmpty)
        #expect(head.headers["x-authorizer-principal-id"] == ["user-1"])
        #expect(head.headers["x-forwarded-for"] == ["1.1.1.1, 2.2.2.2, 3.3.3.3, 10.1.2.3"])
        #expect(head.headers["traceparent"] == [context.trace!.traceparent])
        #expect(head.headers["x-request-id"] == ["rid"])
    }

    @Test func upstreamRequestReplacesForwardedHostAndKeepsAClientTraceWithoutGatewayTrace() {
        let target = Upstream.Target(tls: false, host: "backend", port: 8080, basePath: "")
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let head = HeaderRules.upstreamRequest(
            request([("x-forwarded-host", "spoofed"), ("host", "api.example.com"), ("traceparent", parent),
                     ("Transfer-Encoding", "gzip, chunked"), ("Content-Length", "4")]),
            target: target)
        #expect(head.headers["x-forwarded-host"] == ["api.example.com"])
        #expect(head.headers["host"] == ["backend:8080"])
        #expect(head.headers["traceparent"] == [parent])
        // A Content-Length travels on; a chunked Transfer-Encoding is only restated when there is none.
        #expect(head.headers["transfer-encoding"].isEmpty)
        #expect(head.headers["content-length"] == ["4"])
    }

    @Test func aForwardedForChainNamedInConnectionIsDroppedBeforeTheClientIsAppended() {
        let target = Upstream.Target(tls: false, host: "backend", port: 80, basePath: "")
        let head = HeaderRules.upstreamRequest(
            request([("Host", "a"), ("Connection", "X-Forwarded-For"), ("X-Forwarded-For", "1.1.1.1")]), target: target)
        #expect(head.headers["x-forwarded-for"] == ["10.1.2.3"])
    }

    @Test func connectionTokensAreMatchedIgnoringCaseAndSpaces() {
        #expect(HeaderRules.namesOnlyHopByHop("keep-alive, Close,,TE , upgrade"))
        #expect(!HeaderRules.namesOnlyHopByHop("keep-alive, x-secret"))
        #expect(!HeaderRules.namesOnlyHopByHop("closed"))
        #expect(HeaderRules.tokenList(" close ,, Upgrade\t", contains: "upgrade"))
        #expect(HeaderRules.tokenList(" close ,, Upgrade\t", contains: "CLOSE"))
        #expect(!HeaderRules.tokenList(" close ,, Upgrade\t", contains: "clos"))
        #expect(!HeaderRules.tokenList("", contains: "close"))
    }

    @Test func aConnectionValueIsReadInOnePassAsTheTokenChecksReadIt() {
        func tokens(_ value: String) -> HeaderRules.ConnectionTokens {
            Array(value.utf8).withUnsafeBufferPointer { HeaderRules.connectionTokens($0) }
        }
        let values = ["keep-alive", "Close", " close ,, Upgrade\t", "keep-alive, x-secret", "closed", "", ",",
                      "KEEP-ALIVE,CLOSE", "te, trailer, X-Forwarded-For", "keep-alivex", "cl ose", "Proxy-Connection"]
        for value in values {
            let expected = HeaderRules.ConnectionTokens(close: HeaderRules.tokenList(value, contains: "close"),
                                                        keepAlive: HeaderRules.tokenList(value, contains: "keep-alive"),
                                                        namesOthers: !HeaderRules.namesOnlyHopByHop(value))
            #expect(tokens(value) == expected, "\(value)")
        }
        #expect(tokens("Keep-Alive, CLOSE") == .init(close: true, keepAlive: true, namesOthers: false))
        #expect(tokens("x-secret") == .init(close: false, keepAlive: false, namesOthers: true))
    }
}
