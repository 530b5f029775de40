import AsyncHTTPClient
import Foundation
import GatewayCore
import NIOCore
import NIOHTTP1
import Testing

/// The admin listener, reload without loss and the drain, through the real binary.
@Suite(.serialized) struct OperationsBinaryTests {
    static let token = "admin-token-0123456789abcdef"

    struct Served {
        var process: Process
        var folder: TestFolder
        var backend: FakeBackend
        var port: Int
        var admin: Int
        var log: String
        var base: String { "http://127.0.0.1:\(port)" }
        var adminBase: String { "http://127.0.0.1:\(admin)" }
    }

    static func gatewayYAML(port: Int, admin: Int, backend: Int, folder: TestFolder, extra: String = "") -> String {
        """
        listen: {http: 127.0.0.1:\(port)}
        state: \(folder.path)/state.sqlite
        admin: {listen: 127.0.0.1:\(admin), token: '${GATEWAY_TEST_ADMIN_TOKEN}'}
        shutdownTimeout: 10s
        upstreams: {legacy: {targets: ['http://127.0.0.1:\(backend)']}}
        default: {upstream: legacy}
        \(extra)
        """
    }

    static let api = """
    openapi: 3.0.3
    info: {title: ops, version: '1'}
    paths:
      /items/{id}:
        get: {operationId: getItem, x-gateway: {upstream: legacy}, responses: {'200': {description: ok}}}
    """

    static func serve(extra: String = "", environment: [String: String] = [:]) async throws -> Served {
        // Ports are picked free and released; another test may take one before the gateway binds
        // it (then the gateway exits at once): try again with new ones.
        var attempt = 0
        while true {
            attempt += 1
            let folder = try TestFolder()
            let backend = try await FakeBackend.start()
            let port = try TestFolder.closedPort(), admin = try TestFolder.closedPort()
            try folder.write("gateway.yaml", gatewayYAML(port: port, admin: admin, backend: backend.port, folder: folder, extra: extra))
            try folder.write("api.yaml", api)
            let log = folder.path + "/gateway.log"
            let process = try GatewayBinary.serve(config: folder.config, log: log, logLevel: "info",
                                                  environment: environment.merging(["GATEWAY_TEST_ADMIN_TOKEN": token]) { $1 })
            let served = Served(process: process, folder: folder, backend: backend, port: port, admin: admin, log: log)
            if await listening(process, ports: [port, admin]) { return served }
            await stop(served)
            if attempt == 3 { throw CancellationError() }
        }
    }

    /// Waits until every port accepts connections; false as soon as the process has exited.
    static func listening(_ process: Process, ports: [Int]) async -> Bool {
        for _ in 0..<300 {
            guard process.isRunning else { return false }
            var all = true
            for port in ports {
                if let connection = try? await RawConnection.open(port: port) { await connection.close() } else { all = false }
            }
            if all { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    static func stop(_ s: Served) async {
        GatewayBinary.stop(s.process)
        await s.backend.stop()
        s.folder.remove()
    }

    static func call(_ url: String, method: HTTPMethod = .GET, token: String? = nil) async throws -> (HTTPResponseStatus, JSONValue?) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status, try? JSONValue.parse(Data(String(buffer: body).utf8)))
    }

    @Test func theAdminListenerAnswersHealthReadinessRoutesAndConfigBehindItsToken() async throws {
        let s = try await Self.serve()
        do {
            #expect(try await Self.call(s.adminBase + "/healthz").0 == .ok)
            let ready = try await Self.call(s.adminBase + "/readyz")
            #expect(ready.0 == .ok && ready.1?["status"] == "ready")
            for (path, method) in [("/admin/routes", HTTPMethod.GET), ("/admin/config", .GET), ("/admin/reload", .POST)] {
                let missing = try await Self.call(s.adminBase + path, method: method)
                #expect(missing.0 == .unauthorized)
                #expect(missing.1 == ["message": "Unauthorized"])
                #expect(try await Self.call(s.adminBase + path, method: method, token: "wrong-token-0123456789").0 == .unauthorized)
            }
            let routes = try await Self.call(s.adminBase + "/admin/routes", token: Self.token)
            #expect(routes.0 == .ok)
            let first = try #require(routes.1?.arrayValue?.first)
            #expect(first["operationId"] == "getItem")
            #expect(first["path"] == "/items/{id}")
            #expect(first["target"] == "upstream legacy")
            let config = try await Self.call(s.adminBase + "/admin/config", token: Self.token)
            #expect(config.0 == .ok)
            #expect(config.1?["digest"]?.stringValue?.count == 64)
            #expect(config.1?["operations"] == 1)
        } catch {
            await Self.stop(s)
            throw error
        }
        let log = (try? String(contentsOfFile: s.log, encoding: .utf8)) ?? ""
        await Self.stop(s)
        #expect(!log.contains(Self.token), "the admin token never appears in the log")
    }

    @Test func reloadsUnderLoadLoseNoRequestAndABrokenOneIsRefusedAndReported() async throws {
        let s = try await Self.serve()
        do {
            let before = try await Self.call(s.adminBase + "/admin/config", token: Self.token).1?["digest"]
            // Four clients loop while the configuration is reloaded ten times.
            let stopFlag = ManagedFlag()
            let failures = ManagedCounter(), served = ManagedCounter()
            let clients = (0..<4).map { c in
                Task {
                    var i = 0
                    while !stopFlag.isSet {
                        i += 1
                        do {
                            let r = try await HTTPClient.shared.execute(HTTPClientRequest(url: s.base + "/items/\(c)-\(i)"), timeout: .seconds(10))
                            _ = try await r.body.collect(upTo: 1 << 20)
                            if r.status == .ok { served.add() } else { failures.add() }
                        } catch {
                            failures.add()
                        }
                    }
                }
            }
            for n in 0..<10 {
                // Each reload changes the document (a new summary), so each one swaps in a new plan.
                try s.folder.write("api.yaml", Self.api.replacingOccurrences(of: "operationId: getItem,", with: "operationId: getItem, summary: 'v\(n)',"))
                let r = try await Self.call(s.adminBase + "/admin/reload", method: .POST, token: Self.token)
                #expect(r.0 == .ok, "reload \(n): \(String(describing: r.1))")
                try await Task.sleep(for: .milliseconds(50))
            }
            stopFlag.set()
            for client in clients { await client.value }
            #expect(failures.value == 0, "\(failures.value) requests failed across ten reloads (\(served.value) served)")
            #expect(served.value > 40)
            let after = try await Self.call(s.adminBase + "/admin/config", token: Self.token).1?["digest"]
            #expect(after != before)

            // A broken configuration is refused with its file and line; the running one is kept.
            try s.folder.write("api.yaml", Self.api.replacingOccurrences(of: "upstream: legacy", with: "upstream: nowhere"))
            let refused = try await Self.call(s.adminBase + "/admin/reload", method: .POST, token: Self.token)
            #expect(refused.0 == .unprocessableEntity)
            let reasons = refused.1?["errors"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(reasons.contains { $0.contains("api.yaml:") && $0.contains("nowhere") }, "\(reasons)")
            #expect(try await Self.call(s.base + "/items/1").0 == .ok)
            #expect(try await Self.call(s.adminBase + "/admin/config", token: Self.token).1?["digest"] == after)
        } catch {
            await Self.stop(s)
            throw error
        }
        await Self.stop(s)
    }

    /// The sample of `name` with exactly these labels (in any order) in Prometheus text.
    static func sample(_ text: String, _ name: String, _ labels: [String: String]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            var found: [String: String] = [:]
            if let open = parts[0].firstIndex(of: "{"), let close = parts[0].lastIndex(of: "}") {
                guard String(parts[0][..<open]) == name else { continue }
                for pair in parts[0][parts[0].index(after: open)..<close].split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    if kv.count == 2 { found[String(kv[0])] = String(kv[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                }
            } else if String(parts[0]) != name {
                continue
            }
            if found == labels { return value }
        }
        return nil
    }

    @Test func metricsCountKnownTrafficExactly() async throws {
        let s = try await Self.serve()
        do {
            try s.folder.write("api.yaml", Self.api + """

              /num/{n}:
                get:
                  operationId: getNum
                  parameters: [{name: n, in: path, required: true, schema: {type: integer}}]
                  x-gateway: {upstream: legacy}
                  responses: {'200': {description: ok}}
              /limited:
                get: {operationId: limited, x-gateway: {upstream: legacy, throttle: {rate: 0.001, burst: 1}}, responses: {'200': {description: ok}}}
            """)
            #expect(try await Self.call(s.adminBase + "/admin/reload", method: .POST, token: Self.token).0 == .ok)
            for _ in 0..<3 { #expect(try await Self.call(s.base + "/items/1").0 == .ok) }
            #expect(try await Self.call(s.base + "/num/abc").0 == .badRequest)
            #expect(try await Self.call(s.base + "/num/7").0 == .ok)
            #expect(try await Self.call(s.base + "/limited").0 == .ok)
            #expect(try await Self.call(s.base + "/limited").0 == .tooManyRequests)
            #expect(try await Self.call(s.base + "/elsewhere?secret=1").0 == .ok)
            try s.folder.write("api.yaml", "openapi: 3.0.3\ninfo: {title: broken, version: '1'}\npaths: {/x: {get: {x-gateway: {upstream: none}, responses: {'200': {description: ok}}}}}\n")
            #expect(try await Self.call(s.adminBase + "/admin/reload", method: .POST, token: Self.token).0 == .unprocessableEntity)

            var request = HTTPClientRequest(url: s.adminBase + "/metrics")
            request.method = .GET
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
            func value(_ name: String, _ labels: [String: String]) -> Double? { Self.sample(text, name, labels) }
            #expect(value("gateway_requests_total", ["route": "getItem", "method": "GET", "status": "200", "target": "legacy"]) == 3)
            #expect(value("gateway_requests_total", ["route": "getNum", "method": "GET", "status": "400", "target": "gateway"]) == 1)
            #expect(value("gateway_requests_total", ["route": "getNum", "method": "GET", "status": "200", "target": "legacy"]) == 1)
            #expect(value("gateway_requests_total", ["route": "limited", "method": "GET", "status": "429", "target": "gateway"]) == 1)
            #expect(value("gateway_requests_total", ["route": "default", "method": "GET", "status": "200", "target": "legacy"]) == 1)
            #expect(value("gateway_throttled_total", ["route": "limited", "reason": "operation"]) == 1)
            #expect(value("gateway_validation_failures_total", ["route": "getNum"]) == 1)
            #expect(value("gateway_request_duration_seconds_count", ["route": "getItem", "target": "legacy"]) == 3)
            #expect(value("gateway_upstream_request_duration_seconds_count", ["upstream": "legacy"]) == 6)
            #expect(value("gateway_config_reloads_total", ["result": "success"]) == 1)
            #expect(value("gateway_config_reloads_total", ["result": "failure"]) == 1)
            #expect((value("process_resident_memory_bytes", [:]) ?? 0) > 1_000_000)
            #expect((value("process_open_fds", [:]) ?? 0) > 3)
            #expect(!text.contains("/items/1") && !text.contains("elsewhere"), "no raw path is a label")
            // Every answer is in: the connections to legacy wait in the pool, none is serving.
            #expect((value("gateway_upstream_connections", ["upstream": "legacy", "state": "idle"]) ?? 0) >= 1)
            #expect(value("gateway_upstream_connections", ["upstream": "legacy", "state": "active"]) == 0)
        } catch {
            await Self.stop(s)
            throw error
        }
        await Self.stop(s)
    }

    @Test func theClientsTraceIsContinuedToTheBackendAndANewOneStartedOtherwise() async throws {
        let s = try await Self.serve()
        do {
            var request = HTTPClientRequest(url: s.base + "/items/1")
            request.headers.add(name: "traceparent", value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            request.headers.add(name: "tracestate", value: "vendor=abc")
            let r = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let seen = try JSONValue.parse(Data(String(buffer: try await r.body.collect(upTo: 1 << 20)).utf8))
            let forwarded = try #require(seen["headers"]?["traceparent"]?.arrayValue?.first?.stringValue)
            let parts = forwarded.split(separator: "-").map(String.init)
            #expect(parts.count == 4)
            #expect(parts[0] == "00" && parts[1] == "4bf92f3577b34da6a3ce929d0e0e4736" && parts[3] == "01")
            #expect(parts[2].count == 16 && parts[2] != "00f067aa0ba902b7", "a new span id: the gateway's")
            #expect(seen["headers"]?["tracestate"] == ["vendor=abc"])

            let fresh = try await HTTPClient.shared.execute(HTTPClientRequest(url: s.base + "/items/2"), timeout: .seconds(10))
            let seenFresh = try JSONValue.parse(Data(String(buffer: try await fresh.body.collect(upTo: 1 << 20)).utf8))
            let started = try #require(seenFresh["headers"]?["traceparent"]?.arrayValue?.first?.stringValue)
            #expect(started.split(separator: "-").count == 4 && started.hasPrefix("00-") && started.hasSuffix("-01"))
            #expect(!started.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
            // The access line names the trace.
            try await TestFolder.eventually { ((try? String(contentsOfFile: s.log, encoding: .utf8)) ?? "").contains("traceId=4bf92f3577b34da6a3ce929d0e0e4736") }
            #expect(((try? String(contentsOfFile: s.log, encoding: .utf8)) ?? "").contains("traceId=4bf92f3577b34da6a3ce929d0e0e4736"))
        } catch {
            await Self.stop(s)
            throw error
        }
        await Self.stop(s)
    }

    @Test func spansAreExportedOverOTLPContinuingTheClientsTrace() async throws {
        let collector = try await FakeCollector.start()
        let s = try await Self.serve(extra: "tracing: {otlp: '\(collector.url)', sample: 1.0}",
                                     environment: ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"])
        do {
            var request = HTTPClientRequest(url: s.base + "/items/1")
            request.headers.add(name: "traceparent", value: "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            let r = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let seen = try JSONValue.parse(Data(String(buffer: try await r.body.collect(upTo: 1 << 20)).utf8))
            let forwarded = try #require(seen["headers"]?["traceparent"]?.arrayValue?.first?.stringValue)
            let serverSpanId = String(forwarded.split(separator: "-")[2])
            #expect(forwarded.hasPrefix("00-5bf92f3577b34da6a3ce929d0e0e4736-"))
            // swift-otel's OTLP/JSON writes ids as base64 (protobuf's JSON mapping of bytes).
            func hex(_ value: JSONValue?) -> String? {
                guard let text = value?.stringValue else { return nil }
                if let data = Data(base64Encoded: text) { return data.map { String(format: "%02x", $0) }.joined() }
                return text
            }
            func spans() -> [JSONValue] {
                collector.bodies.withLockedValue { $0 }.compactMap { try? JSONValue.parse(Data($0.utf8)) }.flatMap { body in
                    (body["resourceSpans"]?.arrayValue ?? []).flatMap { ($0["scopeSpans"]?.arrayValue ?? []).flatMap { $0["spans"]?.arrayValue ?? [] } }
                }
            }
            try await TestFolder.eventually { spans().count >= 2 }
            let all = spans()
            let server = try #require(all.first { $0["kind"]?.doubleValue == 2 }, "\(collector.bodies.withLockedValue { $0 })")
            let client = try #require(all.first { $0["kind"]?.doubleValue == 3 })
            #expect(hex(server["traceId"]) == "5bf92f3577b34da6a3ce929d0e0e4736", "the client's trace is continued")
            #expect(hex(server["parentSpanId"]) == "00f067aa0ba902b7", "the client's span is the server span's parent")
            #expect(hex(server["spanId"]) == serverSpanId, "the backend saw the server span as its parent")
            #expect(server["name"] == "GET getItem")
            #expect(hex(client["parentSpanId"]) == serverSpanId)
            #expect(hex(client["traceId"]) == "5bf92f3577b34da6a3ce929d0e0e4736")
            let exported = collector.bodies.withLockedValue { $0.joined(separator: "\n") }
            #expect(exported.contains("getItem"))
        } catch {
            await Self.stop(s)
            await collector.stop()
            throw error
        }
        await Self.stop(s)
        await collector.stop()
    }

    @Test func sigtermDrainsAnInFlightRequestThenExitsZero() async throws {
        let s = try await Self.serve()
        s.backend.control.withLockedValue { $0.delay = .seconds(2) }
        async let slow = Self.call(s.base + "/items/slow")
        try await Task.sleep(for: .milliseconds(500))
        kill(s.process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        let ready = try? await Self.call(s.adminBase + "/readyz")
        #expect(ready?.0 == .serviceUnavailable, "readyz answers 503 while draining")
        #expect(ready?.1?["status"] == "draining")
        // The listener is closed: a new connection is refused.
        let refused = try? await RawConnection.open(port: s.port)
        #expect(refused == nil)
        await refused?.close()
        let answer = try await slow
        #expect(answer.0 == .ok, "the request in flight finished")
        let deadline = Date().addingTimeInterval(10)
        while s.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!s.process.isRunning)
        #expect(s.process.terminationStatus == 0)
        await Self.stop(s)
    }
}

final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var isSet: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}

final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}
