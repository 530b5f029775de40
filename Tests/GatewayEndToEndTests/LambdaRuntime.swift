import Foundation

/// The Python runtime the Lambda tests run real handlers with: `.venv` at the project's root,
/// made by `scripts/python-env` (the README's test command runs it first).
enum LambdaRuntime {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let python = root + "/.venv/bin/python"
    static let fixtures = root + "/Tests/Fixtures/lambda"

    /// Why the Lambda tests cannot run here, or nil when `.venv` has awslambdaric.
    static let missing: String? = {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return "no \(python): run scripts/python-env (scripts/test does) to create it"
        }
        guard FileManager.default.fileExists(atPath: root + "/.venv/.requirements") else {
            return ".venv is incomplete: run scripts/python-env"
        }
        return nil
    }()

    static var available: Bool {
        if let missing { print("skipping the Lambda worker tests: \(missing)") }
        return missing == nil
    }

    /// The example's `functions:` block (routes/gateway.yaml's, with absolute paths), for tests
    /// that serve `routes/flights.yaml`. Without `.venv` the workers fail to start and the
    /// route answers 503; these tests do not call it.
    static var exampleFunctions: String {
        let command = missing == nil ? python : "python3"
        return """
        functions:
          bookings: {command: [\(command), -m, awslambdaric, app.handler], workdir: \(root)/functions/bookings}
        """
    }
}
