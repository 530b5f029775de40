import AsyncHTTPClient
import FlightExample
import Foundation
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayServer
import NIOCore
import NIOHTTP1
import Testing

/// Process functions end to end: real Lambda handlers under the real `awslambdaric` from PyPI
/// (in `.venv`, made by `scripts/python-env`), run by the gateway as warm worker processes.
@Suite(.serialized, .enabled(if: LambdaRuntime.available))
struct LambdaEndToEndTests {
    /// A gateway with `functions` (YAML under `functions:`) and one document binding them.
    static func with(functions: String, paths: String, _ body: (InProcessGateway, TestFolder) async throws -> Void) async throws {
        let folder = try TestFolder()
        try folder.writeGateway("""
        functions:
        \(functions)
        """)
        try folder.write("api.yaml", """
        openapi: 3.0.3
        info: {title: lambda, version: '1'}
        paths:
        \(paths)
        """)
        let gateway = try await InProcessGateway.start(folder, registry: FunctionRegistry())
        do {
            try await body(gateway, folder)
        } catch {
            await gateway.stop(); folder.remove()
            throw error
        }
        await gateway.stop()
        folder.remove()
    }

    static func function(_ name: String, module: String, _ extra: String = "") -> String {
        "  \(name): {command: [\(LambdaRuntime.python), -m, awslambdaric, \(module).handler], workdir: \(LambdaRuntime.fixtures)\(extra.isEmpty ? "" : ", " + extra)}"
    }

    static func op(_ path: String, _ method: String = "get", _ function: String, _ extra: String = "") -> String {
        """
          \(path):
            \(method):
              x-gateway: {function: \(function)\(extra.isEmpty ? "" : ", " + extra)}
              responses: {'200': {description: ok}}
        """
    }

    static let plainPaths = [
        op("/plain/echo/{id}", "post", "plain"), op("/plain/env", "get", "plain"), op("/plain/binary", "post", "plain"),
        op("/plain/cookies", "get", "plain"), op("/plain/fail", "get", "plain"), op("/plain/crash", "get", "plain"),
        op("/plain/sleep", "get", "plain", "timeout: 1s"), op("/plain/slow", "get", "plain"),
    ].joined(separator: "\n")

    @Test func aPlainHandlerGetsTheHTTPAPIEventAndItsAnswerIsTheResponse() async throws {
        try await Self.with(functions: Self.function("plain", module: "plain", "workers: 2"), paths: Self.plainPaths) { gateway, _ in
            let r = try await gateway.send(.POST, "/plain/echo/B%207?a=1&a=2&b=x+y", body: #"{"n":1}"#,
                                           headers: [("content-type", "application/json"), ("cookie", "s=1; t=2"), ("x-agent", "a1")])
            #expect(r.status == .ok)
            let json = try #require(r.json)
            let event = try #require(json["event"]?.objectValue)
            #expect(event["version"] == "2.0")
            #expect(event["routeKey"] == "POST /plain/echo/{id}")
            #expect(event["rawPath"] == "/plain/echo/B%207")
            #expect(event["pathParameters"]?["id"] == "B 7")
            #expect(event["queryStringParameters"]?["a"] == "1,2")
            #expect(event["queryStringParameters"]?["b"] == "x y")
            #expect(event["cookies"] == ["s=1", "t=2"])
            #expect(event["headers"]?["x-agent"] == "a1")
            #expect(event["body"] == #"{"n":1}"#)
            #expect(event["isBase64Encoded"] == false)
            #expect(event["requestContext"]?["http"]?["method"] == "POST")
            // The invocation's id is the gateway's request id; the context reads its deadline.
            #expect(json["requestId"]?.stringValue == r.headers.first(name: "x-request-id"))
            #expect(json["function"] == "plain")
            #expect((json["remainingMs"]?.doubleValue ?? 0) > 0)
            #expect((json["remainingMs"]?.doubleValue ?? .infinity) <= 29_000)

            let cookies = try await gateway.send(.GET, "/plain/cookies")
            #expect(cookies.status == .created)
            #expect(cookies.headers["set-cookie"] == ["a=1; Path=/", "b=2; HttpOnly"])
            #expect(cookies.headers.first(name: "x-handler") == "plain")
            #expect(cookies.text == "with cookies")
        }
    }

    @Test func binaryBodiesTravelAsBase64BothWays() async throws {
        try await Self.with(functions: Self.function("plain", module: "plain"), paths: Self.plainPaths) { gateway, _ in
            var request = HTTPClientRequest(url: gateway.base + "/plain/binary")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/octet-stream")
            let sent: [UInt8] = [0, 1, 2, 0xff, 0xfe, 0x80, 10, 13]
            request.body = .bytes(ByteBuffer(bytes: sent))
            let response = try await gateway.client.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "application/octet-stream")
            let bytes = try await response.body.collect(upTo: 1024)
            #expect(Array(bytes.readableBytesView) == sent.reversed())
        }
    }

    @Test func workersGetLambdasEnvironmentAndNothingElseOfTheGateways() async throws {
        setenv("GATEWAY_TEST_SECRET", "must-not-leak", 1)
        defer { unsetenv("GATEWAY_TEST_SECRET") }
        let fn = Self.function("plain", module: "plain", "env: {TABLE: orders}, region: eu-west-1, memorySize: 512")
        try await Self.with(functions: fn, paths: Self.plainPaths) { gateway, _ in
            let r = try await gateway.send(.GET, "/plain/env")
            #expect(r.status == .ok)
            let env = try #require(r.json?["env"]?.objectValue)
            #expect(env["AWS_LAMBDA_FUNCTION_NAME"] == "plain")
            #expect(env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST")
            #expect(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512")
            #expect(env["AWS_REGION"] == "eu-west-1")
            #expect(env["AWS_DEFAULT_REGION"] == "eu-west-1")
            #expect(env["LAMBDA_TASK_ROOT"]?.stringValue == LambdaRuntime.fixtures)
            #expect(env["_HANDLER"] == "plain.handler")
            #expect(env["TZ"] == ":UTC")
            #expect(env["TABLE"] == "orders")
            #expect(env["AWS_LAMBDA_RUNTIME_API"]?.stringValue?.hasPrefix("127.0.0.1:") == true)
            #expect(env["PATH"] != nil && env["HOME"] != nil)
            #expect(env["GATEWAY_TEST_SECRET"] == nil)
            #expect(r.json?["cwd"]?.stringValue == LambdaRuntime.fixtures)
        }
    }

    @Test func handlerErrorTimeoutAndCrashAreAnsweredAndTheWorkerIsReplaced() async throws {
        try await Self.with(functions: Self.function("plain", module: "plain"), paths: Self.plainPaths) { gateway, _ in
            let pool = try #require(gateway.server.functionPool("plain"))
            let failed = try await gateway.send(.GET, "/plain/fail")
            #expect(failed.status == .internalServerError)
            #expect(failed.json == ["message": "Internal server error"])
            // A handler error keeps the worker.
            let first = try await pool.workerPIDs().get()
            #expect(first.count == 1)

            let slow = try await gateway.send(.GET, "/plain/sleep")
            #expect(slow.status == .gatewayTimeout)
            #expect(slow.json == ["message": "Endpoint request timed out"])
            let afterTimeout = try await Self.replaced(pool, from: first)
            let echo = try await gateway.send(.POST, "/plain/echo/1", body: "{}")
            #expect(echo.status == .ok)

            let crashed = try await gateway.send(.GET, "/plain/crash")
            #expect(crashed.status == .badGateway)
            _ = try await Self.replaced(pool, from: afterTimeout)
            let again = try await gateway.send(.POST, "/plain/echo/2", body: "{}")
            #expect(again.status == .ok)
        }
    }

    /// Waits until the pool runs a worker other than `old`; its pids.
    static func replaced(_ pool: ProcessFunctionPool, from old: [Int32]) async throws -> [Int32] {
        var now: [Int32] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            now = try await pool.workerPIDs().get()
            let ready = try await pool.readyWorkers().get()
            if !now.isEmpty && Set(now).isDisjoint(with: old) && ready == now.count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!now.isEmpty && Set(now).isDisjoint(with: old), "the worker was replaced")
        for pid in old { #expect(kill(pid, 0) != 0, "the old worker \(pid) is gone") }
        return now
    }

    @Test func concurrencyAboveTheWorkerCountQueuesAndAFullQueueAnswers503() async throws {
        let fns = [Self.function("plain", module: "plain", "workers: 2"),
                   Self.function("narrow", module: "plain", "workers: 1, queue: 1")].joined(separator: "\n")
        let paths = Self.plainPaths + "\n" + Self.op("/narrow/slow", "get", "narrow")
        try await Self.with(functions: fns, paths: paths) { gateway, _ in
            // Eight at once on two workers: all answered, by those two processes.
            let answers = try await withThrowingTaskGroup(of: InProcessGateway.Response.self) { group in
                for i in 0..<8 { group.addTask { try await gateway.send(.POST, "/plain/echo/\(i)", body: "{}") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status == .ok })
            let pids = Set(answers.compactMap { $0.json?["pid"]?.doubleValue })
            #expect(pids.count >= 1 && pids.count <= 2)

            // One worker, a queue of one: of four at once, at least two cannot wait.
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponseStatus, String?).self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let r = try await gateway.send(.GET, "/narrow/slow")
                        return (r.status, r.headers.first(name: "retry-after"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let refused = statuses.filter { $0.0 == .serviceUnavailable }
            #expect(refused.count >= 2)
            #expect(refused.allSatisfy { $0.1 != nil })
            #expect(statuses.filter { $0.0 == .ok }.count >= 1)
        }
    }

    @Test func powertoolsResolverFastAPIThroughMangumAndARESTHandler() async throws {
        let fns = [Self.function("pt", module: "powertools_app"), Self.function("fa", module: "fastapi_app"),
                   Self.function("rest", module: "rest", #"payloadFormat: "1.0""#)].joined(separator: "\n")
        let paths = [Self.op("/pt/hello/{name}", "get", "pt"), Self.op("/pt/orders", "post", "pt"),
                     Self.op("/fa/items/{itemId}", "get", "fa"), Self.op("/rest/things/{id}", "get", "rest")].joined(separator: "\n")
        try await Self.with(functions: fns, paths: paths) { gateway, _ in
            let hello = try await gateway.send(.GET, "/pt/hello/ada?lang=de")
            #expect(hello.status == .ok)
            #expect(hello.json == ["hello": "ada", "query": "de"])
            let order = try await gateway.send(.POST, "/pt/orders", body: #"{"item":"tea","quantity":2}"#,
                                               headers: [("content-type", "application/json")])
            #expect(order.status == .created)
            #expect(order.json == ["created": "tea", "quantity": 2])

            let item = try await gateway.send(.GET, "/fa/items/42?q=blue", headers: [("x-agent", "agent-7")])
            #expect(item.status == .ok)
            #expect(item.json == ["item_id": 42, "q": "blue", "agent": "agent-7"])
            let bad = try await gateway.send(.GET, "/fa/items/not-a-number")
            #expect(bad.status.code == 422)

            let rest = try await gateway.send(.GET, "/rest/things/7?tag=a&tag=b", headers: [("X-Trace", "t1"), ("x-dup", "1"), ("x-dup", "2")])
            #expect(rest.status == .accepted)
            #expect(rest.headers["x-multi"] == ["one", "two"])
            let event = try #require(rest.json)
            #expect(event["version"] == "1.0")
            #expect(event["resource"] == "/rest/things/{id}")
            #expect(event["path"] == "/rest/things/7")
            #expect(event["httpMethod"] == "GET")
            #expect(event["pathParameters"] == ["id": "7"])
            #expect(event["queryStringParameters"] == ["tag": "b"])
            #expect(event["multiValueQueryStringParameters"] == ["tag": ["a", "b"]])
            // Header names as the client sent them (AsyncHTTPClient speaks HTTP/2 here: lower case).
            #expect((event["headers"]?["X-Trace"] ?? event["headers"]?["x-trace"]) == "t1")
            #expect(event["multiValueHeaders"]?["x-dup"] == ["1", "2"])
            #expect(event["stageVariables"] == .null)
            #expect(event["requestContext"]?["resourcePath"] == "/rest/things/{id}")
            #expect(event["requestContext"]?["requestId"]?.stringValue == rest.headers.first(name: "x-request-id"))
            #expect(event["requestContext"]?["identity"]?["sourceIp"] == "127.0.0.1")
            #expect(event["isBase64Encoded"] == false)
        }
    }

    @Test func aFunctionWhoseInitFailsAnswers503AtOnceAndIsRetried() async throws {
        try await Self.with(functions: Self.function("broken", module: "broken"), paths: Self.op("/broken", "get", "broken")) { gateway, _ in
            let r = try await gateway.send(.GET, "/broken")
            #expect(r.status == .serviceUnavailable)
            #expect(r.headers.first(name: "retry-after") != nil)
            let pool = try #require(gateway.server.functionPool("broken"))
            let ready = try await pool.readyWorkers().get()
            #expect(ready == 0)
        }
    }

    @Test func aReloadWithAChangedFunctionStartsNewWorkersAndLetsTheOldFinish() async throws {
        try await Self.with(functions: Self.function("plain", module: "plain"), paths: Self.plainPaths) { gateway, folder in
            let old = try #require(gateway.server.functionPool("plain"))
            let oldPIDs = try await old.workerPIDs().get()
            // A slow invocation on the old worker, in flight across the reload.
            async let inFlight = gateway.send(.GET, "/plain/slow")
            try await Task.sleep(for: .milliseconds(100))
            try folder.writeGateway("functions:\n" + Self.function("plain", module: "plain", "env: {VERSION: two}"))
            let plan = try PlanCompiler(functionNames: []).compile(configPath: folder.config)
            try await gateway.server.reloadWarm(try GatewayRuntime(plan: plan, functions: FunctionRegistry(), replacing: gateway.server.runtime))
            let new = try #require(gateway.server.functionPool("plain"))
            #expect(new !== old)
            let finished = try await inFlight
            #expect(finished.status == .ok)
            let env = try await gateway.send(.GET, "/plain/env")
            #expect(env.json?["env"]?["VERSION"] == "two")
            // The old worker stops once its invocation is done.
            let deadline = ContinuousClock.now + .seconds(10)
            while oldPIDs.contains(where: { kill($0, 0) == 0 }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!oldPIDs.contains { kill($0, 0) == 0 })
            // An unchanged reload keeps the warm workers.
            let same = try PlanCompiler(functionNames: []).compile(configPath: folder.config)
            try await gateway.server.reloadWarm(try GatewayRuntime(plan: same, functions: FunctionRegistry(), replacing: gateway.server.runtime))
            #expect(gateway.server.functionPool("plain") === new)
        }
    }
}

/// The example's migration with its real parts: `legacy/backend.py` as the legacy system and the
/// Python `bookings` function (`functions/bookings/app.py`) as the candidate, in shadow.
@Suite(.serialized, .enabled(if: LambdaRuntime.available))
struct ExampleMigrationTests {
    @Test func theExamplesPythonFunctionIsShadowedAndDiffersOnlyInTheFareClass() async throws {
        // Port 0: the backend takes a free port and names it on its first line (a port chosen here
        // and closed could be taken by another test's server before Python binds it).
        let legacy = Process()
        legacy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        legacy.arguments = ["python3", LambdaRuntime.root + "/legacy/backend.py", "0"]
        let output = Pipe()
        legacy.standardOutput = output
        legacy.standardError = FileHandle.nullDevice
        try legacy.run()
        defer { GatewayBinary.stop(legacy) }
        let announced = try await offPool { () -> String in
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data([0x0A]) {
                line.append(byte)
            }
            return String(decoding: line, as: UTF8.self)
        }
        let port = try #require(announced.split(separator: ":").last.flatMap { Int($0) }, "backend said: \(announced)")
        try await GatewayBinary.waitForPort(port)

        let folder = try TestFolder()
        defer { folder.remove() }
        try folder.writeGateway("""
        upstreams: {legacy: {targets: ['http://127.0.0.1:\(port)']}}
        default: {upstream: legacy}
        \(LambdaRuntime.exampleFunctions)
        """)
        try folder.write("flights.yaml", try String(contentsOfFile: LambdaRuntime.root + "/routes/flights.yaml", encoding: .utf8))
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry)
        let gateway = try await InProcessGateway.start(folder, registry: registry)
        do {
            for i in 1...6 {
                let r = try await gateway.send(.GET, "/bookings/B\(i)")
                #expect(r.status == .ok)
                #expect(r.json?["fareClass"] == "Y", "legacy answers in shadow")
            }
            try await TestFolder.eventually { (gateway.server.migration("getBooking")?.counts.mismatched ?? 0) == 6 }
            let state = try #require(gateway.server.migration("getBooking"))
            #expect(state.counts.shadowed == 6)
            #expect(state.counts.candidateErrors == 0)
            #expect(state.report.byPointer == ["/fareClass": 6], "only the fare class differs (updatedAt is ignored)")
        } catch {
            await gateway.stop()
            throw error
        }
        await gateway.stop()
    }
}
