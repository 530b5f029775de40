import Foundation
import GatewayCore
import GatewayValidation

/// Reads and runs JSON-Schema-Test-Suite files from `../shared/conformance` (never copied into the
/// repository).
struct TestSuiteRunner {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let suiteRoot = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance/JSON-Schema-Test-Suite")

    /// The suite's folder, or nil after printing why the tests are skipped.
    static func locateSuite() -> URL? {
        if FileManager.default.fileExists(atPath: suiteRoot.appendingPathComponent("tests").path) { return suiteRoot }
        print("JSON-Schema-Test-Suite not found at \(suiteRoot.path); skipping")
        return nil
    }

    struct Failure: CustomStringConvertible {
        let file: String
        let group: String
        let test: String
        let reason: String
        var description: String { "\(file) | \(group) | \(test): \(reason)" }
    }

    struct Outcome {
        var passed = 0
        var total = 0
        var failures: [Failure] = []
        var summary: String { "\(passed)/\(total) passed" }
    }

    let root: URL
    let dialect: SchemaDialect
    let options: ValidationOptions

    /// Maps `http://localhost:1234/X` to `remotes/X`.
    var resolver: @Sendable (String) -> JSONValue? {
        let remotes = root.appendingPathComponent("remotes")
        return { uri in
            let prefix = "http://localhost:1234/"
            guard uri.hasPrefix(prefix) else { return nil }
            let file = remotes.appendingPathComponent(String(uri.dropFirst(prefix.count)))
            guard let data = try? Data(contentsOf: file) else { return nil }
            return try? JSONParser.parse(data)
        }
    }

    func files(in folder: String) -> [String] {
        let url = root.appendingPathComponent("tests").appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { folder + "/" + $0 }
    }

    func run(_ files: [String]) -> Outcome {
        var outcome = Outcome()
        for file in files { run(file, into: &outcome) }
        return outcome
    }

    func run(_ file: String, into outcome: inout Outcome) {
        if ProcessInfo.processInfo.environment["SUITE_TRACE"] != nil { FileHandle.standardError.write(Data("running \(file)\n".utf8)) }
        let url = root.appendingPathComponent("tests").appendingPathComponent(file)
        guard let data = try? Data(contentsOf: url), case .array(let groups) = try? JSONParser.parse(data) else {
            outcome.failures.append(Failure(file: file, group: "", test: "", reason: "cannot read or parse the file"))
            return
        }
        for group in groups {
            let description = group["description"]?.stringValue ?? "?"
            let tests = group["tests"]?.arrayValue ?? []
            let validator: SchemaValidator
            do {
                validator = try SchemaValidator.compile(document: group["schema"] ?? .null, baseURI: "urn:test:schema",
                                                        dialect: dialect, options: options, resolver: resolver)
            } catch {
                for test in tests {
                    outcome.total += 1
                    outcome.failures.append(Failure(file: file, group: description, test: test["description"]?.stringValue ?? "?",
                                                    reason: "compile error: \(error)"))
                }
                continue
            }
            for test in tests {
                outcome.total += 1
                let expected = test["valid"] == .bool(true)
                let data = test["data"] ?? .null
                let fast = validator.isValid(data)
                let errors = validator.validate(data, maxErrors: 5)
                if fast == expected && errors.isEmpty == expected {
                    outcome.passed += 1
                } else {
                    let reason = fast != expected
                        ? "expected \(expected ? "valid" : "invalid")" + (fast ? "" : ": \(errors.map(\.description).joined(separator: "; "))")
                        : "isValid and validate() disagree"
                    outcome.failures.append(Failure(file: file, group: description, test: test["description"]?.stringValue ?? "?", reason: reason))
                }
            }
        }
    }
}
