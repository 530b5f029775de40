import Foundation
import GatewayRedis
import NIOCore
import NIOPosix

/// A real `redis-server` on a free loopback port, started by a test and stopped by its PID. No
/// persistence: a stopped server comes back empty unless `keepData` is set (then it writes a dump
/// in its folder when stopped and reads it when started again).
final class RedisServer: @unchecked Sendable {
    static let executable: String? = {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: dir + "/redis-server") {
            return dir + "/redis-server"
        }
        return nil
    }()

    /// Why the Redis tests cannot run here, if they cannot.
    static let unavailableReason = "redis-server is not installed (the README's test command, scripts/test, installs it)"
    static var available: Bool { executable != nil }

    private(set) var port = 0
    let folder: String
    let password: String?
    let keepData: Bool

    /// TLS only (`rediss://`), with this certificate and key, when set.
    let tls: (certificate: String, key: String, ca: String)?

    init(password: String? = nil, keepData: Bool = false, tls: (certificate: String, key: String, ca: String)? = nil) throws {
        self.password = password
        self.keepData = keepData
        self.tls = tls
        folder = NSTemporaryDirectory() + "gateway-redis-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try TestFolder.closedPort()
            do {
                self.port = port
                try start()
                return
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    /// The server's URL, with a 1 s timeout per call: the tests share a loaded machine, and what
    /// they check is not how fast Redis answers (the timeout test sets its own).
    var url: String { baseURL + "?timeout=1s" }

    var baseURL: String {
        (tls == nil ? "redis://" : "rediss://") + (password.map { ":\($0)@" } ?? "") + "127.0.0.1:\(port)/0"
    }

    /// Starts the server (again) on its port and waits until it answers PING. (Spawned and reaped
    /// here rather than with Foundation's `Process`, whose exit monitoring lagged by seconds.)
    func start() throws {
        var arguments = [Self.executable!, "--port", String(port), "--bind", "127.0.0.1", "--dir", folder, "--appendonly", "no",
                         "--save", keepData ? "3600 1" : "", "--protected-mode", "no", "--loglevel", "warning",
                         "--enable-debug-command", "local"]
        if let password { arguments += ["--requirepass", password] }
        if let tls {
            arguments[2] = "0"
            arguments += ["--tls-port", String(port), "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
                          "--tls-auth-clients", "no"]
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // The test process blocks some signals on its threads; the server must get SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, Self.executable!, &actions, &attributes, &argv, environ)
        guard rc == 0 else { throw RedisError.unavailable("cannot start redis-server: errno \(rc)") }
        pid = child
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if exited() { throw RedisError.unavailable("redis-server exited at start (port \(port) taken?)") }
            if (try? ping()) == true { return }
            usleep(20_000)
        }
        stop()
        throw RedisError.unavailable("redis-server did not answer on port \(port)")
    }

    private var pid: pid_t = 0

    /// Reaps the child if it has exited.
    private func exited() -> Bool {
        guard pid != 0 else { return true }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            pid = 0
            return true
        }
        return false
    }

    private var pingURL: String { tls.map { url + "&ca=\($0.ca)" } ?? url }

    /// A PING on a fresh connection.
    func ping() throws -> Bool {
        let client = try RedisClient(configuration: try RedisConfiguration(url: pingURL), eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        defer { _ = try? client.close().wait() }
        return try client.call("PING", timeout: .milliseconds(500)) == .simpleString("PONG")
    }

    /// Stops the server by its PID (SIGTERM; with `keepData` it saves first) and waits for it to exit.
    func stop() {
        guard pid != 0 else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while !exited() && Date() < deadline { usleep(5_000) }
        if pid != 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            pid = 0
        }
    }

    /// Stops the server and removes its folder.
    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
