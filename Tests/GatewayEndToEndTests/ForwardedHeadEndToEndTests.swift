import Foundation
import GatewayFunctions
import GatewayServer
import GatewayStore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// An HTTP/1.1 client's response is written from the upstream head's field bytes, with the
/// gateway's fields after them, unless a decoration must edit fields: seen byte for byte on a raw
/// connection, against a backend that answers with canned bytes (spellings, framings and
/// hop-by-hop fields no NIO server would send).
@Suite struct ForwardedHeadEndToEndTests {
    /// Answers each request head with the bytes its path's last segment names (the head only, for
    /// HEAD).
    final class CannedBackend: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        static let answers: [String: (head: String, body: String)] = [
            "/chunked": ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
                         + "X-Kept:  spaced value \t\r\nkeep-alive: timeout=5\r\n\r\n", "3\r\nabc\r\n0\r\n\r\n"),
            "/length": ("HTTP/1.1 200 OK\nContent-Length: 5\nContent-Type:text/plain\n\n", "hello"),
            "/request-id": ("HTTP/1.1 200 OK\r\nX-Request-ID: from-upstream\r\nContent-Length: 2\r\n\r\n", "ok"),
            "/no-content": ("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nETag: \"e\"\r\n\r\n", ""),
            "/no-content-length": ("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\nETag: \"e\"\r\n\r\n", ""),
            "/big": ("HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n", String(repeating: "b", count: 10_000)),
        ]

        let pending = NIOLockedValueBox<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            var heads: [String] = []
            pending.withLockedValue { pending in
                pending.append(contentsOf: bytes.readableBytesView)
                while let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                    heads.append(String(decoding: pending[..<end.lowerBound], as: UTF8.self))
                    pending.removeSubrange(..<end.upperBound)
                }
            }
            for head in heads {
                let words = head.split(separator: " ")
                let name = "/" + (words[1].split(separator: "/").last.map(String.init) ?? "")
                let answer = Self.answers[name] ?? ("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "")
                let bytes = answer.head + (words[0] == "HEAD" ? "" : answer.body)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bytes)), promise: nil)
            }
        }
    }

    struct Setup {
        let folder: TestFolder
        let backend: any Channel
        let gateway: InProcessGateway
        let key: String
        var port: Int { gateway.server.httpPort! }

        func stop() async {
            await gateway.stop()
            try? await backend.close()
            folder.remove()
        }
    }

    static func start() async throws -> Setup {
        let backend = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(CannedBackend()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let folder = try TestFolder()
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:0, http: 127.0.0.1:0}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        state: \(folder.path)/state.sqlite
        upstreams: {canned: {targets: ['http://127.0.0.1:\(backend.localAddress!.port!)']}}
        default: {upstream: canned}
        plans: {basic: {rate: 100, burst: 100}}
        """)
        try folder.write("api.yaml", """
        openapi: 3.0.3
        info: {title: canned, version: '1'}
        components:
          securitySchemes:
            key: {type: apiKey, in: header, name: x-api-key}
        paths:
          /keyed/length:
            get: {security: [{key: []}], x-gateway: {upstream: canned}, responses: {'200': {description: ok}}}
          /cors/length:
            get:
              x-gateway-cors: {allowOrigins: ['https://app.example.com']}
              x-gateway: {upstream: canned}
              responses: {'200': {description: ok}}
        """)
        let gateway = try await InProcessGateway.start(folder, registry: FunctionRegistry())
        let store = try StateStore(path: "\(folder.path)/state.sqlite")
        let (_, secret) = try store.createKey(plan: "basic", name: "canned", expiresAt: nil)
        try gateway.server.refreshKeys()
        return Setup(folder: folder, backend: backend, gateway: gateway, key: secret)
    }

    /// One response read from `connection` after `offset`: its head lines (the status line
    /// first) and its body, framed by Content-Length, chunked (the chunks as sent), or none.
    static func response(_ connection: RawConnection, after offset: Int, bodyless: Bool = false) async throws
        -> (lines: [String], body: String, end: Int) {
        var parsed: (lines: [String], body: String, end: Int)?
        _ = await connection.waitFor { received in
            let bytes = Array(received[offset...])
            guard let headEnd = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return false }
            let lines = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let rest = Array(bytes[headEnd.upperBound...])
            let length = lines.first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
            let chunked = lines.contains { $0.lowercased() == "transfer-encoding: chunked" }
            let bodyLength: Int
            if bodyless {
                bodyLength = 0
            } else if let length {
                bodyLength = length
            } else if chunked {
                guard let last = rest.firstRange(of: Array("0\r\n\r\n".utf8)) else { return false }
                bodyLength = last.upperBound
            } else {
                bodyLength = 0
            }
            guard rest.count >= bodyLength else { return false }
            parsed = (lines, String(decoding: rest[..<bodyLength], as: UTF8.self), offset + headEnd.upperBound + bodyLength)
            return true
        }
        return try #require(parsed, "no whole response in \(connection.text.debugDescription)")
    }

    /// The head's fields other than the request id (which differs per request), and that id.
    static func fields(_ lines: [String]) -> (fields: [String], requestIds: [String]) {
        let fields = Array(lines.dropFirst())
        return (fields.filter { !$0.lowercased().hasPrefix("x-request-id:") },
                fields.filter { $0.lowercased().hasPrefix("x-request-id:") })
    }

    /// A 204 an upstream sent with a Content-Length (which a server must not send there) reaches
    /// an HTTP/2 client as a 204 without it: NIOHTTP2 refuses a head whose length its (absent)
    /// body does not have, and the client would wait for an answer that never comes.
    @Test func anUpstream204WithAContentLengthReachesAnHTTP2Client() async throws {
        let setup = try await Self.start()
        do {
            let connection = try await RawConnection.open(port: setup.gateway.server.httpsPort!,
                                                          caFile: setup.folder.certs.caCertificate, alpn: ["h2"])
            try await connection.send(H2.start + H2.request("GET", "/no-content-length", stream: 1)
                + H2.request("GET", "/length", stream: 3))
            let ended = await connection.waitFor { bytes in
                Set(H2.frames(bytes).filter { $0.flags & H2.endStream != 0 }.map(\.stream)).isSuperset(of: [1, 3])
            }
            #expect(ended)
            let responses = H2.responses(connection.received)
            #expect(responses[1]?.status == 204)
            #expect(responses[3]?.status == 200 && responses[3]?.body == "hello")
            await connection.close()
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test func anHTTP11ClientGetsTheUpstreamsFieldsAsSentWithTheGatewaysAfterThem() async throws {
        let setup = try await Self.start()
        do {
            let connection = try await RawConnection.open(port: setup.port)
            var at = 0

            try await connection.send("GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
            let chunked = try await Self.response(connection, after: at)
            at = chunked.end
            #expect(chunked.lines.first == "HTTP/1.1 200 OK")
            // Hop-by-hop fields, and the one the upstream's Connection names, are gone; the
            // gateway frames the body itself.
            #expect(Self.fields(chunked.lines).fields == ["X-Kept: spaced value", "transfer-encoding: chunked"])
            #expect(Self.fields(chunked.lines).requestIds.count == 1)
            #expect(chunked.body == "3\r\nabc\r\n0\r\n\r\n")

            try await connection.send("GET /length HTTP/1.1\r\nHost: x\r\nX-Request-ID: mine\r\n\r\n")
            let length = try await Self.response(connection, after: at)
            at = length.end
            #expect(length.lines == ["HTTP/1.1 200 OK", "Content-Length: 5", "Content-Type: text/plain", "x-request-id: mine"])
            #expect(length.body == "hello")

            // HEAD: the framing of the GET, no body; the next response follows right after.
            try await connection.send("HEAD /length HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try await Self.response(connection, after: at, bodyless: true)
            at = head.end
            #expect(Self.fields(head.lines).fields == ["Content-Length: 5", "Content-Type: text/plain"])

            // The upstream's own request id stays, and is the only one.
            try await connection.send("GET /request-id HTTP/1.1\r\nHost: x\r\n\r\n")
            let requestId = try await Self.response(connection, after: at)
            at = requestId.end
            #expect(Self.fields(requestId.lines).requestIds.map { $0.lowercased() } == ["x-request-id: from-upstream"])
            #expect(requestId.body == "ok")

            // 204: the Content-Length goes (RFC 9110 §8.6).
            try await connection.send("GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n")
            let noContent = try await Self.response(connection, after: at, bodyless: true)
            at = noContent.end
            #expect(noContent.lines.first == "HTTP/1.1 204 No Content")
            #expect(Self.fields(noContent.lines).fields.map { $0.lowercased() } == ["etag: \"e\""])

            try await connection.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            let big = try await Self.response(connection, after: at)
            at = big.end
            #expect(big.body == String(repeating: "b", count: 10_000))

            // A keyed route: the RateLimit fields after the request id.
            try await connection.send("GET /keyed/length HTTP/1.1\r\nHost: x\r\nx-api-key: \(setup.key)\r\n\r\n")
            let keyed = try await Self.response(connection, after: at)
            at = keyed.end
            #expect(Self.fields(keyed.lines).fields.map { $0.components(separatedBy: ":").first! }
                    == ["Content-Length", "Content-Type", "ratelimit-policy", "ratelimit"])
            #expect(keyed.body == "hello")

            // A CORS route: decorated as fields.
            try await connection.send("GET /cors/length HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n\r\n")
            let cors = try await Self.response(connection, after: at)
            at = cors.end
            #expect(cors.lines.contains("access-control-allow-origin: https://app.example.com"))
            #expect(cors.body == "hello")
            #expect(connection.received.count == at, "nothing after the last response")
            await connection.close()

            // HTTP/1.0: no chunked framing; the body ends with the connection.
            let old = try await RawConnection.open(port: setup.port)
            try await old.send("GET /chunked HTTP/1.0\r\n\r\n")
            #expect(await old.waitForClose() != nil)
            let text = old.text
            #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(!text.lowercased().contains("transfer-encoding"))
            #expect(text.hasSuffix("\r\n\r\nabc"))
            await old.close()
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }
}
