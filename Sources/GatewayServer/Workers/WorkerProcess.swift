#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GatewayPlan
import NIOConcurrencyHelpers
import Subprocess

/// One worker process of a function, started with swift-subprocess: Lambda's environment (and
/// nothing else of the gateway's), its own process group, and on Linux a parent-death signal
/// (through `setpriv --pdeathsig KILL`), so that no worker outlives a gateway that is killed.
/// Each line it writes goes to `onLine`; `onExit` is called once, when it has exited.
final class WorkerProcess: Sendable {
    enum Stream: String, Sendable { case stdout, stderr }

    private struct State {
        var pid: pid_t?
        var exited = false
        var killRequested = false
    }
    private let state = NIOLockedValueBox(State())
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// `setpriv`, when this system has it (util-linux).
    static let setpriv: String? = {
        #if os(Linux)
        for path in ["/usr/bin/setpriv", "/bin/setpriv"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        #endif
        return nil
    }()

    /// Lambda's environment for a worker of `config` talking to `runtimeAPI` (host:port).
    static func environment(_ config: ProcessFunctionConfig, runtimeAPI: String) -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var env: [String: String] = [
            "AWS_LAMBDA_RUNTIME_API": runtimeAPI,
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": String(config.memorySize),
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/\(config.name)",
            "AWS_LAMBDA_LOG_STREAM_NAME": "gateway",
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_EXECUTION_ENV": "gateway",
            "LAMBDA_TASK_ROOT": absolute(config.workdir),
            "LAMBDA_RUNTIME_DIR": absolute(config.workdir),
            "_HANDLER": config.handler,
            "TZ": ":UTC",
            "PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": inherited["HOME"] ?? "/",
            "LANG": inherited["LANG"] ?? "C.UTF-8",
        ]
        for (key, value) in config.environment { env[key] = value }
        return env
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Starts the process. `onStart` gets its pid (nil when it could not be started, with the
    /// reason); `onExit` its exit status, as text.
    init(config: ProcessFunctionConfig, runtimeAPI: String,
         onStart: @escaping @Sendable (pid_t?, String?) -> Void,
         onLine: @escaping @Sendable (Stream, String) -> Void,
         onExit: @escaping @Sendable (String) -> Void) {
        var arguments = Array(config.command.dropFirst())
        var executable = config.executable
        if let setpriv = Self.setpriv {
            arguments = ["--pdeathsig", "KILL", "--", config.executable] + arguments
            executable = setpriv
        }
        var options = PlatformOptions()
        options.processGroupID = 0
        let configuration = Configuration(
            executable: .path(.init(executable)),
            arguments: Arguments(arguments),
            environment: .custom(Dictionary(uniqueKeysWithValues: Self.environment(config, runtimeAPI: runtimeAPI).map {
                (Environment.Key(rawValue: $0.key)!, $0.value)
            })),
            workingDirectory: .init(Self.absolute(config.workdir)),
            platformOptions: options)
        let state = self.state
        let work = Task {
            do {
                let result = try await Subprocess.run(configuration, input: .none, output: .sequence, error: .sequence) { execution in
                    let pid = execution.processIdentifier.value
                    let killNow = state.withLockedValue { s -> Bool in
                        s.pid = pid
                        return s.killRequested
                    }
                    onStart(pid, nil)
                    if killNow { posixKill(-pid, SIGKILL) }
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await Self.lines(of: execution.standardOutput) { onLine(.stdout, $0) } }
                        group.addTask { await Self.lines(of: execution.standardError) { onLine(.stderr, $0) } }
                    }
                }
                state.withLockedValue { $0.exited = true }
                onExit("\(result.terminationStatus)")
            } catch {
                state.withLockedValue { $0.exited = true }
                onStart(nil, "\(error)")
                onExit("not started: \(error)")
            }
        }
        task.withLockedValue { $0 = work }
    }

    /// Longest line passed on whole; longer ones are passed on in pieces of this size.
    static let maxLine = 16 * 1024

    /// Reads `output` to its end, line by line. It never stops early: a worker whose pipe is
    /// not drained would block on its next write.
    static func lines(of output: SubprocessOutputSequence, _ emit: (String) -> Void) async {
        var pending: [UInt8] = []
        func flush(_ bytes: ArraySlice<UInt8>) {
            var line = bytes
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            emit(String(decoding: line, as: UTF8.self))
        }
        do {
            for try await buffer in output {
                buffer.withUnsafeBytes { pending.append(contentsOf: $0) }
                var start = pending.startIndex
                while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    flush(pending[start..<newline])
                    start = newline + 1
                }
                while pending.count - start >= maxLine {
                    flush(pending[start..<(start + maxLine)])
                    start += maxLine
                }
                pending.removeFirst(start)
            }
        } catch {}
        if !pending.isEmpty { flush(pending[...]) }
    }

    /// Sends `signal` to the worker's process group (the worker and anything it started).
    func signal(_ signal: Int32) {
        let pid: pid_t? = state.withLockedValue { s in
            if s.pid == nil { s.killRequested = true }
            return s.exited ? nil : s.pid
        }
        if let pid { _ = posixKill(-pid, signal) }
    }

    func kill() { signal(SIGKILL) }
    func terminate() { signal(SIGTERM) }

    var pid: pid_t? { state.withLockedValue { $0.pid } }
}

/// `kill(2)` (the class's own `kill()` hides the name).
@discardableResult
private func posixKill(_ pid: pid_t, _ signal: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.kill(pid, signal)
    #else
    return Darwin.kill(pid, signal)
    #endif
}
