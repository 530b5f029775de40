// validation-bench: CPU time per operation of the JSON parser and the schema validator on a
// ~1 KB flight document (bench/validation/flight.json against bench/validation/flight-schema.json,
// format assertion on). bench/validation-compare runs it beside jsonschema-rs.
import Foundation
import GatewayCore
import GatewayValidation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time of this process in nanoseconds.
func cpuNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Runs `body` in a loop for about `seconds` of CPU time and returns ns per call.
func measure(seconds: Double = 1.0, _ body: () -> Int) -> (nsPerOp: Double, iterations: Int) {
    var sink = 0
    for _ in 0..<1000 { sink &+= body() }  // warm-up
    var iterations = 0
    var batch = 1000
    let start = cpuNanoseconds()
    var elapsed: UInt64 = 0
    while elapsed < UInt64(seconds * 1e9) {
        for _ in 0..<batch { sink &+= body() }
        iterations += batch
        elapsed = cpuNanoseconds() - start
        batch = min(batch * 2, 100_000)
    }
    if sink == 42 { print("") }  // keeps the work observable
    return (Double(elapsed) / Double(iterations), iterations)
}

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let folder = root.appendingPathComponent("bench/validation")
guard let documentData = try? Data(contentsOf: folder.appendingPathComponent("flight.json")),
      let schemaData = try? Data(contentsOf: folder.appendingPathComponent("flight-schema.json")) else {
    print("validation-bench: bench/validation/flight.json or flight-schema.json not found under \(root.path)")
    exit(1)
}
let documentBytes = [UInt8](documentData)
let schema = try JSONParser.parse(schemaData)
let validator = try SchemaValidator.compile(document: schema, baseURI: "file://\(folder.path)/flight-schema.json",
                                            options: ValidationOptions(formatAssertion: true))
let document = try JSONParser.parse(documentBytes)
guard validator.isValid(document) else {
    print("validation-bench: the flight is invalid: \(validator.validate(document))")
    exit(1)
}
var invalid = document
if case .object(var members) = invalid, case .array(var passengers) = members["passengers"], case .object(var first) = passengers[0] {
    first["email"] = "not-an-email"
    first["phone"] = "0049151"
    passengers[0] = .object(first)
    members["passengers"] = .array(passengers)
    invalid = .object(members)
}

let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "") ?? 1.0
print("validation-bench: \(documentBytes.count)-byte flight document, CPU time per operation (\(seconds) s per line)")

let rows: [(String, () -> Int)] = [
    ("parse (JSONParser)", {
        guard case .object(let members)? = try? JSONParser.parse(documentBytes) else { return 0 }
        return members.count
    }),
    ("parse (Foundation JSONDecoder)", {
        guard case .object(let members)? = try? JSONValue.parse(documentData) else { return 0 }
        return members.count
    }),
    ("validate, isValid", { validator.isValid(document) ? 1 : 0 }),
    ("validate, validate(maxErrors: 20)", { validator.validate(document, maxErrors: 20).count }),
    ("parse + validate", {
        guard let value = try? JSONParser.parse(documentBytes) else { return 0 }
        return validator.validate(value, maxErrors: 20).count
    }),
    ("validate invalid doc (2 errors)", { validator.validate(invalid, maxErrors: 20).count }),
]
for (name, body) in rows {
    let (ns, iterations) = measure(seconds: seconds, body)
    print("\(name.padding(toLength: 36, withPad: " ", startingAt: 0)) \(String(format: "%9.0f", ns)) ns/op  (\(iterations) iterations)")
}
