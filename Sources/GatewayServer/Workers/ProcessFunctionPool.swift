import Atomics
import Foundation
import GatewayCore
import GatewayPlan
import GatewayWorkers
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The warm worker processes of one function and the Runtime API they poll: the I/O shell around
/// `WorkerPool`. Everything runs on one event loop — the Runtime API listeners (one loopback port
/// per worker, so the gateway always knows which process holds which invocation), the state
/// machine, timers — and every process event hops onto it. `invoke` and `abandon` may be called
/// from any thread.
public final class ProcessFunctionPool: RuntimeAPIDelegate, @unchecked Sendable {
    /// How an invocation ended, for the dispatcher.
    public enum Answer: Sendable {
        case response(ByteBuffer)
        case handlerError(type: String, body: ByteBuffer)
        case timedOut
        case crashed
        case queueFull
        case unavailable
    }

    public let config: ProcessFunctionConfig
    let loop: any EventLoop
    private let logger: Logger
    private var machine: WorkerPool
    private var listeners: [EventLoopFuture<any Channel>] = []
    private var processes: [WorkerProcess?]
    private var waiters: [RuntimeAPIHandler?]
    /// The request id of each worker's latest invocation: lines a worker writes are read from its
    /// pipe a little later than written, often after it has answered, and still belong to it.
    private var lastRequestId: [String?]
    private var pending: [UInt64: Pending] = [:]
    private var byRequestId: [String: UInt64] = [:]
    private var restartTimers: [Int: Scheduled<Void>] = [:]
    private var settledPromises: [EventLoopPromise<Void>] = []
    private var drainedPromises: [EventLoopPromise<Void>] = []
    private static let ids = ManagedAtomic<UInt64>(0)
    private let warm = ManagedAtomic(false)

    /// Some worker has started cleanly and not every one is failing (readable from any thread).
    public var isWarm: Bool { warm.load(ordering: .relaxed) }
    /// How long a worker may take to stop after SIGTERM when the pool drains, before SIGKILL.
    static let stopGrace: TimeAmount = .seconds(2)

    private struct Pending {
        var requestId: String
        var event: ByteBuffer
        var deadlineMs: Int64
        var timer: Scheduled<Void>?
        var completion: @Sendable (Answer) -> Void
        var traceId: String
    }

    public init(config: ProcessFunctionConfig, loop: any EventLoop, logger: Logger) {
        self.config = config
        self.loop = loop
        var logger = logger
        logger[metadataKey: "function"] = "\(config.name)"
        self.logger = logger
        self.machine = WorkerPool(settings: .init(workers: config.workers, queue: config.queue))
        self.processes = Array(repeating: nil, count: config.workers)
        self.waiters = Array(repeating: nil, count: config.workers)
        self.lastRequestId = Array(repeating: nil, count: config.workers)
        loop.execute { self.begin() }
    }

    private var now: Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    private func begin() {
        for slot in 0..<config.workers {
            let bootstrap = ServerBootstrap(group: loop)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        // A runtime client sends one request at a time and waits for its answer;
                        // RuntimeAPIHandler answers requests in order, so no pipelining assistance
                        // (it would pause reading after every request).
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false,
                                                                                        withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(RuntimeAPIHandler(slot: slot, delegate: self))
                    }
                }
            listeners.append(bootstrap.bind(host: "127.0.0.1", port: 0))
        }
        perform(machine.start())
    }

    // MARK: the public side

    /// Completes once every worker has asked for an invocation or failed to start.
    public func settled() -> EventLoopFuture<Void> {
        loop.flatSubmit { [self] in
            if machine.isSettled { return loop.makeSucceededVoidFuture() }
            let promise = loop.makePromise(of: Void.self)
            settledPromises.append(promise)
            return promise.futureResult
        }
    }

    /// Workers that have started cleanly.
    public func readyWorkers() -> EventLoopFuture<Int> { loop.submit { self.machine.readyWorkers } }

    /// Process ids of the running workers (for tests and `invoke`).
    public func workerPIDs() -> EventLoopFuture<[Int32]> { loop.submit { self.processes.compactMap { $0?.pid } } }

    /// Starts one invocation; `completion` runs on the pool's event loop, exactly once (unless the
    /// invocation is abandoned first). Returns the invocation's id for `abandon`.
    @discardableResult
    public func invoke(requestId: String, event: ByteBuffer, timeout: TimeAmount,
                       completion: @escaping @Sendable (Answer) -> Void) -> UInt64 {
        let id = Self.ids.wrappingIncrementThenLoad(ordering: .relaxed)
        let deadline = Int64(Date().timeIntervalSince1970 * 1000) + timeout.nanoseconds / 1_000_000
        loop.execute { [self] in
            var rid = requestId
            if byRequestId[rid] != nil { rid += "-\(id)" }
            let timer = loop.scheduleTask(in: timeout) { [self] in perform(machine.timedOut(id)) }
            pending[id] = Pending(requestId: rid, event: event, deadlineMs: deadline, timer: timer,
                                  completion: completion, traceId: Self.traceId(id))
            byRequestId[rid] = id
            perform(machine.invoke(id))
        }
        return id
    }

    /// The client left: a waiting invocation is dropped; a running one runs on (its timeout still
    /// applies, so a hung worker is still replaced), and its answer is not used.
    public func abandon(_ id: UInt64) {
        loop.execute { [self] in
            guard pending[id] != nil else { return }
            if machine.state(ofInvocationRunning: id) == nil {
                let p = pending.removeValue(forKey: id)
                p?.timer?.cancel()
                if let p { byRequestId[p.requestId] = nil }
                perform(machine.abandoned(id))
            } else {
                pending[id]?.completion = { _ in }
            }
        }
    }

    /// Takes no new invocations, lets queued and running ones finish, then stops every worker
    /// (SIGTERM, SIGKILL after a grace) and closes the Runtime API listeners.
    public func drain() -> EventLoopFuture<Void> {
        loop.flatSubmit { [self] in
            let promise = loop.makePromise(of: Void.self)
            drainedPromises.append(promise)
            perform(machine.drain())
            checkDrained()
            return promise.futureResult
        }
    }

    /// Stops now: running invocations are answered 502 as their workers exit.
    public func stop() -> EventLoopFuture<Void> {
        loop.flatSubmit { [self] in
            let promise = loop.makePromise(of: Void.self)
            drainedPromises.append(promise)
            perform(machine.drain())
            for slot in 0..<config.workers where machine.state(of: slot) != .stopped {
                processes[slot]?.terminate()
                scheduleKill(slot, generation: machine.generation(of: slot))
            }
            checkDrained()
            return promise.futureResult
        }
    }

    // MARK: performing the machine's actions

    private func perform(_ actions: [WorkerPool.Action]) {
        for action in actions {
            switch action {
            case .spawn(let slot, let generation):
                spawn(slot, generation: generation)
            case .kill(let slot, let generation):
                guard machine.generation(of: slot) == generation else { continue }
                if machine.draining {
                    processes[slot]?.terminate()
                    scheduleKill(slot, generation: generation)
                } else {
                    processes[slot]?.kill()
                }
            case .deliver(let id, let slot, _):
                guard let p = pending[id], let waiter = waiters[slot] else {
                    logger.error("no waiting worker to deliver to", metadata: ["slot": "\(slot)"])
                    continue
                }
                waiters[slot] = nil
                lastRequestId[slot] = p.requestId
                waiter.deliver(RuntimeInvocation(
                    requestId: p.requestId, deadlineMs: p.deadlineMs,
                    functionArn: "arn:aws:lambda:\(config.region):000000000000:function:\(config.name)",
                    traceId: p.traceId, event: p.event))
                pending[id]?.event = ByteBuffer()
            case .complete(let id, let outcome):
                complete(id, outcome, body: nil, errorType: nil)
            case .scheduleRestart(let slot, let at):
                restartTimers[slot]?.cancel()
                let delay = max(0, at - now)
                logger.warning("restarting a worker that failed to start", metadata: [
                    "slot": "\(slot)", "in_ms": "\(delay / 1_000_000)",
                    "hint": "\(GatewayConfig.installHint(config.executable))",
                ])
                restartTimers[slot] = loop.scheduleTask(in: .nanoseconds(delay)) { [self] in
                    restartTimers[slot] = nil
                    perform(machine.restartDue(slot: slot, now: now))
                }
            }
        }
        warm.store(machine.readyWorkers > 0, ordering: .relaxed)
        if machine.isSettled, !settledPromises.isEmpty {
            let promises = settledPromises
            settledPromises = []
            for p in promises { p.succeed() }
        }
        checkDrained()
    }

    private func checkDrained() {
        guard machine.isDrained, !drainedPromises.isEmpty else { return }
        let promises = drainedPromises
        drainedPromises = []
        for timer in restartTimers.values { timer.cancel() }
        restartTimers = [:]
        let closes = listeners.map { $0.flatMap { $0.close() }.recover { _ in } }
        EventLoopFuture.andAllComplete(closes, on: loop).whenComplete { _ in
            for p in promises { p.succeed() }
        }
    }

    private func scheduleKill(_ slot: Int, generation: Int) {
        loop.scheduleTask(in: Self.stopGrace) { [self] in
            if machine.generation(of: slot) == generation, machine.state(of: slot) != .stopped {
                processes[slot]?.kill()
            }
        }
    }

    private func complete(_ id: UInt64, _ outcome: WorkerPool.Outcome, body: ByteBuffer?, errorType: String?) {
        guard let p = pending.removeValue(forKey: id) else { return }
        p.timer?.cancel()
        byRequestId[p.requestId] = nil
        let answer: Answer
        switch outcome {
        case .response: answer = .response(body ?? ByteBuffer())
        case .handlerError: answer = .handlerError(type: errorType ?? "Unhandled", body: body ?? ByteBuffer())
        case .timedOut: answer = .timedOut
        case .crashed: answer = .crashed
        case .queueFull: answer = .queueFull
        case .unavailable: answer = .unavailable
        }
        p.completion(answer)
    }

    private func spawn(_ slot: Int, generation: Int) {
        restartTimers[slot]?.cancel()
        restartTimers[slot] = nil
        listeners[slot].whenComplete { [self] result in
            guard machine.generation(of: slot) == generation else { return }
            switch result {
            case .failure(let error):
                logger.error("cannot listen for a worker's Runtime API", metadata: ["error": "\(error)"])
                perform(machine.spawnFailed(slot: slot, generation: generation, now: now))
            case .success(let channel):
                let address = "127.0.0.1:\(channel.localAddress?.port ?? 0)"
                let loop = self.loop
                processes[slot] = WorkerProcess(
                    config: config, runtimeAPI: address,
                    onStart: { [self] pid, error in
                        if let error {
                            loop.execute {
                                self.logger.error("cannot start a worker", metadata: [
                                    "command": "\(self.config.command.joined(separator: " "))", "error": "\(error)",
                                    "hint": "\(GatewayConfig.installHint(self.config.executable))",
                                ])
                            }
                        } else if let pid {
                            loop.execute { self.logger.debug("worker started", metadata: ["slot": "\(slot)", "pid": "\(pid)"]) }
                        }
                    },
                    onLine: { [self] stream, line in
                        loop.execute { self.workerWrote(slot: slot, stream: stream, line: line) }
                    },
                    onExit: { [self] status in
                        loop.execute { self.workerExited(slot: slot, generation: generation, status: status) }
                    })
            }
        }
    }

    private func workerWrote(slot: Int, stream: WorkerProcess.Stream, line: String) {
        var metadata: Logger.Metadata = ["stream": "\(stream.rawValue)"]
        if let requestId = lastRequestId[slot] { metadata["request_id"] = "\(requestId)" }
        logger.info("\(line)", metadata: metadata)
    }

    private func workerExited(slot: Int, generation: Int, status: String) {
        guard machine.generation(of: slot) == generation else { return }
        let state = machine.state(of: slot)
        if !machine.draining {
            if state == .starting {
                logger.error("a worker exited before it asked for an invocation", metadata: [
                    "status": "\(status)", "command": "\(config.command.joined(separator: " "))",
                    "hint": "\(GatewayConfig.installHint(config.executable))",
                ])
            } else if state != .stopping {
                logger.warning("a worker exited", metadata: ["status": "\(status)", "slot": "\(slot)"])
            }
        }
        processes[slot] = nil
        waiters[slot] = nil
        lastRequestId[slot] = nil
        perform(machine.exited(slot: slot, generation: generation, now: now))
    }

    /// A per-process random part for trace ids (an invocation's id makes each unique).
    private static let traceSeed: (UInt64, UInt32) = {
        var rng = SystemRandomNumberGenerator()
        return (rng.next(), rng.next())
    }()

    /// An X-Ray style trace header for the invocation: `Root=1-<time>-<96 bits>;Parent=…;Sampled=0`.
    static func traceId(_ id: UInt64) -> String {
        func hex<T: BinaryInteger>(_ v: T, _ width: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let seconds = UInt64(Date().timeIntervalSince1970) & 0xffff_ffff
        return "Root=1-\(hex(seconds, 8))-\(hex(traceSeed.0 ^ id, 16))\(hex(traceSeed.1, 8));Parent=\(hex(id, 16));Sampled=0"
    }

    // MARK: RuntimeAPIDelegate (on `loop`)

    func runtimeNext(slot: Int, waiter: RuntimeAPIHandler) {
        waiters[slot] = waiter
        perform(machine.next(slot: slot, generation: machine.generation(of: slot)))
    }

    func runtimeWaiterGone(slot: Int, waiter: RuntimeAPIHandler) {
        if waiters[slot] === waiter { waiters[slot] = nil }
    }

    func runtimeAnswered(slot: Int, requestId: String, body: ByteBuffer, errorType: String?) -> Bool {
        let generation = machine.generation(of: slot)
        guard let id = byRequestId[requestId], machine.holds(slot: slot, generation: generation, id: id) else { return false }
        if let errorType {
            logger.error("the handler failed", metadata: [
                "request_id": "\(requestId)", "error_type": "\(errorType)",
                "error": "\(body.getString(at: body.readerIndex, length: min(body.readableBytes, 2048)) ?? "")",
            ])
        }
        let actions = machine.answered(slot: slot, generation: generation, id: id, handlerError: errorType != nil)
        for action in actions {
            if case .complete(let done, let outcome) = action, done == id {
                complete(id, outcome, body: body, errorType: errorType)
            }
        }
        perform(actions.filter { if case .complete(id, _) = $0 { return false } else { return true } })
        return true
    }

    func runtimeInitError(slot: Int, errorType: String?, body: ByteBuffer) {
        logger.error("a worker failed to initialise (init/error)", metadata: [
            "error_type": "\(errorType ?? "Unknown")",
            "error": "\(body.getString(at: body.readerIndex, length: min(body.readableBytes, 2048)) ?? "")",
        ])
        perform(machine.initFailed(slot: slot, generation: machine.generation(of: slot)))
    }
}

extension WorkerPool {
    /// The slot running `id`, if a worker runs it now.
    func state(ofInvocationRunning id: UInt64) -> Int? {
        (0..<settings.workers).first { state(of: $0) == .busy(id) }
    }
}
