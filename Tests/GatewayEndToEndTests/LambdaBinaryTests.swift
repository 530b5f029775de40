import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// Process functions through the real `gateway` binary: `check` refusals, `invoke`, worker logs,
/// and no worker left behind after SIGTERM or SIGKILL.
@Suite(.serialized) struct LambdaBinaryTests {
    static func check(_ functions: String, api: String? = nil) throws -> GatewayBinary.Output {
        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.write("gateway.yaml", "listen: {http: 127.0.0.1:0}\nfunctions:\n\(functions)\n")
        if let api { try folder.write("api.yaml", api) }
        return try GatewayBinary.run(["check", "--config", folder.config])
    }

    @Test(arguments: [
        ("  f: {command: []}", "gateway.yaml:3", "command must be a non-empty list"),
        ("  f: {command: [no-such-runtime-here, x]}", "gateway.yaml:3", "'no-such-runtime-here' is not found on PATH"),
        ("  f: {command: [./missing/bootstrap]}", "gateway.yaml:3", "'./missing/bootstrap' is not an executable file"),
        ("  f: {command: [python3, -m, awslambdaric, app.handler], payloadFormat: '3.0'}", "gateway.yaml:3", "payloadFormat must be \"2.0\" or \"1.0\""),
        ("  f: {command: [python3], workdir: /no/such/folder}", "gateway.yaml:3", "no folder at /no/such/folder"),
        ("  f: {command: [python3], workers: 0}", "gateway.yaml:3", "workers must be from 1 to 256"),
        ("  f: {command: [python3], colour: red}", "gateway.yaml:3", "unknown key 'colour'"),
        ("  flights.create: {command: [python3]}", "gateway.yaml:3", "functions.flights.create is defined twice"),
        ("  f: {command: [python3]}\n  f: {command: [python3]}", "gateway.yaml", "duplicate keys f"),
    ])
    func checkRefusesBrokenFunctions(functions: String, location: String, reason: String) throws {
        let result = try Self.check(functions)
        #expect(result.status == 1)
        #expect(result.stderr.contains(location), "\(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
    }

    @Test func checkNamesMissingRuntimesWhatToInstall() throws {
        let result = try Self.check("  f: {command: [/nonexistent/venv/bin/python3, -m, awslambdaric, app.handler]}")
        #expect(result.status == 1)
        #expect(result.stderr.contains("pip install awslambdaric"), "\(result.stderr)")
    }

    @Test(.enabled(if: LambdaRuntime.available))
    func invokeRunsOneWorkerOnAnEventFileAndPrintsItsAnswer() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.write("gateway.yaml", """
        listen: {http: 127.0.0.1:0}
        functions:
          plain: {command: [\(LambdaRuntime.python), -m, awslambdaric, plain.handler], workdir: \(LambdaRuntime.fixtures)}
          broken: {command: [\(LambdaRuntime.python), -m, awslambdaric, plain.handler], workdir: \(LambdaRuntime.fixtures)}
        """)
        let result = try GatewayBinary.run(["invoke", "plain", "--config", folder.config, "--event", LambdaRuntime.fixtures + "/events/plain.json"])
        #expect(result.status == 0, "\(result.stderr)")
        let printed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(printed?["statusCode"] as? Int == 200)
        let body = try JSONSerialization.jsonObject(with: Data(((printed?["body"] as? String) ?? "").utf8)) as? [String: Any]
        #expect((body?["event"] as? [String: Any])?["rawPath"] as? String == "/plain/hello")
        #expect(body?["function"] as? String == "plain")
        // The worker's own output went to the log (stderr), with the function's name.
        #expect(result.stderr.contains("plain handling /plain/hello"), "\(result.stderr)")
        #expect(result.stderr.contains("function=plain"), "\(result.stderr)")
    }

    /// `gateway serve` with a two-worker function; the pids of its workers (children of the gateway).
    static func serve(_ folder: TestFolder, port: Int) async throws -> (Process, [Int32]) {
        try folder.write("gateway.yaml", """
        listen: {http: 127.0.0.1:\(port)}
        functions:
          plain: {command: [\(LambdaRuntime.python), -m, awslambdaric, plain.handler], workdir: \(LambdaRuntime.fixtures), workers: 2}
        """)
        try folder.write("api.yaml", """
        openapi: 3.0.3
        info: {title: t, version: '1'}
        paths:
          /plain/echo/{id}:
            get: {x-gateway: {function: plain}, responses: {'200': {description: ok}}}
        """)
        let process = try GatewayBinary.serve(config: folder.config, log: folder.path + "/gateway.log", logLevel: "info")
        try await GatewayBinary.waitForPort(port)
        return (process, Self.children(of: process.processIdentifier))
    }

    /// Processes whose parent is `pid`.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return !stat.contains(") Z ")
    }

    static func waitGone(_ pids: [Int32]) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while pids.contains(where: alive) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test(.enabled(if: LambdaRuntime.available))
    func servedWorkersLogWithTheRequestIdAndStopWithTheGateway() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let port = try TestFolder.closedPort()
        let (process, workers) = try await Self.serve(folder, port: port)
        #expect(workers.count == 2, "two warm workers before the listener opened")
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/plain/echo/1"), timeout: .seconds(10))
        #expect(response.status == .ok)
        let requestId = try #require(response.headers.first(name: "x-request-id"))
        let body = try await response.body.collect(upTo: 1 << 20)
        #expect(String(buffer: body).contains(requestId))
        try await TestFolder.eventually {
            ((try? String(contentsOfFile: folder.path + "/gateway.log", encoding: .utf8)) ?? "").contains("plain handling /plain/echo/1")
        }
        let log = (try? String(contentsOfFile: folder.path + "/gateway.log", encoding: .utf8)) ?? ""
        let line = log.split(separator: "\n").first { $0.contains("plain handling /plain/echo/1") }.map(String.init) ?? ""
        #expect(line.contains("function=plain"), "\(log)")
        #expect(line.contains("request_id=\(requestId)"), "\(log)")

        GatewayBinary.stop(process)
        try await Self.waitGone(workers)
        #expect(!workers.contains(where: Self.alive), "no worker left after SIGTERM")
    }

    @Test(.enabled(if: LambdaRuntime.available))
    func workersDieWithAGatewayKilledBySIGKILL() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let port = try TestFolder.closedPort()
        let (process, workers) = try await Self.serve(folder, port: port)
        #expect(workers.count == 2)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try await Self.waitGone(workers)
        #expect(!workers.contains(where: Self.alive), "no worker outlives the gateway")
    }
}
