// Measures the hot-path cost of the API key phase and the rate limiter, per request:
// key shape + checksum, SHA-256, snapshot lookup, then one admission over the gateway, key,
// key+operation and operation buckets and the quota. Prints ns/request (CPU time, one thread).
//
//   swift run -c release policy-bench
import Foundation
import GatewayCore
import GatewayPolicies

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

func run(_ label: String, _ body: (Int) -> Bool) {
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
run("buckets: gateway + key + key/operation + operation") { i in
    var r = RateLimiter.Request()
    r.gateway = .init(rate: 1e9, burst: 1_000_000)
    r.operation = ("GET /flights/{flightId}", .init(rate: 1e9, burst: 1_000_000))
    r.key = ("key_\(i % 100)", .init(rate: 1e9, burst: 1_000_000))
    r.keyOperation = ("key_\(i % 100)", "GET /flights/{flightId}", .init(rate: 1e9, burst: 1_000_000))
    r.quota = .init(keyId: "key_\(i % 100)", limit: Int.max, period: .day)
    if case .admitted = limiter.admit(r, now: UInt64(i) * 1000, wallClock: now) { return true }
    return false
}
run("both, as the gateway does per keyed request") { i in
    guard let record = snapshot.lookup(secrets[i % keyCount], at: now) else { return false }
    var r = RateLimiter.Request()
    r.gateway = .init(rate: 1e9, burst: 1_000_000)
    r.key = (record.id, .init(rate: 1e9, burst: 1_000_000))
    r.keyOperation = (record.id, "GET /flights/{flightId}", .init(rate: 1e9, burst: 1_000_000))
    r.quota = .init(keyId: record.id, limit: Int.max, period: .day)
    if case .admitted = limiter.admit(r, now: UInt64(i) * 1000, wallClock: now) { return true }
    return false
}
