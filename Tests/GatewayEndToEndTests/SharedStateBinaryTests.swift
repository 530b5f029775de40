import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// The real binary: two `gateway serve` processes on one redis-server, keys issued by the CLI,
/// and `gateway state copy` between an SQLite file and Redis.
@Suite(.enabled(if: RedisServer.available, Comment(rawValue: RedisServer.unavailableReason)))
struct SharedStateBinaryTests {
    struct Instance {
        var process: Process
        var port: Int
    }

    /// Starts `gateway serve` on `config` (whose listener is written with a free port), trying new
    /// ports when one was taken before the gateway bound it.
    static func serve(_ folder: TestFolder, name: String, state: String) async throws -> Instance {
        for _ in 0..<3 {
            let port = try TestFolder.closedPort()
            try folder.write(name, """
            listen: {http: 127.0.0.1:\(port)}
            state: \(state)
            plans:
              basic: {rate: 100, burst: 100}
            """)
            let process = try GatewayBinary.serve(config: folder.path + "/routes/" + name, log: folder.path + "/\(name).log")
            for _ in 0..<300 {
                guard process.isRunning else { break }
                if let connection = try? await RawConnection.open(port: port) {
                    await connection.close()
                    return Instance(process: process, port: port)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            GatewayBinary.stop(process)
        }
        throw CancellationError()
    }

    static func status(_ client: HTTPClient, port: Int, key: String) async throws -> UInt {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/keyed")
        request.headers.add(name: "x-api-key", value: key)
        let response = try await client.execute(request, timeout: .seconds(5))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }

    static func secret(_ output: GatewayBinary.Output) -> String? {
        output.stdout.split(separator: "\n").first { $0.hasPrefix("key:") }?.split(separator: " ").last.map(String.init)
    }

    @Test func twoServeProcessesShareKeysIssuedByTheCLIAndCopiedFromSQLite() async throws {
        let redis = try await offPool { try RedisServer() }
        defer { redis.remove() }
        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.write("api.yaml", SharedStateEndToEndTests.api)
        let a = try await Self.serve(folder, name: "a.yaml", state: redis.url)
        let b: Instance
        do { b = try await Self.serve(folder, name: "b.yaml", state: redis.url) } catch {
            try await offPool { GatewayBinary.stop(a.process) }
            throw error
        }
        do {
            try await Self.checkSharing(folder, redis: redis, a: a, b: b)
        } catch {
            // What each instance was doing, before its folder goes: the logs say why one stopped
            // answering.
            for (name, instance) in [("a.yaml", a), ("b.yaml", b)] {
                let log = (try? String(contentsOfFile: folder.path + "/\(name).log", encoding: .utf8)) ?? "(no log)"
                let state = instance.process.isRunning ? "running" : "exited with \(instance.process.terminationStatus)"
                print("\(name) on port \(instance.port): \(state); its log:\n\(log.suffix(4000))")
            }
            // Stopping waits for the processes: off the cooperative pool, which the other tests need.
            try await offPool { GatewayBinary.stop(a.process); GatewayBinary.stop(b.process) }
            throw error
        }
        try await offPool { GatewayBinary.stop(a.process); GatewayBinary.stop(b.process) }
    }

    static func checkSharing(_ folder: TestFolder, redis: RedisServer, a: Instance, b: Instance) async throws {
        let client = HTTPClient.shared

        let created = try await offPool { try GatewayBinary.run(["keys", "create", "--plan", "basic", "--config", folder.path + "/routes/a.yaml"]) }
        #expect(created.status == 0, "\(created.stderr)")
        let key = try #require(Self.secret(created))
        #expect(try await TestFolder.within(2.2) { try await Self.status(client, port: a.port, key: key) == 200 })
        #expect(try await TestFolder.within(2.2) { try await Self.status(client, port: b.port, key: key) == 200 })

        // A key issued on a single instance's SQLite file moves to the shared state.
        let sqlite = folder.path + "/single.sqlite"
        try folder.write("single.yaml", "listen: {http: 127.0.0.1:1}\nstate: \(sqlite)\nplans:\n  basic: {rate: 1, burst: 1}\n")
        let single = try await offPool { try GatewayBinary.run(["keys", "create", "--plan", "basic", "--config", folder.path + "/routes/single.yaml"]) }
        let old = try #require(Self.secret(single))
        #expect(try await Self.status(client, port: a.port, key: old) == 403)
        let copy = try await offPool { try GatewayBinary.run(["state", "copy", "--from", sqlite, "--to", redis.url]) }
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(copy.stdout.contains("copied 1 key"), "\(copy.stdout)")
        #expect(try await TestFolder.within(2.2) { try await Self.status(client, port: b.port, key: old) == 200 })

        // And back: both keys in a new file.
        let back = folder.path + "/back.sqlite"
        let copyBack = try await offPool { try GatewayBinary.run(["state", "copy", "--from", redis.url, "--to", back]) }
        #expect(copyBack.stdout.contains("copied 2 keys"), "\(copyBack.stdout)\(copyBack.stderr)")

        // A Redis that is not there is named in the error.
        let unreachable = try await offPool { try GatewayBinary.run(["state", "copy", "--from", "redis://127.0.0.1:\(TestFolder.deadPort())", "--to", back]) }
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("cannot reach the state store redis://127.0.0.1:\(TestFolder.deadPort())"), "\(unreachable.stderr)")
    }

    @Test func aBadStateURLIsRefusedWithTheFileAndLine() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.write("api.yaml", SharedStateEndToEndTests.api)
        try folder.write("gateway.yaml", "listen: {http: 127.0.0.1:1}\nstate: redis://cache:99999/0\n")
        let check = try await offPool { try GatewayBinary.run(["check", "--config", folder.config]) }
        #expect(check.status != 0)
        #expect(check.stderr.contains("gateway.yaml:2: state: bad port"), "\(check.stderr)")
        try folder.write("gateway.yaml", "listen: {http: 127.0.0.1:1}\nstate: rediss://localhost/0?ca=/nonexistent/ca.pem\n")
        let noCA = try await offPool { try GatewayBinary.run(["check", "--config", folder.config]) }
        #expect(noCA.stderr.contains("gateway.yaml:2: state: no readable CA file at /nonexistent/ca.pem"), "\(noCA.stderr)")
        try folder.write("gateway.yaml", "listen: {http: 127.0.0.1:1}\nstateFailure: closed\n")
        let misplaced = try await offPool { try GatewayBinary.run(["check", "--config", folder.config]) }
        #expect(misplaced.stderr.contains("stateFailure applies to a shared state"), "\(misplaced.stderr)")
    }
}
