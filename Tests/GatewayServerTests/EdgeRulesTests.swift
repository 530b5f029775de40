import GatewayCore
import GatewayPlan
@testable import GatewayServer
import NIOHTTP1
import Testing

@Suite struct RequestTargetTests {
    @Test(arguments: [
        ("/alerts", "/alerts"),
        ("//alerts", "/alerts"),
        ("/x/../alerts", "/alerts"),
        ("/x/./y/../../alerts", "/alerts"),
        ("/../../alerts", "/alerts"),
        ("/a//b///c/", "/a/b/c/"),
        ("/%61lerts", "/alerts"),
        ("/%2e%2E/alerts", "/alerts"),
        ("/a/b/..", "/a/"),
        ("/a/.", "/a/"),
        ("/caf%C3%A9/x%20y", "/caf%C3%A9/x%20y"),
        ("/a%3ab", "/a%3Ab"),
        ("/", "/"),
        ("/..", "/"),
        ("/a.b/.c/..d", "/a.b/.c/..d"),
    ])
    func pathsAreNormalised(sent: String, expected: String) throws {
        let target = try RequestTarget(parsing: sent + "?q=%2F//..")
        #expect(target.path == expected[...])
        #expect(target.query == "q=%2F//..")
        #expect(target.rewritten == (sent != expected))
        #expect(target.authority == nil)
    }

    @Test(arguments: [
        ("/alerts", "/alerts", nil),
        ("/", "/", nil),
        ("/?q", "/", "q"),
        ("/a?", "/a", ""),
        ("/a?b?c/../%zz#d", "/a", "b?c/../%zz#d"),
        ("/caf\u{E9}/x.y?z", "/caf\u{E9}/x.y", "z"),
    ] as [(String, String, String?)])
    func aNormalTargetIsSplitAtItsFirstQuestionMark(sent: String, path: String, query: String?) throws {
        let target = try RequestTarget(parsing: sent)
        #expect(target.path == path[...])
        #expect(target.query == query?[...])
        #expect(!target.rewritten)
        #expect(target.originForm == sent)
    }

    @Test(arguments: ["/flights%2FLH123-1%2Fnotifications", "/a%5Cb", "/a%00", "/a%zz", "/a%2", "/a\\b", "/a#b", "*", "alerts", "host:443"])
    func suspiciousTargetsAreRefused(sent: String) {
        #expect(throws: RequestTarget.Failure.self) { try RequestTarget(parsing: sent) }
    }

    @Test func encodedSlashesCanBeKept() throws {
        let target = try RequestTarget(parsing: "/files/a%2fb//c", escapedSlashes: .keep)
        #expect(target.path == "/files/a%2Fb/c")
        #expect(throws: RequestTarget.Failure.self) { try RequestTarget(parsing: "/a%00", escapedSlashes: .keep) }
    }

    @Test func absoluteFormBecomesOriginFormAndNamesItsAuthority() throws {
        let target = try RequestTarget(parsing: "HTTP://evil.example:80/flights/LH1/../LH2/notifications?x=1")
        #expect(target.path == "/flights/LH2/notifications")
        #expect(target.authority == "evil.example:80")
        #expect(target.originForm == "/flights/LH2/notifications?x=1")
        #expect(target.rewritten)
        #expect(try RequestTarget(parsing: "https://h.example").originForm == "/")
        #expect(try RequestTarget(parsing: "http://h.example?a=b").originForm == "/?a=b")
        #expect(throws: RequestTarget.Failure.self) { try RequestTarget(parsing: "http://user@h.example/") }
        #expect(throws: RequestTarget.Failure.self) { try RequestTarget(parsing: "ftp://h.example/") }
    }
}

@Suite struct EdgeRulesTests {
    func check(_ uri: String, version: HTTPVersion = .http1_1,
               headers: [(String, String)] = [("host", "gw.example")], isHTTP2: Bool = false,
               limits: GatewayConfig.Limits = .init()) -> (EdgeRules.Verdict, HTTPRequestHead) {
        check(.GET, uri, version: version, headers: headers, isHTTP2: isHTTP2, limits: limits)
    }

    func check(_ method: HTTPMethod, _ uri: String, version: HTTPVersion = .http1_1,
               headers: [(String, String)] = [("host", "gw.example")], isHTTP2: Bool = false,
               limits: GatewayConfig.Limits = .init()) -> (EdgeRules.Verdict, HTTPRequestHead) {
        var head = HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers))
        let verdict = EdgeRules.check(&head, digest: HeadDigest(head), isHTTP2: isHTTP2, limits: limits)
        return (verdict, head)
    }

    func refusal(_ verdict: EdgeRules.Verdict) -> (Int, Bool)? {
        if case .refuse(let error, let close) = verdict { return (error.status, close) }
        return nil
    }

    @Test func hostMustAppearExactlyOnceInHTTP11() {
        #expect(refusal(check("/", headers: []).0)! == (400, true))
        #expect(refusal(check("/", headers: [("host", "a"), ("host", "b")]).0)! == (400, true))
        #expect(refusal(check("/", version: .http1_0, headers: []).0) == nil, "HTTP/1.0 may omit Host")
        #expect(refusal(check("/", headers: [], isHTTP2: true).0) == nil, "HTTP/2 has :authority")
    }

    @Test func transferEncodingInHTTP10IsFaultyFraming() {
        #expect(refusal(check(.POST, "/", version: .http1_0, headers: [("transfer-encoding", "chunked")]).0)! == (400, true))
    }

    @Test func headsOverTheLimitsAre431() {
        var limits = GatewayConfig.Limits()
        limits.maxHeaders = 10
        limits.maxHeaderBytes = 2048
        let many = (0..<11).map { ("x-h\($0)", "1") }
        #expect(refusal(check("/", headers: many, limits: limits).0)! == (431, true))
        let big = [("host", "a"), ("x-big", String(repeating: "a", count: 2030))]
        #expect(refusal(check("/", headers: big, limits: limits).0)! == (431, true))
        let fits = [("host", "a"), ("x-big", String(repeating: "a", count: 1900))]
        #expect(refusal(check("/", headers: fits, limits: limits).0) == nil)
        #expect(refusal(check("/", headers: many, isHTTP2: true, limits: limits).0)! == (431, false))
    }

    @Test func theHeadIsRewrittenToTheNormalisedTarget() {
        let (verdict, head) = check(.POST, "http://evil.example/x/../flights?y=1", headers: [("host", "gw.example")])
        guard case .pass(let target) = verdict else { Issue.record("refused"); return }
        #expect(target.path == "/flights")
        #expect(head.uri == "/flights?y=1")
        #expect(head.headers["host"] == ["evil.example"])
        let (_, untouched) = check("/plain/path?q=1")
        #expect(untouched.uri == "/plain/path?q=1")
        #expect(refusal(check("/a%2Fb").0)! == (400, true))
    }
}
