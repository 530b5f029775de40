import AsyncHTTPClient
import Foundation
import GatewayFunctions
import NIOCore
import NIOHTTP1
import Testing

/// The drain over HTTP/2: a stream in flight when the gateway stops is answered (GOAWAY, then the
/// connection closes after its last stream), and the drain ends once it has.
@Suite struct DrainEndToEndTests {
    /// The gateway in front of a backend that answers after `delay`, with a shutdownTimeout (20 s)
    /// no drain here should reach.
    func start(backendDelay delay: Duration) async throws -> (TestFolder, FakeBackend, InProcessGateway) {
        let folder = try TestFolder()
        let backend = try await FakeBackend.start()
        try folder.writeGateway("""
        upstreams: {legacy: {targets: ['http://127.0.0.1:\(backend.port)']}}
        default: {upstream: legacy}
        shutdownTimeout: 20s
        """)
        backend.control.withLockedValue { $0.delay = delay }
        return (folder, backend, try await InProcessGateway.start(folder, registry: FunctionRegistry()))
    }

    @Test func anHTTP2StreamInFlightIsAnsweredWhileTheGatewayDrains() async throws {
        let (folder, backend, gateway) = try await start(backendDelay: .seconds(1))
        defer { folder.remove() }
        let slow = Task { () -> (HTTPResponseStatus, HTTPVersion) in
            let response = try await gateway.client.execute(HTTPClientRequest(url: gateway.base + "/slow"), timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return (response.status, response.version)
        }
        try await TestFolder.eventually { backend.requests == 1 }
        let started = ContinuousClock.now
        try await gateway.server.shutdown()
        let took = ContinuousClock.now - started
        let (status, version) = try await slow.value
        #expect(version == .http2)
        #expect(status == .ok, "the stream in flight was answered")
        #expect(took < .seconds(15), "the drain ended when the last stream did, not at shutdownTimeout (\(took))")
        #expect(gateway.server.openConnections == 0)
        try? await gateway.client.shutdown()
        await backend.stop()
    }

    /// A gateway draining while stream 1 of a raw HTTP/2 connection waits for its answer (the
    /// backend answers after `delay`): `body` runs once the first GOAWAY came, then the drain is
    /// awaited; what `body` returns is how long the drain took from its start.
    func whileDraining(backendDelay delay: Duration,
                       _ body: (RawConnection, FakeBackend) async throws -> Void) async throws -> Duration {
        let (folder, backend, gateway) = try await start(backendDelay: delay)
        defer { folder.remove() }
        let connection = try await RawConnection.open(port: gateway.server.httpsPort!, caFile: folder.certs.caCertificate, alpn: ["h2"])
        try await connection.send(H2.start + H2.request("GET", "/old/a", stream: 1))
        try await TestFolder.eventually { backend.requests == 1 }
        let started = ContinuousClock.now
        let drain = Task { try await gateway.server.shutdown() }
        #expect(await connection.waitFor { H2.frames($0).contains { $0.type == H2.goAway } })
        try await body(connection, backend)
        try await drain.value
        let took = ContinuousClock.now - started
        await connection.close()
        try? await gateway.client.shutdown()
        await backend.stop()
        return took
    }

    /// The drain on the wire: GOAWAY with the highest stream ID first; a stream the client opens
    /// after it is refused (REFUSED_STREAM: not processed, the client may retry it); the one in
    /// flight is answered; then GOAWAY naming it as the last stream taken, and the close.
    @Test func aDrainingHTTP2ConnectionRefusesNewStreamsAndEndsWithTheLastStreamItTook() async throws {
        _ = try await whileDraining(backendDelay: .seconds(1)) { connection, backend in
            try await connection.send(H2.request("GET", "/old/b", stream: 3))
            #expect(await connection.waitForClose(limit: .seconds(10)) != nil)
            let frames = H2.frames(connection.received)
            let goAways = frames.filter { $0.type == H2.goAway }.map { Array($0.payload.prefix(8)) }
            #expect(goAways == [[0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0]], "\(goAways)")
            #expect(frames.contains { $0.stream == 3 && $0.type == H2.rstStream && $0.payload == [0, 0, 0, 7] }, "stream 3 refused")
            #expect(H2.responses(connection.received)[1]?.status == 200)
            #expect(backend.requests == 1)
        }
    }

    /// The client resets the last stream of a draining HTTP/2 connection: the connection closes
    /// then, and the drain ends, not at shutdownTimeout.
    @Test func aDrainingHTTP2ConnectionWhoseLastStreamIsResetCloses() async throws {
        let took = try await whileDraining(backendDelay: .seconds(5)) { connection, _ in
            try await connection.send(H2.frame(H2.rstStream, stream: 1, payload: [0, 0, 0, 8]))
            #expect(await connection.waitForClose(limit: .seconds(4)) != nil, "closed once its last stream ended")
        }
        #expect(took < .seconds(15), "the drain did not wait for shutdownTimeout")
    }
}
