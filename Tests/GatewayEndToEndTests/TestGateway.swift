import AsyncHTTPClient
import FlightExample
import Foundation
import GatewayCertificates
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A temporary folder with development certificates, a gateway.yaml and API documents.
struct TestFolder {
    let path: String
    let certs: DevelopmentCA.Written

    init() throws {
        path = NSTemporaryDirectory() + "gateway-e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path + "/routes", withIntermediateDirectories: true)
        certs = try DevelopmentCA.write(certificatePath: path + "/certs/gateway.crt", keyPath: path + "/certs/gateway.key")
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path + "/routes/" + name, atomically: true, encoding: .utf8)
    }

    var config: String { path + "/routes/gateway.yaml" }

    /// Writes a gateway.yaml with an HTTPS listener on a free port, this folder's certificate and
    /// state file, and `rest` (upstreams and whatever else) after them.
    func writeGateway(_ rest: String) throws {
        try write("gateway.yaml", """
        listen: {https: 127.0.0.1:0}
        tls: {certificate: \(certs.certificate), key: \(certs.key)}
        state: \(path)/state.sqlite
        \(rest)
        """)
    }

    /// Waits (at most 10 s) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    /// Checks every 100 ms for at most `seconds`; true as soon as `check` holds.
    static func within(_ seconds: Double, _ check: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await check() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await check()
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// A port nothing listens on and nothing will: a privileged one (never handed out as an
    /// ephemeral port, so another test's server cannot take it). `n` picks one of several.
    static func deadPort(_ n: Int = 0) -> Int {
        [1, 4, 6, 8, 10, 12][n]
    }

    /// A free port for a listener (a gateway binary, redis-server) to bind soon. It comes from
    /// 20000..<32000, below the kernel's ephemeral range (32768 and up), so no server that binds
    /// port 0 and no client connection can take it before the listener binds it; the ports are
    /// handed out in turn from one counter, so two tests never get the same one. A port that
    /// something else on the machine holds is skipped.
    static func closedPort() throws -> Int {
        for _ in 0..<Self.portRange.count {
            let port = Self.nextPort.withLockedValue { next in
                defer { next = next + 1 == Self.portRange.upperBound ? Self.portRange.lowerBound : next + 1 }
                return next
            }
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait() {
                try channel.close().wait()
                return port
            }
        }
        throw CancellationError()
    }

    private static let portRange = 20000..<32000
    /// Starts where this process's id points, so that two test processes rarely start together.
    private static let nextPort = NIOLockedValueBox(portRange.lowerBound + Int(getpid()) % portRange.count)
}

/// The gateway, in process, on loopback with real TLS.
final class TestGateway {
    let folder: TestFolder
    let server: GatewayServer
    private var clients: [HTTPClient] = []

    static let flightsDocument = """
    openapi: 3.1.0
    info: {title: flights, version: '1'}
    paths:
      /flights:
        post: {operationId: createFlight, x-gateway: {function: flights.create}, responses: {'201': {description: ok}}}
      /flights/{flightId}/notifications:
        parameters: [{name: flightId, in: path, required: true, schema: {type: string}}]
        post: {x-gateway: {function: flights.notify}, responses: {'201': {description: ok}}}
      /alerts:
        get: {x-gateway: {function: alerts.list}, responses: {'200': {description: ok}}}
      /dead:
        get: {x-gateway: {upstream: dead}, responses: {'200': {description: ok}}}
      /slow:
        get: {x-gateway: {upstream: slow}, responses: {'200': {description: ok}}}
      /hangup:
        get: {x-gateway: {upstream: legacy}, responses: {'200': {description: ok}}}
      /pair/{rest+}:
        get: {x-gateway: {upstream: pair}, responses: {'200': {description: ok}}}
      /secure/{rest+}:
        get: {x-gateway: {upstream: secure}, responses: {'200': {description: ok}}}
      /boom:
        get: {x-gateway: {function: test.throws}, responses: {'200': {description: ok}}}
    """

    /// - Parameter withDefault: whether unmatched requests fall through to the legacy backend.
    init(folder: TestFolder? = nil, legacy: FakeBackend, second: FakeBackend? = nil, secure: FakeBackend? = nil,
         withDefault: Bool = true, maxBodyBytes: Int = 1_048_576) async throws {
        self.folder = try folder ?? TestFolder()
        let folder = self.folder
        let dead = TestFolder.deadPort()
        let second = second ?? legacy
        let securePort = secure?.port ?? dead
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:0, http: 127.0.0.1:0}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        upstreams:
          legacy: {targets: [http://127.0.0.1:\(legacy.port)]}
          dead: {targets: [http://127.0.0.1:\(dead)], connectTimeout: 1s}
          slow: {targets: [http://127.0.0.1:\(legacy.port)], timeout: 300ms}
          pair: {targets: [http://127.0.0.1:\(legacy.port), http://127.0.0.1:\(second.port)]}
          secure: {targets: [https://localhost:\(securePort)], ca: \(folder.certs.caCertificate)}
        \(withDefault ? "default: {upstream: legacy}" : "")
        limits: {maxBodyBytes: \(maxBodyBytes)}
        """)
        try folder.write("flights.yaml", Self.flightsDocument)
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        registry.register("test.throws", ClosureFunction { _, _ in throw CancellationError() })
        let plan = try PlanCompiler(functionNames: registry.names).compile(configPath: folder.config)
        var logger = Logger(label: "e2e")
        logger.logLevel = .critical
        server = try GatewayServer(runtime: try GatewayRuntime(plan: plan, functions: registry), logger: logger, threads: 2)
        try await server.start()
    }

    var https: String { "https://localhost:\(server.httpsPort!)" }
    var http: String { "http://127.0.0.1:\(server.httpPort!)" }

    func stop() async {
        for client in clients { try? await client.shutdown() }
        try? await server.shutdown()
        folder.remove()
    }

    /// An AsyncHTTPClient trusting the development CA; `http2` lets ALPN pick h2.
    func client(http2: Bool) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(folder.certs.caCertificate)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = http2 ? .automatic : .http1Only
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        clients.append(client)
        return client
    }

    /// The backend's TLS context, with the same development certificate.
    static func backendTLS(_ certs: DevelopmentCA.Written) throws -> NIOSSLContext {
        try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certs.certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certs.key, format: .pem))))
    }
}

/// Runs the built `gateway` binary.
enum GatewayBinary {
    static var path: String {
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0])
        var dir = argv0.deletingLastPathComponent()
        // swift-testing may run from inside the .xctest bundle on some platforms.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("gateway").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/gateway").path
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], cwd: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    /// Starts `gateway serve`; the caller must `stop` it.
    /// - Parameter log: a file for the process's standard error (its log); none by default.
    static func serve(config: String, log: String? = nil, logLevel: String = "warning",
                      environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.arguments = ["serve", "--config", config, "--log-level", logLevel, "--threads", "2"]
        process.standardOutput = FileHandle.nullDevice
        if let log {
            FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }

    /// Waits until something accepts connections on `port`.
    static func waitForPort(_ port: Int) async throws {
        for _ in 0..<300 {
            if let connection = try? await RawConnection.open(port: port) {
                await connection.close()
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CancellationError()
    }

    static func stop(_ process: Process) {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }

    /// Peak resident memory of a process, in bytes (VmHWM).
    static func peakRSS(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }
}

/// A gateway started in process on the configuration in a test folder (`gateway.yaml` with an
/// `https` listener, and its API documents), with a client that trusts the folder's development CA.
struct InProcessGateway {
    struct Response {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var text: String
        /// The body as JSON, when it is JSON.
        var json: JSONValue? { try? JSONValue.parse(Data(text.utf8)) }
    }

    let server: GatewayServer
    let client: HTTPClient
    var base: String { "https://localhost:\(server.httpsPort!)" }

    static func start(_ folder: TestFolder, registry: FunctionRegistry) async throws -> InProcessGateway {
        let plan = try PlanCompiler(functionNames: registry.names, authorizerFunctionNames: registry.authorizerNames)
            .compile(configPath: folder.config)
        var logger = Logger(label: "e2e")
        logger.logLevel = .critical
        let server = try GatewayServer(runtime: try GatewayRuntime(plan: plan, functions: registry, logger: logger),
                                       logger: logger, threads: 2)
        try await server.start()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(folder.certs.caCertificate)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        return InProcessGateway(server: server, client: client)
    }

    func send(_ method: HTTPMethod = .GET, _ path: String, body: String? = nil,
              headers: [(String, String)] = []) async throws -> Response {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (n, v) in headers { request.headers.add(name: n, value: v) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Response(status: response.status, headers: response.headers, text: String(buffer: bytes))
    }

    func stop() async {
        try? await client.shutdown()
        try? await server.shutdown()
    }

    /// A function answering with its whole event as JSON.
    static let echoEvent = ClosureFunction { event, _ in .value(try JSONValue.parse(try JSONEncoder().encode(event))) }
}

/// Runs blocking work (a CLI run, starting or stopping a server) on NIO's thread pool, so that
/// it does not hold one of Swift's few cooperative threads that the other tests' tasks need.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}
