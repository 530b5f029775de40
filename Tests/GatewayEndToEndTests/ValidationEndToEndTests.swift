import AsyncHTTPClient
import FlightExample
import Foundation
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayServer
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// Request validation through the real gateway over TLS: the example flight API as it is in
/// `routes/flights.yaml`, plus an echo function and a legacy backend behind validated operations.
@Suite(.serialized) struct ValidationEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let extra = """
    openapi: 3.0.3
    info: {title: extra, version: '1'}
    paths:
      /echo/{n}:
        post:
          parameters:
            - {name: n, in: path, required: true, schema: {type: integer, maximum: 10}}
            - {name: mode, in: query, schema: {type: string, enum: [fast, slow]}}
          x-gateway: {function: test.echo, maxBodyBytes: 2048}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    note: {type: string, nullable: true}
          responses: {'200': {description: ok}}
      /legacy/orders:
        post:
          x-gateway: {upstream: legacy}
          requestBody:
            content:
              application/json:
                schema: {type: object, required: [sku], properties: {sku: {type: string, minLength: 3}}}
          responses: {'200': {description: ok}}
      /legacy/unchecked:
        post:
          x-gateway: {upstream: legacy, validate: false}
          requestBody:
            required: true
            content:
              application/json:
                schema: {type: object, required: [sku]}
          responses: {'200': {description: ok}}
    """

    struct Setup {
        let gateway: InProcessGateway
        let backend: FakeBackend
        let store: FlightStore

        func send(_ method: HTTPMethod, _ path: String, body: String? = nil, contentType: String? = "application/json",
                  headers: [(String, String)] = []) async throws -> (HTTPResponseStatus, JSONValue?, String) {
            let response = try await gateway.send(method, path, body: body,
                                                  headers: (contentType.map { [("content-type", $0)] } ?? []) + headers)
            return (response.status, response.json, response.text)
        }
    }

    static func with(_ body: (Setup) async throws -> Void) async throws {
        let folder = try TestFolder()
        let backend = try await FakeBackend.start()
        try folder.write("gateway.yaml", """
        listen: {https: 127.0.0.1:0}
        tls: {certificate: \(folder.certs.certificate), key: \(folder.certs.key)}
        upstreams:
          legacy: {targets: [http://127.0.0.1:\(backend.port)]}
        default: {upstream: legacy}
        \(LambdaRuntime.exampleFunctions)
        """)
        try folder.write("flights.yaml", try String(contentsOf: root.appendingPathComponent("routes/flights.yaml"), encoding: .utf8))
        try folder.write("extra.yaml", extra)
        let store = FlightStore()
        var registry = FunctionRegistry()
        FlightFunctions.register(into: &registry, store: store)
        registry.register("test.echo", ClosureFunction { event, _ in
            .response(FunctionResponse(statusCode: 200, headers: ["content-type": "text/plain"], body: event.body ?? ""))
        })
        let gateway = try await InProcessGateway.start(folder, registry: registry)
        let setup = Setup(gateway: gateway, backend: backend, store: store)
        func stop() async {
            await gateway.stop()
            await backend.stop()
            folder.remove()
        }
        do {
            try await body(setup)
        } catch {
            await stop()
            throw error
        }
        await stop()
    }

    static let goodFlight = """
    {"flightNumber": "LH123", "origin": "FRA", "destination": "JFK", "departure": "2026-12-01T10:00:00Z",
     "passengers": [{"name": "Ada", "email": "ada@example.com", "phone": "+4915112345678"}]}
    """

    @Test func theExampleRefusesAMalformedFlightBeforeTheFunctionRuns() async throws {
        try await Self.with { s in
            let bad = #"{"flightNumber":"LH123","origin":"FRA","destination":"JFK","departure":"2026-12-01T10:00:00Z","passengers":[{"name":"Ada","email":"not-an-email","phone":"+4915112345678"}]}"#
            let (status, body, _) = try await s.send(.POST, "/flights", body: bad)
            #expect(status == .badRequest)
            #expect(body?["message"] == "Invalid request body")
            #expect(body?["errors"] == [["in": "body", "pointer": "/passengers/0/email", "message": "is not a valid email"]])
            let (readOnly, readOnlyBody, _) = try await s.send(.POST, "/flights", body: #"{"flightId":"X1-9","flightNumber":"LH1","origin":"FRA","destination":"JFK","departure":"2026-12-01T10:00:00Z","passengers":[]}"#)
            #expect(readOnly == .badRequest)
            #expect(readOnlyBody?["errors"]?.arrayValue?.first?["message"] == "is read-only")
            #expect(try await s.send(.POST, "/flights", body: Self.goodFlight, contentType: "text/plain").0 == .unsupportedMediaType)
            #expect(try await s.send(.POST, "/flights", body: nil).0 == .badRequest, "the body is required")

            // None of those reached the function: the first stored flight gets the first sequence number.
            let (created, flight, _) = try await s.send(.POST, "/flights", body: Self.goodFlight)
            #expect(created == .created)
            #expect(flight?["flightId"] == "LH123-1")
            #expect(await s.store.flight("LH123-1")?.passengers.count == 1)
        }
    }

    @Test func parametersAreCheckedAfterTheAuthorizer() async throws {
        try await Self.with { s in
            let token = [("authorization", "Bearer demo-LH")]
            #expect(try await s.send(.GET, "/alerts?flightId=LH123-1", contentType: nil).0 == .unauthorized)
            let (missing, missingBody, _) = try await s.send(.GET, "/alerts", contentType: nil, headers: token)
            #expect(missing == .badRequest)
            #expect(missingBody?["message"] == "Missing required request parameters: [flightId]")
            let (bad, badBody, _) = try await s.send(.GET, "/alerts?flightId=nonsense", contentType: nil, headers: token)
            #expect(bad == .badRequest)
            #expect(badBody?["message"] == "Invalid request parameters")
            #expect(badBody?["errors"]?.arrayValue?.first?["name"] == "flightId")
            #expect(try await s.send(.GET, "/alerts?flightId=LH123-1", contentType: nil, headers: token).0 == .ok)
        }
    }

    @Test func aValidRequestReachesTheFunctionUnchanged() async throws {
        try await Self.with { s in
            let text = "{ \"note\" : null,\n  \"name\": \"Grace\",\"extra\":[1, 2.50, \"\\u00e9\"] }"
            let (status, _, echoed) = try await s.send(.POST, "/echo/7?mode=fast", body: text)
            #expect(status == .ok)
            #expect(echoed == text, "the function gets the bytes the client sent")
            let (badPath, badPathBody, _) = try await s.send(.POST, "/echo/11", body: text)
            #expect(badPath == .badRequest)
            #expect(badPathBody?["errors"] == [["in": "path", "name": "n", "message": "must be <= 10"]])
            #expect(try await s.send(.POST, "/echo/x", body: text).0 == .badRequest)
            #expect(try await s.send(.POST, "/echo/1?mode=warp", body: text).0 == .badRequest)
            let big = #"{"name":""# + String(repeating: "a", count: 4000) + #""}"#
            #expect(try await s.send(.POST, "/echo/1", body: big).0 == .payloadTooLarge, "over the operation's maxBodyBytes")
        }
    }

    @Test func upstreamBodiesAreValidatedBeforeTheyAreForwarded() async throws {
        try await Self.with { s in
            let (bad, badBody, _) = try await s.send(.POST, "/legacy/orders", body: #"{"sku":"x"}"#)
            #expect(bad == .badRequest)
            #expect(badBody?["errors"]?.arrayValue?.first?["pointer"] == "/sku")
            #expect(s.backend.requests == 0, "an invalid body never reaches the backend")
            let good = #"{"sku":"abc-123"}"#
            let (ok, okBody, _) = try await s.send(.POST, "/legacy/orders", body: good)
            #expect(ok == .ok)
            #expect(okBody?["bodyBytes"] == .int(Int64(good.utf8.count)))
            #expect(okBody?["method"] == "POST")
            #expect(try await s.send(.POST, "/legacy/orders", body: nil, contentType: nil).0 == .ok, "an optional body may be absent")
            #expect(try await s.send(.POST, "/legacy/unchecked", body: "{}").0 == .ok, "validate: false")
            #expect(s.backend.requests == 3)
        }
    }
}
