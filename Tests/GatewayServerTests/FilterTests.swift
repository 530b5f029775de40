import GatewayCore
import GatewayPlan
import GatewayPolicies
import GatewayValidation
import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import GatewayServer
import Testing

/// Each filter alone, on a request context, without sockets; and the order of a bound chain.
@Suite struct FilterTests {
    let loop = EmbeddedEventLoop()

    func request(_ method: HTTPMethod = .GET, _ uri: String, _ headers: [(String, String)] = [],
                 operation: OperationPlan? = nil) -> RequestContext {
        TestRuntime.context(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders([("host", "x")] + headers)),
                            operation: operation)
    }

    func status(_ s: FilterStatus) -> String {
        switch s {
        case .next: return "next"
        case .respond(let e): return "\(e.status)"
        case .suspend: return "suspend"
        case .needBody(let limit): return "needBody \(limit)"
        }
    }

    @Test func theGatewayThrottleRefusesBeyondItsBurstAndSaysWhy() {
        let filter = GatewayThrottleFilter(limiter: RateLimiter(), throttle: Throttle(rate: 0.001, burst: 2))
        #expect(status(filter.run(request(.GET, "/a"), on: loop)) == "next")
        #expect(status(filter.run(request(.GET, "/b"), on: loop)) == "next")
        let third = request(.GET, "/c")
        guard case .respond(let error) = filter.run(third, on: loop) else {
            Issue.record("the third request passed")
            return
        }
        #expect(error.status == 429 && error.message == "Too Many Requests")
        #expect(error.headers.contains { $0.0 == "retry-after" })
        #expect(third.throttledBy == .gateway)
    }

    @Test func theOperationBucketAndItsRateLimitState() {
        let filter = AdmissionFilter(limiter: RateLimiter(), shared: nil, failure: .open, routeKey: "GET /a", operationThrottle: Throttle(rate: 0.001, burst: 1),
                                     operationId: "getA")
        #expect(status(filter.run(request(.GET, "/a"), on: loop)) == "next")
        let second = request(.GET, "/a")
        #expect(status(filter.run(second, on: loop)) == "429")
        #expect(second.throttledBy == .operation)
    }

    func validator(_ document: String) throws -> OperationValidator {
        let config = try GatewayConfig.parse(try YAMLSource(file: "gateway.yaml", text: "listen: {http: 127.0.0.1:0}\n"))
        let api = try APIDocument(source: try YAMLSource(file: "api.yaml", text: document))
        let plan = try PlanCompiler(functionNames: ["f"]).compile(config: config, documents: [api])
        return try #require(plan.operations[0].validator)
    }

    @Test func headerAndCookieParametersAreReadFromTheRequestsHead() throws {
        let v = try validator("""
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /items:
            get:
              parameters:
                - {name: x-level, in: header, required: true, schema: {type: integer, maximum: 3}}
                - {name: session, in: cookie, required: true, schema: {type: string, minLength: 4}}
              x-gateway: {function: f}
              responses: {'200': {description: ok}}
        """)
        #expect(v.readsHeaders)
        let filter = ValidationFilter(validator: v, bodyLimit: 100)
        #expect(status(filter.run(request(.GET, "/items", [("X-Level", "2"), ("cookie", "a=1; session=abcd")]), on: loop)) == "next")
        #expect(status(filter.run(request(.GET, "/items", [("X-Level", "7"), ("cookie", "session=abcd")]), on: loop)) == "400")
        #expect(status(filter.run(request(.GET, "/items", [("cookie", "session=abcd")]), on: loop)) == "400")
        #expect(status(filter.run(request(.GET, "/items", [("x-level", "1"), ("cookie", "session=ab")]), on: loop)) == "400")
        #expect(status(filter.run(request(.GET, "/items", [("x-level", "1")]), on: loop)) == "400")
    }

    @Test func validationChecksParametersThenAsksForTheBodyThenValidatesIt() throws {
        let v = try validator("""
        openapi: 3.1.0
        info: {title: t, version: '1'}
        paths:
          /items/{id}:
            post:
              parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
              requestBody: {required: true, content: {application/json: {schema: {type: object, required: [n], properties: {n: {type: integer}}}}}}
              x-gateway: {function: f}
              responses: {'201': {description: ok}}
        """)
        let filter = ValidationFilter(validator: v, bodyLimit: 100)
        let badParameter = request(.POST, "/items/x", [("content-type", "application/json"), ("content-length", "2")])
        badParameter.pathParameters = [("id", "x")]
        #expect(status(filter.run(badParameter, on: loop)) == "400")
        #expect(badParameter.validationFailed)

        let good = request(.POST, "/items/1", [("content-type", "application/json"), ("content-length", "7")])
        good.pathParameters = [("id", "1")]
        #expect(status(filter.run(good, on: loop)) == "needBody 100")
        good.body = ByteBuffer(string: #"{"n":1}"#)
        good.bodyRead = true
        #expect(status(filter.run(good, on: loop)) == "next")

        let badBody = request(.POST, "/items/1", [("content-type", "application/json"), ("content-length", "9")])
        badBody.pathParameters = [("id", "1")]
        _ = filter.run(badBody, on: loop)
        badBody.body = ByteBuffer(string: #"{"n":"1"}"#)
        badBody.bodyRead = true
        #expect(status(filter.run(badBody, on: loop)) == "400")

        let wrongType = request(.POST, "/items/1", [("content-type", "text/plain"), ("content-length", "1")])
        wrongType.pathParameters = [("id", "1")]
        #expect(status(filter.run(wrongType, on: loop)) == "415")
    }

    @Test func repeatedKeysAreRefusedBeforeAFunctionSeesThem() {
        let filter = RepeatedKeyFilter(bodyLimit: 64)
        let json = request(.POST, "/f", [("content-type", "application/json")])
        #expect(status(filter.run(json, on: loop)) == "needBody 64")
        json.body = ByteBuffer(string: #"{"a":1,"a":2}"#)
        json.bodyRead = true
        guard case .respond(let error) = filter.run(json, on: loop) else {
            Issue.record("passed")
            return
        }
        #expect(error.errors.first?.pointer == "/a")
        #expect(status(filter.run(request(.POST, "/f", [("content-type", "text/plain")]), on: loop)) == "next")
    }

    @Test func aBoundChainRunsInDesignOrderWithTheGatewayThrottleFirst() throws {
        let runtime = try TestRuntime.make(gateway: """
        listen: {http: 127.0.0.1:0}
        throttle: {rate: 100, burst: 100}
        plans: {basic: {rate: 1, burst: 1}}
        """, document: """
        openapi: 3.1.0
        info: {title: t, version: '1'}
        components:
          securitySchemes:
            key: {type: apiKey, in: header, name: x-api-key}
            desk: {type: http, scheme: bearer, x-gateway-authorizer: {function: airlines.authorize, type: token}}
        paths:
          /a/{id}:
            post:
              security: [{key: [], desk: []}]
              parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
              x-gateway: {function: flights.create, throttle: {rate: 5, burst: 5}}
              responses: {'200': {description: ok}}
          /b:
            get: {x-gateway: {function: test.echo}, responses: {'200': {description: ok}}}
        """)
        let shared = TestRuntime.shared(runtime)
        let table = shared.table
        let names = table.routes.map { $0.filters.map { String(describing: type(of: $0)) } }
        #expect(names[0] == ["GatewayThrottleFilter", "APIKeyFilter", "AuthorizerFilter", "AdmissionFilter",
                             "ValidationFilter", "RepeatedKeyFilter"])
        #expect(names[1] == ["GatewayThrottleFilter", "RepeatedKeyFilter"])
        #expect(table.fallback.filters.map { String(describing: type(of: $0)) } == ["GatewayThrottleFilter"])
        guard case .dispatch(let dispatcher) = table.routes[0].action else {
            Issue.record("no dispatcher")
            return
        }
        #expect(dispatcher.needsWholeBody)
        #expect("\(dispatcher.target)" == "function:flights.create")
    }
}
