import FlightExample
import Foundation
import GatewayCore
import GatewayFunctions
import NIOCore
import NIOHTTP1
import Testing

/// Hostile and malformed input through the real server on loopback (issue: edge hardening):
/// path spellings, request-target forms, RFC framing rules, repeated JSON keys, head and body
/// timeouts, oversized heads, the connection limit and the TLS profile.
@Suite struct EdgeEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The example API (`routes/flights.yaml`) in process, in front of a backend that answers
    /// every request it receives (so a request that slipped past a policy would show there).
    func withExample(limits: String = "", extraDocument: String? = nil,
                     _ body: (InProcessGateway, FakeBackend, TestFolder) async throws -> Void) async throws {
        let backend = try await FakeBackend.start()
        let folder = try TestFolder()
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:0, http: 127.0.0.1:0}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        state: \(folder.path)/state.sqlite
        upstreams:
          legacy: {targets: ['http://127.0.0.1:\(backend.port)']}
        default: {upstream: legacy}
        plans:
          basic: {rate: 100, burst: 100}
        \(LambdaRuntime.exampleFunctions)
        \(limits.isEmpty ? "" : "limits: {\(limits)}")
        """)
        try folder.write("flights.yaml", try String(contentsOfFile: Self.root + "/routes/flights.yaml", encoding: .utf8))
        if let extraDocument { try folder.write("extra.yaml", extraDocument) }
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        let gateway = try await InProcessGateway.start(folder, registry: registry)
        do {
            try await body(gateway, backend, folder)
        } catch {
            await gateway.stop(); await backend.stop(); folder.remove()
            throw error
        }
        await gateway.stop(); await backend.stop(); folder.remove()
    }

    /// One HTTP/1.1 request as raw text over plain TCP or TLS; the status of the answer.
    func rawStatus(_ port: Int, caFile: String? = nil, _ request: String) async throws -> Int? {
        let connection = try await RawConnection.open(port: port, caFile: caFile, alpn: caFile == nil ? [] : ["http/1.1"])
        defer { Task { await connection.close() } }
        try await connection.send(request)
        _ = await connection.waitFor { bytes in String(decoding: bytes, as: UTF8.self).contains("\r\n\r\n") }
        let text = connection.text
        guard text.hasPrefix("HTTP/1.1 ") || text.hasPrefix("HTTP/1.0 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    /// Requests over raw HTTP/2 frames on one TLS connection; each stream's status.
    func h2Statuses(_ port: Int, caFile: String, _ requests: [[UInt8]]) async throws -> [UInt32: Int] {
        let connection = try await RawConnection.open(port: port, caFile: caFile, alpn: ["h2"])
        defer { Task { await connection.close() } }
        try await connection.send(H2.start + requests.joined())
        let streams = Set(H2.frames(requests.joined().map { $0 }).map(\.stream))
        _ = await connection.waitFor { bytes in
            let done = H2.frames(bytes).filter { $0.flags & H2.endStream != 0 }.map(\.stream)
            return streams.isSubset(of: Set(done))
        }
        return H2.responses(connection.received).mapValues(\.status)
    }

    // MARK: path spellings

    @Test func noSpellingOfAProtectedPathReachesTheBackend() async throws {
        try await withExample { gateway, backend, folder in
            let http = gateway.server.httpPort!, https = gateway.server.httpsPort!
            let ca = folder.certs.caCertificate
            let spellings: [(String, String, Int)] = [
                ("GET", "//alerts", 401),
                ("GET", "/x/../alerts", 401),
                ("GET", "/%61lerts", 401),
                ("GET", "/alerts/./", 401),
                ("POST", "/flights%2FLH123-1%2Fnotifications", 400),
                ("POST", "/flights/LH123-1/./notifications", 403),
                ("POST", "//flights//LH123-1/notifications", 403),
                ("POST", "/flights/x/../LH123-1/notifications", 403),
                ("POST", "http://evil.example/flights/LH123-1/notifications", 403),
                ("GET", "HTTP://evil.example//x/..//alerts?flightId=1", 401),
            ]
            for (method, target, expected) in spellings {
                let request = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                #expect(try await rawStatus(http, request) == expected, "HTTP/1.1 \(method) \(target)")
                #expect(try await rawStatus(https, caFile: ca, request) == expected, "HTTPS \(method) \(target)")
            }
            let h2 = spellings.enumerated().filter { !$0.element.1.lowercased().hasPrefix("http") }
            let frames = h2.map { index, spelling in H2.request(spelling.0, spelling.1, stream: UInt32(2 * index + 1)) }
            let statuses = try await h2Statuses(https, caFile: ca, frames)
            for (index, spelling) in h2 {
                #expect(statuses[UInt32(2 * index + 1)] == spelling.2, "HTTP/2 \(spelling.0) \(spelling.1)")
            }
            #expect(backend.requests == 0, "a spelling reached the backend")
        }
    }

    @Test func theBackendReceivesThePathThatWasMatchedAndTheAuthorityReplacesHost() async throws {
        try await withExample { gateway, backend, _ in
            let connection = try await RawConnection.open(port: gateway.server.httpPort!)
            try await connection.send("GET http://evil.example/old//a/./b/../c%7e?q=%2F HTTP/1.1\r\nHost: gw.example\r\nConnection: close\r\n\r\n")
            _ = await connection.waitForClose()
            let text = connection.text
            #expect(text.hasPrefix("HTTP/1.1 200"), "\(text)")
            #expect(text.contains(#""uri":"\/old\/a\/c~?q=%2F""#) || text.contains(#""uri":"/old/a/c~?q=%2F""#), "\(text)")
            #expect(text.contains(#""x-forwarded-host":["evil.example"]"#), "\(text)")
            #expect(text.contains(#""host":["127.0.0.1:\#(backend.port)"]"#), "\(text)")
        }
    }

    /// A request whose FIN comes in the same read: NIO closes the client's connection as soon as
    /// that read is over. An answer the gateway gives itself is flushed inside the read, so it is
    /// out before the close; a proxied request on a pooled connection still reaches the backend
    /// (its flush is not left for the end of the loop's tick when the exchange is cancelled).
    @Test func aRequestSentWithTheClientsFINIsStillAnsweredAndForwarded() async throws {
        try await withExample { gateway, backend, _ in
            let port = gateway.server.httpPort!
            let answered = try await RawConnection.open(port: port)
            try await answered.sendWithEnd("TRACE /flights HTTP/1.1\r\nHost: gw.example\r\n\r\n")
            _ = await answered.waitForClose()
            #expect(answered.text.hasPrefix("HTTP/1.1 405"), "\(answered.text)")
            // A pooled upstream connection on each event loop first (the in-process gateway runs
            // two, and takes connections in turns), then a proxied request with the FIN.
            for _ in 0..<2 {
                #expect(try await rawStatus(port, "GET /old/warm HTTP/1.1\r\nHost: gw.example\r\n\r\n") == 200)
            }
            let before = backend.requests
            let closing = try await RawConnection.open(port: port)
            try await closing.sendWithEnd("GET /old/closing HTTP/1.1\r\nHost: gw.example\r\n\r\n")
            _ = await closing.waitForClose()
            try await TestFolder.eventually { backend.requests > before }
            #expect(backend.requests == before + 1)
        }
    }

    @Test func encodedSlashesAreKeptWhenConfigured() async throws {
        try await withExample(limits: "escapedSlashes: keep") { gateway, backend, _ in
            let response = try await gateway.send(.GET, "/files/a%2fb")
            #expect(response.status == .ok)
            #expect(response.json?["uri"] == "/files/a%2Fb")
            // A key-protected route stays protected: its literal segments cannot hold an encoded slash.
            let protected = try await gateway.send(.POST, "/flights%2FLH123-1%2Fnotifications", body: "{}")
            #expect(protected.status == .ok || protected.status == .forbidden)
            #expect(backend.requests == (protected.status == .ok ? 2 : 1))
        }
    }

    // MARK: repeated JSON keys

    @Test func aRepeatedKeyIsRefusedWithItsPointerOnValidatedAndUnvalidatedRoutes() async throws {
        let unvalidated = """
        openapi: 3.1.0
        info: {title: extra, version: '1'}
        paths:
          /raw-flights:
            post: {x-gateway: {function: flights.create, validate: false}, responses: {'201': {description: ok}}}
        """
        try await withExample(extraDocument: unvalidated) { gateway, _, _ in
            let many = Array(repeating: #"{"name":"A","email":"a@example.com","phone":"+4915112345678"}"#, count: 600)
                .joined(separator: ",")
            let body = #"{"flightNumber":"LH123","origin":"FRA","destination":"JFK","departure":"2026-12-01T10:00:00Z","passengers":[\#(many)],"passengers":[]}"#
            for path in ["/flights", "/raw-flights"] {
                let response = try await gateway.send(.POST, path, body: body, headers: [("content-type", "application/json")])
                #expect(response.status == .badRequest, "\(path): \(response.text)")
                #expect(response.json?["message"] == "Invalid request body")
                #expect(response.json?["errors"]?.arrayValue?.first?["pointer"] == "/passengers", "\(response.text)")
            }
            let alerts = try await gateway.send(.GET, "/alerts?flightId=LH123-1", headers: [("authorization", "Bearer demo-LH")])
            #expect(alerts.status == .ok, "\(alerts.text)")
            #expect(!alerts.text.contains("LH123-1"), "no flight was stored: \(alerts.text)")
        }
    }

    // MARK: RFC rules

    @Test func framingAndMethodRules() async throws {
        try await withExample { gateway, backend, _ in
            let port = gateway.server.httpPort!
            #expect(try await rawStatus(port, "GET /old HTTP/1.1\r\n\r\n") == 400, "no Host")
            #expect(try await rawStatus(port, "GET /old HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400, "two Hosts")
            #expect(try await rawStatus(port, "POST /old HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400,
                    "Transfer-Encoding in HTTP/1.0")
            #expect(try await rawStatus(port, "TRACE /old HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer secret\r\n\r\n") == 405)
            #expect(try await rawStatus(port, "TRACE /alerts HTTP/1.1\r\nHost: a\r\n\r\n") == 405)
            #expect(try await rawStatus(port, "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n") == 400)
            #expect(try await rawStatus(port, "CONNECT /old HTTP/1.1\r\nHost: a\r\n\r\n") == 405)
            #expect(try await rawStatus(port, "GET /old HTTP/1.0\r\n\r\n") == 200, "HTTP/1.0 may omit Host")
            #expect(backend.requests == 1)
            // After a request that filled the connection's field memo, a request line ending in
            // CRLF and a bare LF: a 400 for it, and the gateway serves on.
            let memo = try await RawConnection.open(port: port)
            try await memo.send("GET /old HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = await memo.waitFor { bytes in
                // The whole first response: its head and Content-Length bytes of body.
                let text = String(decoding: bytes, as: UTF8.self)
                guard let headEnd = text.range(of: "\r\n\r\n"),
                      let field = text[..<headEnd.lowerBound].split(separator: "\r\n")
                          .first(where: { $0.lowercased().hasPrefix("content-length:") }),
                      let length = Int(field.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                else { return false }
                return text.utf8.count - text[..<headEnd.upperBound].utf8.count >= length
            }
            try await memo.send("GET /old HTTP/1.1\r\n\n")
            _ = await memo.waitFor { String(decoding: $0, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").count >= 3 }
            #expect(memo.text.hasPrefix("HTTP/1.1 200") && memo.text.contains("HTTP/1.1 400"), "\(memo.text)")
            #expect(await memo.waitForClose() != nil)
            #expect(try await rawStatus(port, "GET /old HTTP/1.1\r\nHost: a\r\n\r\n") == 200)
            #expect(backend.requests == 3)
            // After a 400 for framing the connection is closed.
            let connection = try await RawConnection.open(port: port)
            try await connection.send("GET /old HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
            #expect(await connection.waitForClose() != nil)
        }
    }

    @Test func oversizedHeadsAre431OnHTTP1AndHTTP2() async throws {
        try await withExample(limits: "maxHeaderBytes: 4096, maxHeaders: 20") { gateway, backend, folder in
            let port = gateway.server.httpPort!
            let many = (0..<30).map { "X-H\($0): 1\r\n" }.joined()
            #expect(try await rawStatus(port, "GET /old HTTP/1.1\r\nHost: a\r\n\(many)\r\n") == 431, "more than maxHeaders")
            let big = "X-Big: " + String(repeating: "a", count: 5000) + "\r\n"
            #expect(try await rawStatus(port, "GET /old HTTP/1.1\r\nHost: a\r\n\(big)\r\n") == 431, "over maxHeaderBytes")
            // Many small fields that NIO's own count of names and values lets through: the whole head is over.
            let small = (0..<19).map { "X-\($0): " + String(repeating: "v", count: 210) + "\r\n" }.joined()
            #expect(try await rawStatus(port, "GET /old HTTP/1.1\r\nHost: a\r\n\(small)\r\n") == 431, "whole head over maxHeaderBytes")
            let h2 = try await h2Statuses(gateway.server.httpsPort!, caFile: folder.certs.caCertificate, [
                H2.request("GET", "/old", stream: 1, extra: (0..<30).map { ("x-h\($0)", "1") }),
                H2.request("GET", "/old", stream: 3, extra: [("x-big", String(repeating: "a", count: 5000))]),
                H2.request("GET", "/old", stream: 5),
            ])
            #expect(h2[1] == 431)
            #expect(h2[3] == 431)
            #expect(h2[5] == 200, "the connection still serves")
            #expect(backend.requests == 1)
        }
    }

    // MARK: timeouts

    @Test func aStalledHeadGets408AndTheConnectionCloses() async throws {
        try await withExample(limits: "headerTimeout: 1s") { gateway, backend, _ in
            let connection = try await RawConnection.open(port: gateway.server.httpPort!)
            try await connection.send("GET /old HTTP/1.1\r\nHost: a\r\nX-Slow: ")
            let closedAfter = await connection.waitForClose()
            #expect(closedAfter != nil)
            #expect(connection.text.hasPrefix("HTTP/1.1 408"), "\(connection.text)")
            #expect(connection.text.hasSuffix(#"{"message":"Request Timeout"}"#))
            #expect(backend.requests == 0)
            // A connection that never sends a byte is closed too, without an answer.
            let silent = try await RawConnection.open(port: gateway.server.httpPort!)
            #expect(await silent.waitForClose() != nil)
            #expect(silent.received.isEmpty)
        }
    }

    @Test func aStalledBodyGets408OnHTTP1AndHTTP2() async throws {
        try await withExample(limits: "bodyTimeout: 1s") { gateway, _, folder in
            // A function route reads the whole body; an upstream route streams it.
            for path in ["/flights", "/old/upload"] {
                let connection = try await RawConnection.open(port: gateway.server.httpPort!)
                try await connection.send("POST \(path) HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"fl")
                #expect(await connection.waitForClose() != nil, "\(path)")
                #expect(connection.text.hasPrefix("HTTP/1.1 408"), "\(path): \(connection.text)")
            }
            let connection = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate, alpn: ["h2"])
            try await connection.send(H2.start + H2.request("POST", "/flights", stream: 1, extra: [("content-type", "application/json")],
                                                              endStream: false)
                + H2.frame(H2.data, stream: 1, payload: Array("{\"fl".utf8)))
            #expect(await connection.waitFor { H2.responses($0)[1] != nil })
            #expect(H2.responses(connection.received)[1]?.status == 408)
            await connection.close()
        }
    }

    /// An HTTP/2 request of any method may carry a body without `content-length`; the upstream
    /// (HTTP/1.1) must get it framed. Unframed, its bytes would be read there as a request of
    /// their own, one no policy saw, whose answer the next request on that connection would get.
    @Test func anHTTP2BodyWithoutALengthReachesTheUpstreamFramedWhateverTheMethod() async throws {
        try await withExample { gateway, backend, folder in
            let connection = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate, alpn: ["h2"])
            defer { Task { await connection.close() } }
            let smuggled = Array("GET /old/smuggled HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            func ended(_ stream: UInt32) async -> Bool {
                await connection.waitFor { H2.frames($0).contains { $0.stream == stream && $0.flags & H2.endStream != 0 } }
            }
            var stream: UInt32 = 1
            for method in ["GET", "DELETE"] {
                try await connection.send((stream == 1 ? H2.start : []) + H2.request(method, "/old/first", stream: stream, endStream: false)
                    + H2.frame(H2.data, flags: H2.endStream, stream: stream, payload: smuggled))
                #expect(await ended(stream), "\(method)")
                try await connection.send(H2.request("GET", "/old/second", stream: stream + 2))
                #expect(await ended(stream + 2), "\(method)")
                let responses = H2.responses(connection.received)
                let first = try #require(responses[stream]).body, second = try #require(responses[stream + 2]).body
                let echoed = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
                #expect(echoed["uri"] as? String == "/old/first" && echoed["bodyBytes"] as? Int == smuggled.count, "\(method): \(first)")
                #expect((echoed["headers"] as? [String: [String]])?["transfer-encoding"] == ["chunked"], "\(method): \(first)")
                let next = try #require(try JSONSerialization.jsonObject(with: Data(second.utf8)) as? [String: Any])
                #expect(next["uri"] as? String == "/old/second", "\(method): \(second)")
                stream += 4
            }
            #expect(backend.requests == 4, "no request of the body's own reached the backend")
        }
    }

    /// Answered before its body ended (here refused for want of an API key), an HTTP/2 request's
    /// stream is reset with NO_ERROR once the answer is out, so the client stops sending the body
    /// (RFC 9113 §8.1), instead of the stream waiting for it until the body timeout.
    @Test func anHTTP2RequestAnsweredBeforeItsBodyEndedIsResetWithNoError() async throws {
        try await withExample { gateway, backend, folder in
            let connection = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate, alpn: ["h2"])
            defer { Task { await connection.close() } }
            // A stream window of 10 bytes: the answer's body waits in NIOHTTP2 for more window,
            // and the reset must come after it (a reset drops what NIOHTTP2 still holds).
            let smallWindow = H2.frame(H2.settings, payload: [0, 4, 0, 0, 0, 10])
            try await connection.send(H2.preface + smallWindow + H2.request("GET", "/alerts", stream: 1, endStream: false)
                + H2.frame(H2.data, stream: 1, payload: Array("part of a body".utf8)))
            #expect(await connection.waitFor { H2.frames($0).contains { $0.stream == 1 && $0.type == H2.data } })
            #expect(!H2.frames(connection.received).contains { $0.type == H2.rstStream }, "not before the answer is out")
            try await connection.send(H2.frame(H2.windowUpdate, stream: 1, payload: [0, 0, 0x10, 0]))
            #expect(await connection.waitFor { H2.frames($0).contains { $0.stream == 1 && $0.type == H2.rstStream } })
            let answer = try #require(H2.responses(connection.received)[1])
            #expect(answer.status == 401)
            #expect((try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) != nil, "the whole body: \(answer.body)")
            let reset = H2.frames(connection.received).first { $0.stream == 1 && $0.type == H2.rstStream }
            #expect(reset?.payload == [0, 0, 0, 0], "NO_ERROR")
            #expect(backend.requests == 0)
        }
    }

    @Test func aStalledHTTP2HeaderBlockEndsTheConnection() async throws {
        try await withExample(limits: "headerTimeout: 1s") { gateway, _, folder in
            let connection = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate, alpn: ["h2"])
            let block = H2.block([(":method", "GET"), (":scheme", "https"), (":authority", "localhost"), (":path", "/old")])
            try await connection.send(H2.start + H2.frame(H2.headers, stream: 1, payload: block))
            #expect(await connection.waitForClose() != nil)
            #expect(H2.goAwayError(connection.received) == 0xB, "GOAWAY(ENHANCE_YOUR_CALM)")
        }
    }

    @Test func aSocketThatNeverStartsTLSIsClosed() async throws {
        try await withExample(limits: "handshakeTimeout: 1s") { gateway, _, _ in
            let connection = try await RawConnection.open(port: gateway.server.httpsPort!)
            #expect(await connection.waitForClose() != nil)
            #expect(connection.received.isEmpty)
        }
    }

    @Test func aConnectionThatCompletedItsHandshakeOutlivesTheHandshakeTimeout() async throws {
        try await withExample(limits: "handshakeTimeout: 1s") { gateway, _, folder in
            // HTTP/1.1 over TLS: a request, a wait past the handshake timeout, a request on the same connection.
            let h1 = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate, alpn: ["http/1.1"])
            try await h1.send("GET /old HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await h1.waitFor { String(decoding: $0, as: UTF8.self).contains("\"uri\"") })
            try await Task.sleep(for: .milliseconds(1600))
            #expect(!h1.isClosed, "a served TLS connection was closed by the handshake timer")
            let before = h1.received.count
            try await h1.send("GET /old HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await h1.waitFor { $0.count > before && String(decoding: $0[before...], as: UTF8.self).contains("\"uri\"") })
            await h1.close()
            // HTTP/2: the same, over one connection.
            let h2 = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate, alpn: ["h2"])
            try await h2.send(H2.start + H2.request("GET", "/old", stream: 1))
            #expect(await h2.waitFor { H2.responses($0)[1]?.status == 200 })
            try await Task.sleep(for: .milliseconds(1600))
            #expect(!h2.isClosed, "a served HTTP/2 connection was closed by the handshake timer")
            try await h2.send(H2.request("GET", "/old", stream: 3))
            #expect(await h2.waitFor { H2.responses($0)[3]?.status == 200 })
            await h2.close()
        }
    }

    // MARK: connection limit

    @Test func atTheConnectionLimitTheOldestUnservedConnectionsMakeRoom() async throws {
        try await withExample(limits: "maxConnections: 6, headerTimeout: 60s") { gateway, _, _ in
            let port = gateway.server.httpPort!
            // One served keep-alive connection, then idle sockets that never send a request.
            let served = try await RawConnection.open(port: port)
            try await served.send("GET /old HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await served.waitFor { String(decoding: $0, as: UTF8.self).contains("\"uri\"") })
            var idle: [RawConnection] = []
            for _ in 0..<8 {
                idle.append(try await RawConnection.open(port: port))
                try await Task.sleep(for: .milliseconds(50))
            }
            // A new client is still served: the oldest idle sockets were closed to make room.
            #expect(try await rawStatus(port, "GET /old HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") == 200)
            #expect(await idle[0].waitForClose(limit: .seconds(5)) != nil, "the oldest idle socket was closed")
            #expect(!served.isClosed, "a connection that completed a request is not evicted")
            #expect(gateway.server.openConnections <= 6)
            for c in idle + [served] { await c.close() }
        }
    }

    // MARK: TLS profile

    @Test func cbcAndSHA1SuitesAreRefused() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            print("skipped: /usr/bin/openssl is not installed")
            return
        }
        try await withExample { gateway, _, folder in
            func handshake(_ cipher: String) throws -> Bool {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
                process.arguments = ["s_client", "-connect", "127.0.0.1:\(gateway.server.httpsPort!)", "-tls1_2",
                                     "-cipher", cipher, "-CAfile", folder.certs.caCertificate]
                let input = Pipe()
                process.standardInput = input
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                input.fileHandleForWriting.closeFile()
                process.waitUntilExit()
                return process.terminationStatus == 0
            }
            for cipher in ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "AES256-SHA"] {
                let accepted = try handshake(cipher)
                #expect(!accepted, "\(cipher) was accepted")
            }
            let aead = try handshake("ECDHE-ECDSA-AES128-GCM-SHA256")
            #expect(aead, "an AEAD suite with forward secrecy works")
        }
    }
}
