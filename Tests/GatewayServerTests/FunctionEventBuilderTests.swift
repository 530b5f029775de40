import Foundation
import GatewayCore
import GatewayFunctions
import GatewayPlan
@testable import GatewayServer
import NIOCore
import NIOHTTP1
import Testing

@Suite struct FunctionEventBuilderTests {
    func context(_ headers: [(String, String)], uri: String) -> RequestContext {
        let operation = OperationPlan(method: "POST", path: "/flights/{flightId}", operationId: nil,
                                      action: .function(.init(name: "x", timeout: .seconds(1))), document: "d")
        let r = TestRuntime.context(HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: HTTPHeaders(headers)),
                                    operation: operation, requestId: "rid-1", remoteIP: "192.0.2.1")
        r.pathParameters = [("flightId", "LH%20123")]
        return r
    }

    @Test func buildsThe20EventShape() {
        let request = context([("Host", "api.example.com:8443"), ("Cookie", "a=1; b=2"), ("X-Multi", "1"), ("x-multi", "2"),
                               ("User-Agent", "curl/8"), ("Content-Type", "application/json")],
                              uri: "/flights/LH%20123?q=a+b&q=c&empty")
        let event = FunctionEventBuilder.event(for: request, body: ByteBuffer(string: #"{"x":1}"#))
        #expect(event.version == "2.0")
        #expect(event.routeKey == "POST /flights/{flightId}")
        #expect(event.rawPath == "/flights/LH%20123")
        #expect(event.rawQueryString == "q=a+b&q=c&empty")
        #expect(event.cookies == ["a=1", "b=2"])
        #expect(event.headers["cookie"] == nil)
        #expect(event.headers["x-multi"] == "1,2")
        #expect(event.queryStringParameters == ["q": "a b,c", "empty": ""])
        #expect(event.pathParameters == ["flightId": "LH 123"])
        #expect(event.body == #"{"x":1}"#)
        #expect(event.isBase64Encoded == false)
        #expect(event.requestContext.http.method == "POST")
        #expect(event.requestContext.http.sourceIp == "192.0.2.1")
        #expect(event.requestContext.http.userAgent == "curl/8")
        #expect(event.requestContext.domainName == "api.example.com")
        #expect(event.requestContext.domainPrefix == "api")
        #expect(event.requestContext.requestId == "rid-1")
        #expect(event.requestContext.timeEpoch > 1_700_000_000_000)
        #expect(event.requestContext.time.hasSuffix(" +0000"))
    }

    /// Fields of the client's connection are not the request's: a function gets the body whole,
    /// and a `transfer-encoding: chunked` (an HTTP/1.1 client's, or the one an HTTP/2 request
    /// without a length carries for its upstream) would tell an adapter to read it in chunks.
    @Test func hopByHopFieldsStayOutOfTheEvent() {
        let request = context([("Host", "api.example.com"), ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"),
                               ("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("X-Kept", "1")], uri: "/flights/LH1")
        let event = FunctionEventBuilder.event(for: request, body: ByteBuffer(string: "{}"))
        #expect(event.headers.keys.sorted() == ["host", "x-kept"])
        guard case .object(let rest) = RESTEventBuilder.event(for: request, v2: event),
              case .object(let headers)? = rest["headers"] else {
            Issue.record("no 1.0 headers")
            return
        }
        #expect(headers.keys.sorted() == ["Host", "X-Kept"])
    }

    @Test func binaryBodiesAreBase64() {
        let request = context([("Content-Type", "application/octet-stream")], uri: "/x")
        let event = FunctionEventBuilder.event(for: request, body: ByteBuffer(bytes: [0xFF, 0x00, 0x10]))
        #expect(event.isBase64Encoded)
        #expect(event.body == "/wAQ")
        #expect(event.bodyBytes == [0xFF, 0x00, 0x10])
    }

    @Test func responseSetsCookiesLengthAndRequestId() throws {
        let request = context([], uri: "/x")
        var (head, body) = try #require(FunctionEventBuilder.response(
            FunctionResponse(statusCode: 202, headers: ["X-A": "1", "Connection": "close"], cookies: ["s=1; Secure"],
                             body: "aGk=", isBase64Encoded: true), version: request.head.version))
        #expect(head.headers["x-request-id"].isEmpty, "decorated in one place, by the handler")
        ResponseDecorator.decorate(&head.headers, for: request)
        #expect(head.status.code == 202)
        #expect(head.headers["x-a"] == ["1"])
        #expect(head.headers["connection"].isEmpty)
        #expect(head.headers["set-cookie"] == ["s=1; Secure"])
        #expect(head.headers["content-length"] == ["2"])
        #expect(head.headers["x-request-id"] == ["rid-1"])
        #expect(String(buffer: body) == "hi")
        #expect(FunctionEventBuilder.response(FunctionResponse(statusCode: 200, body: "%%%", isBase64Encoded: true), version: request.head.version) == nil)
    }

    @Test func headersThatCouldSplitTheResponseAreRefused() {
        let request = context([], uri: "/x")
        let splitting: [FunctionResponse] = [
            FunctionResponse(statusCode: 200, headers: ["X-A": "1\r\nSet-Cookie: evil=1"], body: ""),
            FunctionResponse(statusCode: 200, headers: ["Bad Name": "1"], body: ""),
            FunctionResponse(statusCode: 200, headers: ["X-Nul": "a\u{0}b"], body: ""),
            FunctionResponse(statusCode: 200, cookies: ["s=1\nx: y"], body: ""),
        ]
        for response in splitting {
            #expect(FunctionEventBuilder.response(response, version: request.head.version) == nil, "\(response)")
        }
        #expect(FunctionEventBuilder.response(FunctionResponse(statusCode: 200, headers: ["X-Ok!#": "tab\tis fine"], body: ""),
                                              version: request.head.version) != nil)
    }

    @Test func the20RuleForResultsWithoutStatusCode() {
        let plain = FunctionResponse(interpreting: ["ok": true])
        #expect(plain.statusCode == 200)
        #expect(plain.headers?["content-type"] == "application/json")
        #expect(plain.body == #"{"ok":true}"#)
        let full = FunctionResponse(interpreting: ["statusCode": 418, "body": "teapot", "headers": ["x": "y"]])
        #expect(full.statusCode == 418)
        #expect(full.body == "teapot")
        #expect(full.headers == ["x": "y"])
        #expect(FunctionResponse(interpreting: "text").body == #""text""#)
    }
}
