// Measures the hot-path cost of the API key phase and the rate limiter, per request:
// key shape + checksum, SHA-256, snapshot lookup, then one admission over the gateway, key,
// key+operation and operation buckets and the quota; and an authorizer cache hit (cache key
// from the identity, locked LRU lookup, verdict applied to the request's method ARN); and the
// comparison of a shadowed request's two answers (a migration in shadow).
// Prints ns/request (CPU time, one thread).
//
//   swift run -c release policy-bench
import Foundation
import GatewayAuthorizers
import GatewayCallouts
import GatewayCore
import GatewayFunctions
import GatewayMigration
import GatewayPolicies
import Logging
import NIOCore
import NIOPosix

func cpuNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

let keyCount = 10_000
var records: [KeyRecord] = []
var secrets: [String] = []
for i in 0..<keyCount {
    let secret = APIKey.generate()
    secrets.append(secret)
    records.append(KeyRecord(id: "key_\(i)", name: nil, plan: "basic", digest: APIKey.digest(secret), createdAt: 0))
}
let snapshot = KeySnapshot(records)
let limiter = RateLimiter()
let iterations = 2_000_000
let now = Date().timeIntervalSince1970

func run(_ label: String, iterations: Int = iterations, _ body: (Int) -> Bool) {
    var admitted = 0
    for i in 0..<10_000 where body(i) { admitted += 1 }  // warm up
    let start = cpuNanoseconds()
    for i in 0..<iterations where body(i) { admitted += 1 }
    let ns = Double(cpuNanoseconds() - start) / Double(iterations)
    print(String(format: "%-52@ %7.0f ns/request", label as NSString, ns), admitted > 0 ? "" : "(none admitted)")
}

run("key phase (checksum, SHA-256, snapshot lookup)") { i in
    snapshot.lookup(secrets[i % keyCount], at: now) != nil
}
// Bucket names are hashed once, as the gateway does when its plan compiles and its keys load.
let routeName: HashedName = "GET /flights/{flightId}"
let keyNames = (0..<100).map { HashedName("key_\($0)") }
run("buckets: gateway + key + key/operation + operation") { i in
    var r = RateLimiter.Request()
    r.gateway = .init(rate: 1e9, burst: 1_000_000)
    r.operation = (routeName, .init(rate: 1e9, burst: 1_000_000))
    r.key = (keyNames[i % 100], .init(rate: 1e9, burst: 1_000_000))
    r.keyOperation = (keyNames[i % 100], routeName, .init(rate: 1e9, burst: 1_000_000))
    r.quota = .init(keyId: keyNames[i % 100], limit: Int.max, period: .day)
    if case .admitted = limiter.admit(r, now: UInt64(i) * 1000, wallClock: now) { return true }
    return false
}
let substrings = secrets.map { Substring($0) }
run("both, as the gateway does per keyed request") { i in
    guard let entry = snapshot.entry(substrings[i % keyCount], at: now) else { return false }
    var r = RateLimiter.Request()
    r.gateway = .init(rate: 1e9, burst: 1_000_000)
    r.key = (entry.id, .init(rate: 1e9, burst: 1_000_000))
    r.keyOperation = (entry.id, routeName, .init(rate: 1e9, burst: 1_000_000))
    r.quota = .init(keyId: entry.id, limit: Int.max, period: .day)
    if case .admitted = limiter.admit(r, now: UInt64(i) * 1000, wallClock: now) { return true }
    return false
}

// Authorizer cache hits: one simple verdict, one IAM policy evaluated against the method ARN.
var functions = FunctionRegistry()
functions.registerAuthorizer("simple", ClosureAuthorizer { _, _ in ["isAuthorized": true, "context": ["tenant": "t1"]] })
functions.registerAuthorizer("policy", ClosureAuthorizer { _, _ in
    ["principalId": "u1", "policyDocument": ["Statement": [
        ["Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:flights/*/GET/flights/*"],
    ]]]
})
func authorizerConfig(_ function: String) -> AuthorizerConfig {
    AuthorizerConfig(id: function, scheme: function, kind: .callout(.init(
        target: .function(function), type: .token, identitySources: [.header("authorization")], timeout: .seconds(1))))
}
let authorizers = try AuthorizerSet(configs: ["simple": authorizerConfig("simple"), "policy": authorizerConfig("policy")],
                                    functions: functions, logger: Logger(label: "bench"))
let loop = MultiThreadedEventLoopGroup.singleton.next()
let tokens = (0..<1000).map { "Bearer token-\($0)" }
for name in ["simple", "policy"] {
    for token in tokens {
        if case .pending(let future) = authorizers[name]!.authorize(key: name + "\u{0}" + token, requestId: "warm", on: loop,
                                                                     now: NIODeadline.now().uptimeNanoseconds, event: { .string(token) }) {
            _ = try future.wait()
        }
    }
}
let paths = (0..<7).map { "/flights/LH123-\($0)" }
func hit(_ name: String, _ i: Int) -> Bool {
    var key = name
    key.append("\u{0}")
    key.append(tokens[i % tokens.count])
    guard case .cached(.verdict(let verdict)) = authorizers[name]!.authorize(
        key: key, requestId: "r", on: loop, now: NIODeadline.now().uptimeNanoseconds, event: { .null }) else { return false }
    if case .policy(let policy) = verdict.grant {
        // As the authorizer filter does: the ARN's bytes in scratch space.
        return AuthorizerEvent.withMethodArn(api: "flights", method: "GET", path: paths[i % paths.count][...]) {
            policy.evaluate(methodArn: $0)
        } == .allow
    }
    return verdict.decision(methodArn: "") == .allow
}
run("authorizer cache hit, simple verdict") { i in hit("simple", i) }
run("authorizer cache hit, IAM policy matched to the route") { i in hit("policy", i) }

// A shadowed request's comparison: status, content-type and the JSON bodies, parsed and diffed.
let comparer = ResponseComparer(headers: ["content-type"], ignore: [PointerPattern("/updatedAt")!])
func answer(_ body: String) -> ResponseComparer.Response {
    ResponseComparer.Response(status: 200, headers: [("content-type", "application/json"), ("date", "now")], body: Array(body.utf8))
}
let small = answer(#"{"ok":true,"service":"legacy"}"#)
let items = (0..<8).map { #"{"sku":"SKU-\#($0)","name":"Item \#($0)","price":\#($0 * 3).5,"quantity":\#($0 + 1),"tags":["a","b"]}"# }
let order = #"{"orderId":"O-1","customer":{"id":"C-7","name":"Ada","email":"ada@example.com"},"items":["# + items.joined(separator: ",")
    + #"],"total":123.5,"status":"confirmed","updatedAt":"2026-12-01T10:00:00Z"}"#
let legacyOrder = answer(order)
let candidateOrder = answer(order.replacingOccurrences(of: "2026-12-01T10:00:00Z", with: "2026-12-01T10:00:01Z"))
run("shadow comparison, 30-byte JSON answers (bench backend)", iterations: 200_000) { _ in
    comparer.compare(small, small).isEmpty
}
run("shadow comparison, \(order.utf8.count)-byte JSON order, ignored /updatedAt", iterations: 200_000) { _ in
    comparer.compare(legacyOrder, candidateOrder).isEmpty
}
let orderBytes = Array(order.utf8)
run("  of which: parsing one \(order.utf8.count)-byte answer", iterations: 200_000) { _ in
    (try? JSONParser.parse(orderBytes)) != nil
}
