import ArgumentParser
import Foundation
import GatewayCertificates
import GatewayPlan
import GatewayServer
import Logging
import Metrics
import Prometheus

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway. SIGHUP reloads the configuration; an invalid one is refused and the running one kept.")

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Event-loop threads (overrides `threads` in the configuration).")
    var threads: Int?

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        let functions = BuiltinFunctions.registry()
        let compiler = BuiltinFunctions.compiler(functions)
        let plan: GatewayPlan
        do {
            plan = try compiler.compile(configPath: options.config)
        } catch {
            printErrors(error)
            throw ExitCode(1)
        }
        // The log format is the configuration's (read once: a reload does not change it).
        let json = plan.config.logs.format == .json
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "gateway")

        let server: GatewayServer
        do {
            try createDevelopmentCertificatesIfAbsent(plan.config, logger: logger)
            server = try GatewayServer(runtime: try GatewayRuntime(plan: plan, functions: functions, logger: logger),
                                       logger: logger, threads: threads)
            try await server.start()
        } catch let errors as ConfigErrors {
            printErrors(errors)
            throw ExitCode(1)
        }
        // Libraries that record through swift-metrics land in the same registry as the gateway's own series.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: server.metricsRegistry))

        if let https = plan.config.https, let port = server.httpsPort {
            logger.notice("listening", metadata: ["url": "https://\(https.host):\(port)"])
        }
        if let http = plan.config.http, let port = server.httpPort {
            logger.notice("listening", metadata: ["url": "http://\(http.host):\(port)"])
        }
        logger.notice("serving", metadata: [
            "operations": "\(plan.operations.count)", "documents": "\(plan.documents.count)",
            "default": "\(plan.config.defaultUpstream ?? "none (404)")",
        ])

        /// Compiles the configuration again and swaps it in once new function workers are warm;
        /// nil when applied, else the reasons it was refused (the running configuration is kept).
        let reloadNow: AdminServer.Reload = { [options] in
            let refused: [String]
            do {
                let plan: GatewayPlan
                let runtime: GatewayRuntime
                do {
                    plan = try compiler.compile(configPath: options.config)
                    runtime = try GatewayRuntime(plan: plan, functions: functions, logger: logger, replacing: server.runtime)
                } catch {
                    server.reloadRefused()   // counted here: it never reached the server
                    throw error
                }
                try await server.reloadWarm(runtime)
                logger.notice("configuration reloaded", metadata: ["operations": "\(plan.operations.count)", "digest": "\(server.runtime.digest)"])
                return nil
            } catch let errors as ConfigErrors {
                refused = errors.errors.map(\.description)
            } catch {
                refused = ["\(error)"]
            }
            logger.error("reload refused; keeping the running configuration", metadata: ["errors": "\(refused)"])
            return refused
        }
        var admin: AdminServer?
        if let settings = plan.config.admin {
            let gateway = server
            let server = AdminServer(gateway: server, settings: settings, metrics: { await gateway.metricsText() }, reload: reloadNow)
            do {
                try await server.start()
            } catch let errors as ConfigErrors {
                printErrors(errors)
                throw ExitCode(1)
            }
            admin = server
            logger.notice("admin listening", metadata: ["url": "http://\(settings.listen.host):\(server.port ?? settings.listen.port)"])
        }

        let signals = SignalWatcher()
        signals.onReload = { Task { _ = await reloadNow() } }
        let (stops, stop) = AsyncStream.makeStream(of: Void.self)
        signals.onStop = { stop.yield() }
        signals.onForcedStop = {
            logger.warning("stopping at once (second signal)")
            Foundation.exit(1)
        }
        signals.start()
        // The first SIGTERM or SIGINT stops the server in order; the process returns only once
        // every connection, callout and event loop has stopped. A second one exits at once.
        var iterator = stops.makeAsyncIterator()
        await iterator.next()
        logger.notice("stopping: draining connections", metadata: ["shutdownTimeout": "\(plan.config.shutdownTimeout)"])
        try await server.shutdown()
        await admin?.stop()
        logger.notice("stopped")
    }

    private func createDevelopmentCertificatesIfAbsent(_ config: GatewayConfig, logger: Logger) throws {
        guard config.https != nil, let tls = config.tls else { return }
        let fm = FileManager.default
        guard !fm.fileExists(atPath: tls.certificate) && !fm.fileExists(atPath: tls.key) else { return }
        let written = try DevelopmentCA.write(certificatePath: tls.certificate, keyPath: tls.key)
        // Through the logger (standard error, unbuffered): it appears at once, also when the
        // output is not a terminal.
        logger.notice("\(DevCertificateNotice.text(written))", metadata: [
            "certificate": "\(written.certificate)", "ca": "\(written.caCertificate)",
        ])
    }
}
