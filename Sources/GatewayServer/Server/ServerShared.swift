import GatewayPlan
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// State shared by every connection of one server: the installed route table (swapped whole on
/// reload), each event loop's own state (upstream pool, request ids), the API keys and limits,
/// the end-of-exchange observer, and the count of work away from the loops.
final class ServerShared: Sendable {
    private let current: NIOLockedValueBox<RouteTable>
    private let locals = NIOLockedValueBox<[ObjectIdentifier: LoopLocalBox]>([:])
    let logger: Logger
    let policies: PolicyState
    let work: OutstandingWork
    let observer: any ExchangeObserver
    /// The Prometheus series (`/metrics` on the admin listener).
    let metrics: GatewayMetrics
    /// Span export, when `tracing` is configured (read at start).
    let tracing: GatewayTracing?
    /// Upstreams' health, budgets and limits, kept across reloads; health checks run on `loop`.
    let guards: UpstreamGuards
    /// Migrating routes' stages, windows, reports and counts, kept across reloads.
    let migrations: MigrationRoutes
    /// Process functions' warm workers, kept across reloads where their configuration is unchanged.
    let workers: FunctionWorkers

    init(runtime: GatewayRuntime, logger: Logger, loop: (any EventLoop)? = nil, loops: [any EventLoop] = []) throws(ConfigErrors) {
        self.logger = logger
        self.metrics = GatewayMetrics()
        do {
            self.policies = try PolicyState(logger: logger, metrics: metrics, state: runtime.plan.config.state, loops: loops)
        } catch {
            throw ConfigErrors([ConfigError(file: runtime.plan.config.file, "state: cannot set up the shared state: \(error)")])
        }
        self.work = OutstandingWork()
        if let settings = runtime.plan.config.tracing {
            do {
                self.tracing = try GatewayTracing(otlp: settings.otlp, sample: settings.sample, logger: logger)
            } catch {
                throw ConfigErrors([ConfigError(file: runtime.plan.config.file, "tracing: cannot set up the OTLP exporter: \(error)")])
            }
        } else {
            self.tracing = nil
        }
        var observers: [any ExchangeObserver] = [
            runtime.plan.config.logs.access ? AccessLog(logger: logger) : NoAccessLog(),
            MetricsObserver(),
        ]
        if let tracing { observers.append(TracingObserver(tracing: tracing)) }
        self.observer = ObserverChain(observers: observers)
        self.guards = UpstreamGuards(loop: loop ?? MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        self.migrations = MigrationRoutes(logger: logger)
        self.workers = FunctionWorkers(loop: loop ?? MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        do {
            self.current = NIOLockedValueBox(try RouteTable(runtime: runtime, policies: policies, work: work,
                                                            guards: guards.update(for: runtime), migrations: migrations,
                                                            workers: workers, logger: logger))
        } catch {
            migrations.discardStaged()
            workers.discardStaged()
            throw error
        }
        migrations.commit()
        workers.commit()
    }

    /// The table in use. A request takes it once, at its head.
    var table: RouteTable {
        current.withLockedValue { $0 }
    }

    var runtime: GatewayRuntime { table.runtime }

    /// Binds `runtime` and swaps it in; requests in flight finish on the table they started with.
    /// What survives (README, "Reload"): pooled upstream connections whose target and TLS
    /// settings the new table still uses (the others are closed), buckets of operations and keys
    /// that still exist (with the new rates from their next use), quota counts, authorizer caches
    /// of unchanged authorizers (kept by `GatewayRuntime(replacing:)`).
    func install(_ runtime: GatewayRuntime) throws(ConfigErrors) {
        let table: RouteTable
        do {
            table = try RouteTable(runtime: runtime, policies: policies, work: work, guards: guards.update(for: runtime),
                                   migrations: migrations, workers: workers, logger: logger)
        } catch {
            migrations.discardStaged()
            workers.discardStaged()
            throw error
        }
        current.withLockedValue { $0 = table }
        migrations.commit()
        workers.commit()
        policies.prune(operations: Set(runtime.plan.operations.map(\.routeKey)), gateway: runtime.plan.config.throttle != nil)
        let keys = table.poolKeys
        for box in locals.withLockedValue({ Array($0.values) }) {
            box.local.pool.eventLoop.execute { box.local.pool.closeIdle(keeping: keys) }
        }
    }

    /// The state of `eventLoop`; created on first use. Looked up once per connection or stream.
    func local(for eventLoop: any EventLoop) -> LoopLocal {
        locals.withLockedValue { locals in
            let key = ObjectIdentifier(eventLoop)
            if let box = locals[key] { return box.local }
            let box = LoopLocalBox(local: LoopLocal(eventLoop: eventLoop))
            locals[key] = box
            return box.local
        }
    }

    /// Every loop's request metrics, copied on each loop.
    func metricsSnapshots() async -> [LoopMetrics.Snapshot] {
        let all = locals.withLockedValue { $0.values.map { $0 } }
        var out: [LoopMetrics.Snapshot] = []
        for box in all {
            if let snapshot = try? await box.local.pool.eventLoop.submit({ box.local.metrics.snapshot() }).get() {
                out.append(snapshot)
            }
        }
        return out
    }

    /// Closes every loop's pooled upstream connections, on each loop (health checks stop first).
    func closePools() async {
        guards.stopAll()
        migrations.stop()
        await workers.stopAll()
        let all = locals.withLockedValue { $0.values.map { $0 } }
        for box in all {
            try? await box.local.pool.eventLoop.submit { box.local.pool.closeAll() }.get()
        }
    }
}

/// Carries a loop's state across threads. The state itself is only used on its own event loop.
struct LoopLocalBox: @unchecked Sendable {
    let local: LoopLocal
}
