@testable import GatewayServer
import NIOHTTP1
import Testing

/// The one pass over a request head's fields must read them as the lookups it replaced did (NIO's
/// `first(name:)` and `isKeepAlive`, the Edge rules' size measure).
@Suite struct HeadDigestTests {
    static let heads: [(HTTPVersion, [(String, String)])] = [
        (.http1_1, []),
        (.http1_1, [("Host", "a"), ("Accept", "*/*")]),
        (.http1_1, [("HOST", "a"), ("host", "b"), ("Transfer-Encoding", "chunked")]),
        (.http1_1, [("X-Request-Id", "first"), ("x-request-id", "second"), ("TraceParent", "t1"), ("traceparent", "t2")]),
        (.http1_1, [("Expect", "100-Continue")]),
        (.http1_1, [("expect", "100-continue-ish")]),
        (.http1_1, [("expect", "nothing"), ("Expect", "100-continue")]),
        (.http1_1, [("Connection", "close")]),
        (.http1_1, [("connection", "keep-alive, x-private")]),
        (.http1_1, [("CONNECTION", "Upgrade")]),
        (.http1_0, []),
        (.http1_0, [("Connection", "Keep-Alive")]),
        (.http1_0, [("connection", "close"), ("connection", "keep-alive")]),
        (.http1_0, [("Keep-Alive", "timeout=5")]),
        (.http1_1, [("ünïcode", "wert €"), ("x-request-id", "ü")]),
        (.http1_1, [("Content-Type", "application/json")]),
        (.http1_1, [("content-length", "0"), ("Accept", "*/*")]),
        (.http1_1, [("x-content-type", "a"), ("content-lengths", "1"), ("Content-Typ", "b")]),
    ]

    func head(_ index: Int) -> HTTPRequestHead {
        let (version, fields) = Self.heads[index]
        return HTTPRequestHead(version: version, method: .POST, uri: "/a/b?c=d", headers: HTTPHeaders(fields))
    }

    @Test(arguments: 0..<heads.count)
    func readsWhatTheSeparateLookupsRead(index: Int) {
        let head = head(index)
        let digest = HeadDigest(head)
        #expect(digest.requestId == head.headers.first(name: "x-request-id"))
        #expect(digest.traceparent == head.headers.first(name: "traceparent"))
        #expect(digest.expectsContinue == (head.headers.first(name: "expect")?.lowercased() == "100-continue"))
        #expect(digest.hosts == head.headers["host"].count)
        #expect(digest.transferEncoding == head.headers.contains(name: "transfer-encoding"))
        #expect(digest.connection == head.headers.contains(name: "connection"))
        #expect(digest.bodyFields == ["content-length", "content-type", "transfer-encoding"].contains { head.headers.contains(name: $0) })
        #expect(HeadDigest.isKeepAlive(head, digest) == head.isKeepAlive, "\(head.version) \(head.headers)")
    }

    @Test(arguments: 0..<heads.count)
    func sizeIsTheHeadAsWrittenOnHTTP11(index: Int) {
        let head = head(index)
        var written = "\(head.method.rawValue) \(head.uri) HTTP/1.1\r\n"
        for (name, value) in head.headers { written += "\(name): \(value)\r\n" }
        #expect(HeadDigest(head).size == written.utf8.count)
    }

    @Test func expectIsComparedIgnoringTheCaseOfLettersOnly() {
        #expect(HeaderRules.equalsLowerValue("100-CONTINUE", "100-continue"))
        // A control byte ORed with 0x20 is a digit or `-`: it must not pass for one.
        #expect(!HeaderRules.equalsLowerValue("\u{11}00-continue", "100-continue"))
        #expect(!HeaderRules.equalsLowerValue("100\u{0D}continue", "100-continue"))
        #expect(!HeaderRules.equalsLowerValue("100-continu", "100-continue"))
    }
}
