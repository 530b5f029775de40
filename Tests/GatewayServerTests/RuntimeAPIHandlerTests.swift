import Foundation
import GatewayCore
@testable import GatewayServer
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The Lambda Runtime API handler, driven with `EmbeddedChannel` and a recording delegate.
@Suite struct RuntimeAPIHandlerTests {
    final class Delegate: RuntimeAPIDelegate {
        var waiters: [RuntimeAPIHandler] = []
        var gone = 0
        var answers: [(String, String, String?)] = []
        var initErrors: [String?] = []
        var holds: Set<String> = []

        func runtimeNext(slot: Int, waiter: RuntimeAPIHandler) { waiters.append(waiter) }
        func runtimeWaiterGone(slot: Int, waiter: RuntimeAPIHandler) { gone += 1 }
        func runtimeAnswered(slot: Int, requestId: String, body: ByteBuffer, errorType: String?) -> Bool {
            answers.append((requestId, String(buffer: body), errorType))
            return holds.contains(requestId)
        }
        func runtimeInitError(slot: Int, errorType: String?, body: ByteBuffer) { initErrors.append(errorType) }
    }

    struct Answer {
        var head: HTTPResponseHead
        var body: String
        var json: JSONValue? { try? JSONValue.parse(Data(body.utf8)) }
    }

    func channel(_ delegate: Delegate) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RuntimeAPIHandler(slot: 0, delegate: delegate))
        return channel
    }

    func send(_ channel: EmbeddedChannel, _ method: HTTPMethod, _ uri: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) throws {
        var h = HTTPHeaders(headers)
        if let body { h.add(name: "content-length", value: String(body.readableBytes)) }
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: h)))
        if let body { try channel.writeInbound(HTTPServerRequestPart.body(body)) }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    func answer(_ channel: EmbeddedChannel) throws -> Answer? {
        guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        var body = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case .body(.byteBuffer(let b)): body += String(buffer: b)
            case .end: return Answer(head: head, body: body)
            default: break
            }
        }
        return Answer(head: head, body: body)
    }

    @Test func nextWaitsUntilAnInvocationIsDeliveredWithLambdasHeaders() throws {
        let delegate = Delegate()
        let channel = try channel(delegate)
        try send(channel, .GET, "/2018-06-01/runtime/invocation/next")
        #expect(try answer(channel) == nil)
        let waiter = try #require(delegate.waiters.first)
        waiter.deliver(RuntimeInvocation(requestId: "r-1", deadlineMs: 1_700_000_000_123, functionArn: "arn:aws:lambda:us-east-1:000000000000:function:f",
                                         traceId: "Root=1-abc", event: ByteBuffer(string: #"{"rawPath":"/a"}"#)))
        let a = try #require(try answer(channel))
        #expect(a.head.status == .ok)
        #expect(a.head.headers.first(name: "lambda-runtime-aws-request-id") == "r-1")
        #expect(a.head.headers.first(name: "lambda-runtime-deadline-ms") == "1700000000123")
        #expect(a.head.headers.first(name: "lambda-runtime-invoked-function-arn") == "arn:aws:lambda:us-east-1:000000000000:function:f")
        #expect(a.head.headers.first(name: "lambda-runtime-trace-id") == "Root=1-abc")
        #expect(a.body == #"{"rawPath":"/a"}"#)
        // Delivered once only.
        waiter.deliver(RuntimeInvocation(requestId: "r-2", deadlineMs: 0, functionArn: "", traceId: "", event: ByteBuffer()))
        #expect(try answer(channel) == nil)
    }

    @Test func aWaitingNextWhoseConnectionClosesIsReported() throws {
        let delegate = Delegate()
        let channel = try channel(delegate)
        try send(channel, .GET, "/2018-06-01/runtime/invocation/next")
        _ = try channel.finish()
        #expect(delegate.gone == 1)
    }

    @Test func responsesAndErrorsAreAcceptedForHeldInvocationsOnly() throws {
        let delegate = Delegate()
        delegate.holds = ["r-1"]
        let channel = try channel(delegate)
        try send(channel, .POST, "/2018-06-01/runtime/invocation/r-1/response", body: ByteBuffer(string: #"{"statusCode":200}"#))
        let ok = try #require(try answer(channel))
        #expect(ok.head.status == .accepted)
        #expect(ok.json == ["status": "OK"])
        try send(channel, .POST, "/2018-06-01/runtime/invocation/r-1/error",
                 headers: [("Lambda-Runtime-Function-Error-Type", "Runtime.ValueError")], body: ByteBuffer(string: #"{"errorMessage":"boom"}"#))
        #expect(try answer(channel)?.head.status == .accepted)
        try send(channel, .POST, "/2018-06-01/runtime/invocation/nobody/response", body: ByteBuffer(string: "{}"))
        let refused = try #require(try answer(channel))
        #expect(refused.head.status == .badRequest)
        #expect(refused.json?["errorType"] == "InvalidRequestID")
        #expect(delegate.answers.map(\.0) == ["r-1", "r-1", "nobody"])
        #expect(delegate.answers.map(\.2) == [nil, "Runtime.ValueError", nil])
        #expect(delegate.answers[1].1 == #"{"errorMessage":"boom"}"#)
    }

    @Test func aResponseOverSixMegabytesIsRefusedAsLambdaDoes() throws {
        let delegate = Delegate()
        delegate.holds = ["r-1"]
        let channel = try channel(delegate)
        let big = ByteBuffer(repeating: UInt8(ascii: "a"), count: RuntimeAPIHandler.maxResponseBytes + 1)
        try send(channel, .POST, "/2018-06-01/runtime/invocation/r-1/response", body: big)
        let a = try #require(try answer(channel))
        #expect(a.head.status == .payloadTooLarge)
        #expect(a.json?["errorType"] == "RequestEntityTooLarge")
        #expect(delegate.answers.map(\.2) == ["Function.ResponseSizeTooLarge"])
    }

    @Test func initErrorIsAcceptedAndReported() throws {
        let delegate = Delegate()
        let channel = try channel(delegate)
        try send(channel, .POST, "/2018-06-01/runtime/init/error", headers: [("Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError")],
                 body: ByteBuffer(string: "{}"))
        #expect(try answer(channel)?.head.status == .accepted)
        #expect(delegate.initErrors == ["Runtime.ImportModuleError"])
    }

    @Test(arguments: [
        (HTTPMethod.GET, "/2018-06-01/runtime/invocation/r-1/unknown", HTTPResponseStatus.notFound),
        (.GET, "/2019-01-01/runtime/invocation/next", .notFound),
        (.GET, "/", .notFound),
        (.POST, "/2018-06-01/runtime/invocation/next", .methodNotAllowed),
        (.GET, "/2018-06-01/runtime/invocation/r-1/response", .methodNotAllowed),
    ])
    func badPathsAndMethodsGetLambdasAnswers(method: HTTPMethod, uri: String, status: HTTPResponseStatus) throws {
        let delegate = Delegate()
        let channel = try channel(delegate)
        try send(channel, method, uri)
        let a = try #require(try answer(channel))
        #expect(a.head.status == status)
        #expect(a.json?["errorMessage"] != nil)
        #expect(delegate.waiters.isEmpty && delegate.answers.isEmpty)
    }
}

extension RuntimeAPIHandlerTests {
    @Test func aRequestSentWhileNextWaitsEndsTheConnection() throws {
        let delegate = Delegate()
        let channel = try channel(delegate)
        try send(channel, .GET, "/2018-06-01/runtime/invocation/next")
        try send(channel, .GET, "/2018-06-01/runtime/invocation/next")
        #expect(!channel.isActive)
        #expect(delegate.waiters.count == 1)
        #expect(delegate.gone == 1)
    }
}
