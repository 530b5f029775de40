import AsyncHTTPClient
import Foundation
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The gateway in process, real TLS on loopback, a real backend, AsyncHTTPClient over HTTP/1.1 and HTTP/2.
@Suite struct ProxyEndToEndTests {
    func withGateway(withDefault: Bool = true, second: Bool = false, secure: Bool = false,
                     _ body: (TestGateway, FakeBackend, FakeBackend?) async throws -> Void) async throws {
        let legacy = try await FakeBackend.start(name: "legacy")
        let other = second ? try await FakeBackend.start(name: "second") : nil
        var secureBackend: FakeBackend?
        let gateway: TestGateway
        if secure {
            // The backend serves a certificate from the gateway's development CA, which the
            // `secure` upstream names as its `ca`.
            let folder = try TestFolder()
            secureBackend = try await FakeBackend.start(name: "secure", tls: try TestGateway.backendTLS(folder.certs))
            gateway = try await TestGateway(folder: folder, legacy: legacy, secure: secureBackend, withDefault: withDefault)
        } else {
            gateway = try await TestGateway(legacy: legacy, second: other, withDefault: withDefault)
        }
        do {
            try await body(gateway, legacy, other ?? secureBackend)
        } catch {
            await gateway.stop(); await legacy.stop(); await other?.stop(); await secureBackend?.stop()
            throw error
        }
        await gateway.stop(); await legacy.stop(); await other?.stop(); await secureBackend?.stop()
    }

    func send(_ client: HTTPClient, _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [],
              body: String? = nil) async throws -> (HTTPClientResponse, String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 10 << 20)
        return (response, String(buffer: bytes))
    }

    func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    @Test(arguments: [false, true])
    func unmatchedRequestsReachTheLegacyBackend(http2: Bool) async throws {
        try await withGateway { gateway, legacy, _ in
            let client = gateway.client(http2: http2)
            let (response, text) = try await send(client, gateway.https + "/old/orders%3A7?x=1&y=a+b",
                                                  headers: [("x-request-id", "req-42"), ("connection", "x-drop"),
                                                            ("x-drop", "1"), ("x-forwarded-for", "203.0.113.9")])
            #expect(response.status == .ok)
            #expect(response.version == (http2 ? .http2 : .http1_1))
            #expect(response.headers["x-request-id"] == ["req-42"])
            #expect(response.headers["x-backend"] == ["legacy"])
            #expect(response.headers["x-internal"].isEmpty, "a header named in the upstream's Connection leaked")
            #expect(response.headers["keep-alive"].isEmpty)
            let seen = try json(text)
            #expect(seen["uri"] == "/old/orders%3A7?x=1&y=a+b")
            #expect(seen["headers"]?["x-request-id"] == ["req-42"])
            #expect(seen["headers"]?["x-forwarded-for"] == ["203.0.113.9, 127.0.0.1"])
            #expect(seen["headers"]?["x-forwarded-proto"] == ["https"])
            #expect(seen["headers"]?["x-forwarded-host"]?.arrayValue?.first?.stringValue?.hasPrefix("localhost:") == true)
            #expect(seen["headers"]?["host"] == .array([.string("127.0.0.1:\(legacy.port)")]))
            #expect(seen["headers"]?["x-drop"] == nil)
        }
    }

    @Test func plainHTTPListenerAndKeepAlivePooling() async throws {
        try await withGateway { gateway, legacy, _ in
            let client = gateway.client(http2: false)
            for i in 0..<20 {
                let (response, text) = try await send(client, gateway.http + "/item/\(i)", method: .POST, body: "abc")
                #expect(response.status == .ok)
                #expect(try json(text)["bodyBytes"] == 3)
                #expect(try json(text)["headers"]?["x-forwarded-proto"] == ["http"])
            }
            // Two event loops: at most one upstream connection each, reused for every request.
            #expect(legacy.requests == 20)
            #expect(legacy.connections <= 2)
        }
    }

    /// On one HTTP/2 connection the request id is indexed for its name on the first response and
    /// sent without indexing after it (`HTTP2FieldIndexing`): every response still decodes
    /// to its own id, the one its request carried to the backend.
    @Test func eachResponseOnOneHTTP2ConnectionCarriesItsOwnRequestId() async throws {
        try await withGateway { gateway, legacy, _ in
            let client = gateway.client(http2: true)
            var ids: Set<String> = []
            for round in 0..<8 {
                let given = round % 3 == 2 ? [("x-request-id", "client-\(round)")] : []
                let (response, text) = try await send(client, gateway.https + "/old/\(round)", headers: given)
                #expect(response.version == .http2)
                let id = try #require(response.headers["x-request-id"].first)
                #expect(response.headers["x-request-id"].count == 1)
                #expect(try json(text)["headers"]?["x-request-id"] == [.string(id)])
                if round % 3 == 2 { #expect(id == "client-\(round)") } else { #expect(id.utf8.count == 32) }
                ids.insert(id)
            }
            #expect(ids.count == 8)
            #expect(legacy.requests == 8)
        }
    }

    @Test func functionRoutesServeTheFlightExample() async throws {
        try await withGateway { gateway, legacy, _ in
            let client = gateway.client(http2: true)
            let flight = #"{"flightNumber":"BA117","origin":"LHR","destination":"JFK","departure":"2026-12-24T09:00:00Z","passengers":[{"name":"Ada","email":"ada@example.com","phone":"+447700900001"},{"name":"Grace","email":"grace@example.com","phone":"+447700900002"}]}"#
            let (created, createdText) = try await send(client, gateway.https + "/flights", method: .POST,
                                                        headers: [("content-type", "application/json")], body: flight)
            #expect(created.status == .created)
            let flightId = try #require(try json(createdText)["flightId"]?.stringValue)
            let (notified, notifiedText) = try await send(
                client, gateway.https + "/flights/\(flightId)/notifications", method: .POST,
                headers: [("content-type", "application/json")], body: #"{"type":"cancellation","reason":"crew"}"#)
            #expect(notified.status == .created)
            let alerts = try #require(try json(notifiedText)["alerts"]?.arrayValue)
            #expect(alerts.count == 2)
            #expect(alerts.first?["message"]?.stringValue?.contains("BA117 from LHR to JFK is cancelled") == true)
            let (listed, listedText) = try await send(client, gateway.https + "/alerts?flightId=\(flightId)")
            #expect(listed.status == .ok)
            #expect(listed.headers["content-type"] == ["application/json"])
            #expect(try json(listedText)["alerts"]?.arrayValue?.count == 2)
            let (missing, _) = try await send(client, gateway.https + "/flights/nope/notifications", method: .POST,
                                              headers: [("content-type", "application/json")], body: #"{"type":"delay"}"#)
            #expect(missing.status == .notFound)
            #expect(legacy.requests == 0, "function routes must not reach the legacy backend")
        }
    }

    @Test func withoutADefaultUpstreamUnmatchedIs404Or405() async throws {
        try await withGateway(withDefault: false) { gateway, legacy, _ in
            let client = gateway.client(http2: true)
            let (notFound, body) = try await send(client, gateway.https + "/nowhere")
            #expect(notFound.status == .notFound)
            #expect(body == #"{"message":"Not Found"}"#)
            let (notAllowed, _) = try await send(client, gateway.https + "/flights", method: .PUT, body: "{}")
            #expect(notAllowed.status == .methodNotAllowed)
            #expect(notAllowed.headers["allow"] == ["POST"])
            #expect(legacy.requests == 0)
        }
    }

    @Test func upstreamFailuresMapTo502And504() async throws {
        try await withGateway { gateway, _, _ in
            let client = gateway.client(http2: false)
            let (dead, deadBody) = try await send(client, gateway.https + "/dead")
            #expect(dead.status == .badGateway)
            #expect(deadBody == #"{"message":"Bad Gateway"}"#)
            // The backend answers after 3 s; the 300 ms upstream timeout answers first.
            let (slow, slowBody) = try await send(client, gateway.https + "/slow")
            #expect(slow.status == .gatewayTimeout)
            #expect(slowBody == #"{"message":"Endpoint request timed out"}"#)
            let (hangup, _) = try await send(client, gateway.https + "/hangup")
            #expect(hangup.status == .badGateway)
            let (boom, boomBody) = try await send(client, gateway.https + "/boom")
            #expect(boom.status == .internalServerError)
            #expect(boomBody == #"{"message":"Internal server error"}"#)
            // The connection stays usable after each of those.
            let (ok, _) = try await send(client, gateway.https + "/fine")
            #expect(ok.status == .ok)
            // Again on the connection /fine left in the pool: its timer, armed for /fine's deadline,
            // is re-armed for this one's.
            let (slowAgain, _) = try await send(client, gateway.https + "/slow")
            #expect(slowAgain.status == .gatewayTimeout)
        }
    }

    @Test func severalTargetsAreBalancedRoundRobin() async throws {
        try await withGateway(second: true) { gateway, legacy, second in
            let client = gateway.client(http2: false)
            var seen: [String: Int] = [:]
            for _ in 0..<10 {
                let (response, _) = try await send(client, gateway.https + "/pair/x")
                seen[response.headers.first(name: "x-backend") ?? "?", default: 0] += 1
            }
            #expect(seen["legacy", default: 0] > 0)
            #expect(seen["second", default: 0] > 0)
            #expect(legacy.requests + (second?.requests ?? 0) == 10)
        }
    }

    @Test func httpsUpstreamVerifiedWithTheConfiguredCA() async throws {
        try await withGateway(secure: true) { gateway, _, secure in
            let client = gateway.client(http2: true)
            let (response, text) = try await send(client, gateway.https + "/secure/thing")
            #expect(response.status == .ok)
            #expect(try json(text)["backend"] == "secure")
            #expect(secure?.requests == 1)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withGateway { gateway, legacy, _ in
            let port = gateway.server.httpPort!
            let flight = #"{"flightNumber":"AB1","origin":"FRA","destination":"JFK","departure":"2026-12-01T10:00:00Z","passengers":[]}"#
            let requests = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /flights HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(flight.utf8.count)\r\n\r\n\(flight)"
                + "GET /nowhere-special HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let reply = try await RawTCP.exchange(port: port, send: requests)
            let statuses = reply.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["200", "201", "200", "200"], "\(reply)")
            let first = reply.range(of: #""uri":"\/first""#) ?? reply.range(of: #""uri":"/first""#)
            let flightAt = reply.range(of: "AB1-")
            let last = reply.range(of: #""uri":"\/last""#) ?? reply.range(of: #""uri":"/last""#)
            #expect(first != nil && flightAt != nil && last != nil, "\(reply)")
            if let first, let flightAt, let last {
                #expect(first.lowerBound < flightAt.lowerBound && flightAt.lowerBound < last.lowerBound, "answered in request order")
            }
            #expect(legacy.requests == 3)
        }
    }

    /// The gateway's decoder parses the common requests and hands any other to NIO's decoder for
    /// the rest of the connection: requests before and after that switch, on one connection, are
    /// answered in order, and the chunked body between them arrives whole.
    @Test func aChunkedRequestBetweenPlainOnesOnOneConnection() async throws {
        try await withGateway { gateway, legacy, _ in
            let port = gateway.server.httpPort!
            let requests = "GET /before HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                + "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let reply = try await RawTCP.exchange(port: port, send: requests)
            let statuses = reply.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["200", "200", "200"], "\(reply)")
            let uris = ["before", "chunked", "after"].map { reply.range(of: "\"uri\":\"\\/\($0)\"") ?? reply.range(of: "\"uri\":\"/\($0)\"") }
            #expect(uris.allSatisfy { $0 != nil }, "\(reply)")
            if let before = uris[0], let chunked = uris[1], let after = uris[2] {
                #expect(before.lowerBound < chunked.lowerBound && chunked.lowerBound < after.lowerBound, "answered in request order")
            }
            #expect(reply.contains("\"bodyBytes\":11"), "the chunked body, whole: \(reply)")
            #expect(legacy.requests == 3)
        }
    }

    @Test func malformedHTTPGets400AndTheConnectionIsClosed() async throws {
        try await withGateway { gateway, legacy, _ in
            let port = gateway.server.httpPort!
            let reply = try await RawTCP.exchange(port: port, send: "GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 400"))
            #expect(reply.lowercased().contains("x-request-id: "))
            #expect(reply.hasSuffix(#"{"message":"Bad Request"}"#), "the error contract's JSON body")
            #expect(legacy.requests == 0)
            let huge = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 40_000) + "\r\n\r\n"
            let tooBig = try await RawTCP.exchange(port: port, send: huge)
            #expect(tooBig.hasPrefix("HTTP/1.1 431"), "a head over limits.maxHeaderBytes")
            #expect(tooBig.hasSuffix(#"{"message":"Request Header Fields Too Large"}"#))
        }
    }
}

/// Sends raw bytes and reads until the server closes the connection.
enum RawTCP {
    static func exchange(port: Int, send: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: send))
            var text = ""
            for try await chunk in inbound { text += String(buffer: chunk) }
            return text
        }
    }
}

/// The idle timeout of HTTP/1.1 connections.
@Suite struct IdleTimeoutTests {
    @Test func idleConnectionsCloseButBusyOnesDoNot() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.write("gateway.yaml", """
        listen: {http: 127.0.0.1:0}
        limits: {idleTimeout: 300ms}
        """)
        try folder.write("api.yaml", """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /slow:
            get: {x-gateway: {function: test.slow}, responses: {'200': {description: ok}}}
        """)
        var registry = FunctionRegistry()
        registry.register("test.slow", ClosureFunction { _, _ in
            try await Task.sleep(for: .milliseconds(900))
            return .value(["done": true])
        })
        let plan = try PlanCompiler(functionNames: registry.names).compile(configPath: folder.config)
        var logger = Logger(label: "idle")
        logger.logLevel = .critical
        let server = try GatewayServer(runtime: try GatewayRuntime(plan: plan, functions: registry), logger: logger, threads: 1)
        try await server.start()
        defer { Task { try? await server.shutdown() } }
        let port = server.httpPort!

        // Nothing sent: the server closes the connection after the idle timeout. (If it never did,
        // the test closes it after 20 s and fails, rather than hanging.)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
        let timedOut = NIOLockedValueBox(false)
        let guardTimer = channel.eventLoop.scheduleTask(in: .seconds(20)) {
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        try await channel.closeFuture.get()
        guardTimer.cancel()
        #expect(!timedOut.withLockedValue { $0 }, "an idle connection is closed by the gateway")

        // A request that takes three idle timeouts to answer still gets its answer on the connection.
        let reply = try await RawTCP.exchange(port: port, send: "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply)")
        #expect(reply.hasSuffix(#"{"done":true}"#))
    }
}
