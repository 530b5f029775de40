import Foundation
import GatewayCore

/// `functions.NAME`: functions run as worker processes behind the Lambda Runtime API. Every value
/// is checked here, with the file and line of what is wrong; `command[0]` must be found and
/// executable now, not when the first request comes.
extension GatewayConfig {
    static let functionKeys: Set<String> = ["command", "workdir", "env", "workers", "queue", "timeout", "payloadFormat",
                                            "handler", "memorySize", "region"]

    static func processFunctions(_ m: YAMLMap) throws(ConfigError) -> [String: ProcessFunctionConfig] {
        var out: [String: ProcessFunctionConfig] = [:]
        for name in m.keys {
            guard let node = m.node(name) else { continue }
            let f = try YAMLMap(node, in: m.source, context: "functions.\(name)")
            out[name] = try processFunction(name: name, f)
        }
        return out
    }

    private static func processFunction(name: String, _ m: YAMLMap) throws(ConfigError) -> ProcessFunctionConfig {
        try m.requireOnly(functionKeys)
        let line = m.source.line(at: ["functions", name])
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw m.source.error(m.node, "functions.\(name): a function name uses letters, digits, '-', '_' and '.' only")
        }
        guard let command = try m.stringList("command"), let first = command.first, !first.isEmpty else {
            throw m.source.error(m.node("command") ?? m.node, "functions.\(name).command must be a non-empty list: the worker's argv, e.g. [python3, -m, awslambdaric, app.handler]")
        }
        let workdir = try m.string("workdir") ?? FileManager.default.currentDirectoryPath
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workdir, isDirectory: &isFolder), isFolder.boolValue else {
            throw m.source.error(m.node("workdir"), "functions.\(name).workdir: no folder at \(workdir)")
        }
        guard let executable = Self.findExecutable(first, workdir: workdir) else {
            throw m.source.error(m.node("command"), "functions.\(name).command: '\(first)' \(first.contains("/") ? "is not an executable file" : "is not found on PATH") (\(Self.installHint(first)))")
        }
        var environment: [String: String] = [:]
        if let e = try m.map("env") {
            for key in e.keys {
                guard let value = e.node(key)?.scalar?.string else {
                    throw m.source.error(e.node(key), "functions.\(name).env.\(key) must be a string")
                }
                guard !key.isEmpty, !key.contains("="), !key.contains("\0"), !value.contains("\0") else {
                    throw m.source.error(e.node(key), "functions.\(name).env: '\(key)' is not a valid variable name")
                }
                environment[key] = value
            }
        }
        func count(_ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int? {
            guard let v = try m.int(key) else { return nil }
            guard range.contains(v) else {
                throw m.source.error(m.node(key), "functions.\(name).\(key) must be from \(range.lowerBound) to \(range.upperBound)")
            }
            return v
        }
        var timeout: Duration?
        if let t = try m.duration("timeout") {
            guard t > .zero else { throw m.source.error(m.node("timeout"), "functions.\(name).timeout must be longer than zero") }
            timeout = t
        }
        var format = ProcessFunctionConfig.PayloadFormat.v2
        if let node = m.node("payloadFormat") {
            guard let text = node.scalar?.string, let f = ProcessFunctionConfig.PayloadFormat(rawValue: text == "2" ? "2.0" : text == "1" ? "1.0" : text) else {
                throw m.source.error(node, "functions.\(name).payloadFormat must be \"2.0\" or \"1.0\"")
            }
            format = f
        }
        return ProcessFunctionConfig(
            name: name, command: command, executable: executable, workdir: workdir, environment: environment,
            workers: try count("workers", 1...256) ?? 1, queue: try count("queue", 0...100_000) ?? 64,
            timeout: timeout, payloadFormat: format, handler: try m.string("handler"),
            memorySize: try count("memorySize", 128...10_240) ?? 128, region: try m.string("region") ?? "us-east-1",
            line: line)
    }

    /// `command[0]` as a path to an executable file: as written when it holds a `/` (relative to
    /// the working directory, then to `workdir`), else the first match on `PATH`.
    static func findExecutable(_ name: String, workdir: String) -> String? {
        let fm = FileManager.default
        func executable(_ path: String) -> Bool {
            var isFolder: ObjCBool = false
            return fm.fileExists(atPath: path, isDirectory: &isFolder) && !isFolder.boolValue && fm.isExecutableFile(atPath: path)
        }
        if name.contains("/") {
            if name.hasPrefix("/") { return executable(name) ? name : nil }
            let here = fm.currentDirectoryPath + "/" + name
            if executable(here) { return here }
            let there = (workdir.hasPrefix("/") ? workdir : fm.currentDirectoryPath + "/" + workdir) + "/" + name
            return executable(there) ? there : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if executable(candidate) { return candidate }
        }
        return nil
    }

    /// What to install when a worker's runtime is missing.
    public static func installHint(_ name: String) -> String {
        let base = (name as NSString).lastPathComponent
        if base.hasPrefix("python") {
            return "install Python 3 and the runtime client into a virtual environment: python3 -m venv .venv && .venv/bin/pip install awslambdaric (in this project: scripts/python-env)"
        }
        if base == "node" || base == "npx" { return "install Node.js and the runtime client: npm install aws-lambda-ric" }
        if base == "java" { return "install a JDK and the runtime client jar com.amazonaws:aws-lambda-java-runtime-interface-client" }
        return "a runtime interface client or a custom-runtime bootstrap is needed"
    }
}
