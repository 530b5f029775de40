import Testing
import GatewayValidation

/// The JSON-Schema-Test-Suite's required tests: every file of draft2020-12 with the 2020-12
/// dialect, and the draft-04 files whose keywords exist in OpenAPI 3.0's schema object.
@Suite struct ConformanceTests {
    /// draft-04 files that test keywords OpenAPI 3.0's schema object does not have. They still run,
    /// and their counts are printed for information, but are not asserted.
    static let excludedDraft4: [String: String] = [
        "draft4/additionalItems.json": "additionalItems is not an OpenAPI 3.0 keyword",
        "draft4/dependencies.json": "dependencies is not an OpenAPI 3.0 keyword",
        "draft4/definitions.json": "validates schemas against the draft-04 metaschema (definitions is not an OpenAPI 3.0 keyword)",
        "draft4/items.json": "array-form items (tuples) is not allowed in OpenAPI 3.0",
        "draft4/patternProperties.json": "patternProperties is not an OpenAPI 3.0 keyword",
    ]

    @Test func draft2020_12() throws {
        guard let root = TestSuiteRunner.locateSuite() else { return }
        let runner = TestSuiteRunner(root: root, dialect: .draft2020_12, options: ValidationOptions())
        let outcome = runner.run(runner.files(in: "draft2020-12"))
        print("draft2020-12: \(outcome.summary)")
        for failure in outcome.failures {
            print("  FAIL \(failure)")
            #expect(Bool(false), "\(failure)")
        }
    }

    @Test func draft4OpenAPI30() throws {
        guard let root = TestSuiteRunner.locateSuite() else { return }
        let runner = TestSuiteRunner(root: root, dialect: .draft04(openAPI30: true), options: ValidationOptions())
        let all = runner.files(in: "draft4")
        let included = all.filter { Self.excludedDraft4[$0] == nil }
        let outcome = runner.run(included)
        print("draft4 (OpenAPI 3.0 keywords): \(outcome.summary)")
        for failure in outcome.failures {
            print("  FAIL \(failure)")
            #expect(Bool(false), "\(failure)")
        }
        let plain = TestSuiteRunner(root: root, dialect: .draft04(openAPI30: false), options: ValidationOptions())
        for file in all.filter({ Self.excludedDraft4[$0] != nil }) {
            let excluded = plain.run([file])
            print("draft4 excluded (information only) \(file): \(excluded.summary) — \(Self.excludedDraft4[file]!)")
            for failure in excluded.failures { print("  info: \(failure)") }
        }
    }
}
