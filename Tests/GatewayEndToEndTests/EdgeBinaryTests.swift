import AsyncHTTPClient
import Foundation
import GatewayCore
import NIOCore
import NIOSSL
import Testing

/// HTTP/2 floods and shutdown against the real `gateway` binary: the connection is closed soon
/// after the flood starts, the process stays alive with bounded memory, and SIGTERM always ends it.
@Suite(.serialized) struct EdgeBinaryTests {
    struct Served {
        let process: Process
        let folder: TestFolder
        let backend: FakeBackend
        let https: Int
        let http: Int
        let log: String

        func stop() async {
            GatewayBinary.stop(process)
            await backend.stop()
            folder.remove()
        }

        /// A plain request over TLS still gets its answer.
        func stillServes() async throws -> Bool {
            let connection = try await RawConnection.open(port: https, caFile: folder.certs.caCertificate, alpn: ["http/1.1"])
            defer { Task { await connection.close() } }
            try await connection.send("GET /still-here HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            _ = await connection.waitForClose()
            return connection.text.hasPrefix("HTTP/1.1 200")
        }
    }

    static func start(limits: String = "", extra: String = "") async throws -> Served {
        let folder = try TestFolder()
        let backend = try await FakeBackend.start()
        // Ports chosen here and closed can be taken by another test's server before the gateway
        // binds them (it then exits): a gateway that exits before it listens is started again on
        // other ports.
        for attempt in 1... {
            let https = try TestFolder.closedPort(), http = try TestFolder.closedPort()
            try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:\(https), http: 127.0.0.1:\(http)}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        state: \(folder.path)/state.sqlite
        upstreams: {legacy: {targets: ['http://127.0.0.1:\(backend.port)']}}
        default: {upstream: legacy}
        \(LambdaRuntime.exampleFunctions)
        \(limits.isEmpty ? "" : "limits: {\(limits)}")
        \(extra)
        """)
            try folder.write("flights.yaml", try String(contentsOfFile: EdgeEndToEndTests.root + "/routes/flights.yaml", encoding: .utf8))
            let log = folder.path + "/gateway.log"
            let process = try GatewayBinary.serve(config: folder.config, log: log, logLevel: "info")
            for _ in 0..<300 where process.isRunning {
                // Both listeners: the plain one may be bound a moment after the TLS one.
                if let connection = try? await RawConnection.open(port: https) {
                    await connection.close()
                    if let plain = try? await RawConnection.open(port: http) {
                        await plain.close()
                        return Served(process: process, folder: folder, backend: backend, https: https, http: http, log: log)
                    }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            GatewayBinary.stop(process)
            if attempt == 3 { throw CancellationError() }
        }
        fatalError("unreachable")
    }

    enum Flood: String, CaseIterable, CustomTestStringConvertible {
        case continuation, rapidReset, ping, settings, windowUpdate, malformedHeaders
        var testDescription: String { rawValue }

        /// One batch of the flood's frames; `n` numbers the batch.
        func batch(_ n: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            switch self {
            case .continuation:
                if n == 0 {
                    bytes += H2.frame(H2.headers, stream: 1, payload: H2.block([(":method", "GET"), (":scheme", "https"),
                                                                             (":authority", "localhost"), (":path", "/")]))
                }
                for _ in 0..<16 { bytes += H2.frame(H2.continuation, stream: 1, payload: [UInt8](repeating: 0x40, count: 16_384)) }
            case .rapidReset:
                for i in 0..<100 {
                    let stream = UInt32(2 * (n * 100 + i) + 1)
                    bytes += H2.request("GET", "/", stream: stream) + H2.frame(H2.rstStream, stream: stream, payload: [0, 0, 0, 8])
                }
            case .ping:
                for _ in 0..<200 { bytes += H2.frame(H2.ping, payload: [1, 2, 3, 4, 5, 6, 7, 8]) }
            case .settings:
                for _ in 0..<200 { bytes += H2.frame(H2.settings) }
            case .windowUpdate:
                for _ in 0..<500 { bytes += H2.frame(H2.windowUpdate, payload: [0, 0, 0, 1]) }
            case .malformedHeaders:
                // Requests the gateway resets with PROTOCOL_ERROR, each on a stream of its own.
                for i in 0..<100 {
                    bytes += H2.request("GET", "/", stream: UInt32(2 * (n * 100 + i) + 1), extra: [("connection", "close")])
                }
            }
            return bytes
        }

        /// Floods of frames that ask for answers come from a client that does not read.
        var reads: Bool { self == .continuation || self == .rapidReset || self == .windowUpdate || self == .malformedHeaders }
    }

    @Test(arguments: Flood.allCases)
    func anHTTP2FloodClosesItsConnectionAndNothingElse(flood: Flood) async throws {
        let served = try await Self.start()
        do {
            let connection = try await RawConnection.open(port: served.https, caFile: served.folder.certs.caCertificate,
                                                          alpn: ["h2"])
            try await connection.send(H2.start)
            #expect(await connection.waitFor { !H2.frames($0).isEmpty }, "the server's SETTINGS")
            if !flood.reads { try await connection.stopReading() }
            let start = ContinuousClock.now
            var batches = 0
            while !connection.isClosed && ContinuousClock.now - start < .seconds(8) {
                do { try await connection.send(flood.batch(batches)) } catch { break }
                batches += 1
            }
            let closedAfter = await connection.waitForClose(limit: .seconds(3), since: start)
            print("\(flood.rawValue) flood: \(batches) batches, connection closed after \(closedAfter.map { "\($0)" } ?? "never")")
            #expect(closedAfter != nil, "the flooding connection was not closed")
            #expect(served.process.isRunning, "the gateway died")
            #expect(try await served.stillServes(), "the gateway no longer serves")
            let peak = GatewayBinary.peakRSS(served.process.processIdentifier) ?? 0
            print("\(flood.rawValue) flood: gateway peak RSS \(peak >> 20) MiB")
            #expect(peak < 256 << 20, "peak RSS \(peak >> 20) MiB")
            await connection.close()
        } catch {
            await served.stop()
            throw error
        }
        await served.stop()
    }

    /// The gateway checks the client's header blocks itself (NIOHTTP2's checks are off): a
    /// malformed one resets its stream with PROTOCOL_ERROR, and the connection goes on serving.
    @Test func malformedHTTP2RequestsAreResetAndTheirConnectionServesTheNext() async throws {
        let served = try await Self.start()
        do {
            let connection = try await RawConnection.open(port: served.https, caFile: served.folder.certs.caCertificate,
                                                          alpn: ["h2"])
            var bytes = H2.start
            bytes += H2.request("GET", "/a", stream: 1, extra: [("connection", "close")])
            bytes += H2.request("GET", "/a", stream: 3, extra: [("te", "gzip")])
            bytes += H2.request("GET", "/a", stream: 5, extra: [("x-a", "1\r\nx-b: 2")])
            bytes += H2.frame(H2.headers, flags: H2.endHeaders | H2.endStream, stream: 7,
                              payload: H2.block([(":method", "GET"), (":scheme", "https"), (":path", "")]))
            bytes += H2.request("GET", "/still-here", stream: 9)
            try await connection.send(bytes)
            let answered = await connection.waitFor { H2.responses($0)[9]?.status == 200 }
            #expect(answered, "the valid request on the same connection was not answered")
            let resets = H2.frames(connection.received).filter { $0.type == H2.rstStream }
            #expect(resets.map(\.stream) == [1, 3, 5, 7])
            #expect(resets.allSatisfy { $0.payload == [0, 0, 0, 1] }, "PROTOCOL_ERROR")
            #expect(H2.responses(connection.received)[1] == nil)
            #expect(H2.goAwayError(connection.received) == nil)
            await connection.close()
        } catch {
            await served.stop()
            throw error
        }
        await served.stop()
    }

    /// HTTP/2's flow control through the gateway, both ways: a backend that reads slowly holds
    /// the client's upload back (the stream's window is given back only for what went on), and a
    /// client that reads slowly holds the backend's download back (the stream stops being
    /// writable while its DATA waits for window). Either one buffered would show in the peak RSS.
    @Test func http2BodiesStreamEachWayWithBoundedMemory() async throws {
        let served = try await Self.start()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(served.folder.certs.caCertificate)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = .automatic
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let base = "https://localhost:\(served.https)"
            let warm = try await client.execute(HTTPClientRequest(url: base + "/warm"), timeout: .seconds(10))
            _ = try await warm.body.collect(upTo: 1 << 20)
            #expect(warm.version == .http2)
            let before = try #require(GatewayBinary.peakRSS(served.process.processIdentifier))
            let size = 48 * 1024 * 1024

            var upload = HTTPClientRequest(url: base + "/upload-slower")
            upload.method = .POST
            upload.body = .stream(ChunkSequence(total: size), length: .known(Int64(size)))
            let uploaded = try await client.execute(upload, timeout: .seconds(120))
            let answer = try JSONValue.parse(Data(try await uploaded.body.collect(upTo: 1 << 20).readableBytesView))
            #expect(uploaded.version == .http2)
            #expect(answer["bodyBytes"] == .int(Int64(size)))

            let downloaded = try await client.execute(HTTPClientRequest(url: base + "/download?bytes=\(size)"), timeout: .seconds(120))
            let received = try await readSlowly(downloaded.body, pause: .milliseconds(10))
            #expect(received == size)
            let peak = try #require(GatewayBinary.peakRSS(served.process.processIdentifier))
            print("HTTP/2: streamed \(2 * size / 1_048_576) MiB through the gateway; peak RSS \(before / 1_048_576) MiB before, \(peak / 1_048_576) MiB after")
            #expect(peak - before < 16 * 1024 * 1024, "peak RSS grew by \((peak - before) / 1_048_576) MiB while streaming")
        } catch {
            try? await client.shutdown()
            await served.stop()
            throw error
        }
        try await client.shutdown()
        await served.stop()
    }

    @Test func sigtermStopsTheProcessWithWorkInFlight() async throws {
        // The drain waits at most shutdownTimeout for the work in flight (an HTTP/2 stream whose
        // body never comes would otherwise hold it for the default 30 s).
        let served = try await Self.start(extra: "shutdownTimeout: 3s")
        // A request waiting on a slow backend, an idle keep-alive connection, an HTTP/2
        // connection with a stream open, and a socket halfway through a request head.
        // The connections, opened before SIGTERM; a failure here stops the process too.
        let slow: RawConnection, idle: RawConnection, h2: RawConnection, partial: RawConnection
        do {
            slow = try await RawConnection.open(port: served.http)
            try await slow.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
            idle = try await RawConnection.open(port: served.http)
            try await idle.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = await idle.waitFor { String(decoding: $0, as: UTF8.self).contains("\"uri\"") }
            h2 = try await RawConnection.open(port: served.https, caFile: served.folder.certs.caCertificate, alpn: ["h2"])
            try await h2.send(H2.start + H2.request("POST", "/flights", stream: 1, endStream: false))
            partial = try await RawConnection.open(port: served.http)
            try await partial.send("GET /y HTTP/1.1\r\nHo")
            try await Task.sleep(for: .milliseconds(300))
        } catch {
            await served.stop()
            throw error
        }

        kill(served.process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while served.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let exited = !served.process.isRunning
        #expect(exited, "the gateway did not exit after SIGTERM")
        if exited { #expect(served.process.terminationStatus == 0) }
        let log = (try? String(contentsOfFile: served.log, encoding: .utf8)) ?? ""
        #expect(log.contains("stopped"), "\(log)")
        #expect(!log.contains("Cannot schedule tasks"), "\(log)")
        for c in [slow, idle, h2, partial] { await c.close() }
        await served.stop()
    }
}
