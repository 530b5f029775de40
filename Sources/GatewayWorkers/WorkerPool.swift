/// The worker processes of one function, as a pure state machine: the shell (`ProcessFunctionPool`)
/// feeds it what happened — a worker asked for the next invocation, answered, failed, exited; an
/// invocation arrived, timed out, was abandoned — and performs the actions it returns (start or
/// kill a process, hand an invocation to a worker, answer one). No processes, sockets or clocks
/// here: time is passed in (nanoseconds on any monotonic clock), so every path is tested without
/// processes.
///
/// A worker takes one invocation at a time, as in Lambda: it is *waiting* while it holds a
/// `GET …/invocation/next` open, *busy* from the moment it is handed an invocation until it posts
/// the response or the error, then *returning* until it asks for the next one. Each start of a
/// slot's process is a new generation; events from an older one are ignored.
public struct WorkerPool: Sendable {
    public struct Settings: Sendable, Equatable {
        public var workers: Int
        /// Invocations that may wait for a worker.
        public var queue: Int
        /// The first restart delay after a failed start; doubles for each failure in a row.
        public var restartBackoff: Int64
        public var maxRestartBackoff: Int64

        public init(workers: Int, queue: Int, restartBackoff: Duration = .milliseconds(250),
                    maxRestartBackoff: Duration = .seconds(30)) {
            self.workers = workers
            self.queue = queue
            self.restartBackoff = restartBackoff.nanoseconds
            self.maxRestartBackoff = maxRestartBackoff.nanoseconds
        }
    }

    public enum SlotState: Sendable, Equatable {
        /// The process was started and has not asked for an invocation yet.
        case starting
        /// It holds a `next` request open: free.
        case waiting
        case busy(UInt64)
        /// It answered and has not asked for the next one yet.
        case returning
        /// It failed to start (or posted `init/error`); it starts again at `until`.
        case backoff(until: Int64)
        /// It was told to stop (killed); its exit is awaited.
        case stopping
        /// No process (the pool is draining or stopped).
        case stopped
    }

    /// How an invocation ended, from the pool's side.
    public enum Outcome: Sendable, Equatable {
        /// The worker posted a response (the shell holds its bytes).
        case response
        /// The worker posted an error (the handler raised).
        case handlerError
        /// No answer within the invocation's time; its worker is replaced.
        case timedOut
        /// The worker exited while it held the invocation.
        case crashed
        /// Every worker busy and the queue full.
        case queueFull
        /// No worker can take it: none started successfully, or the pool is draining.
        case unavailable
    }

    public enum Action: Sendable, Equatable {
        /// Start slot's process (a new generation).
        case spawn(slot: Int, generation: Int)
        /// Kill slot's process of this generation (SIGKILL; it is replaced when it has exited,
        /// unless the pool drains).
        case kill(slot: Int, generation: Int)
        /// Hand the invocation to the worker's open `next` request.
        case deliver(UInt64, slot: Int, generation: Int)
        /// The invocation ended: answer its request.
        case complete(UInt64, Outcome)
        /// Call `restartDue(slot:)` at this time.
        case scheduleRestart(slot: Int, at: Int64)
    }

    struct Slot: Sendable {
        var state: SlotState = .stopped
        var generation = 0
        /// Whether this generation asked for an invocation (it started cleanly).
        var ready = false
        /// Failed starts in a row.
        var failures = 0
    }

    public let settings: Settings
    private(set) var slots: [Slot]
    private var queue = InvocationQueue()
    public private(set) var draining = false

    public init(settings: Settings) {
        self.settings = settings
        self.slots = Array(repeating: Slot(), count: settings.workers)
    }

    public func state(of slot: Int) -> SlotState { slots[slot].state }
    public func generation(of slot: Int) -> Int { slots[slot].generation }
    public var queued: Int { queue.count }

    /// Every slot asked for an invocation at least once, or failed to start: the pool is as warm
    /// as it gets.
    public var isSettled: Bool {
        slots.allSatisfy { slot in
            switch slot.state {
            case .starting: return false
            case .backoff: return true
            default: return slot.ready || slot.state == .stopped
            }
        }
    }

    /// Workers that took an invocation or can take one now.
    public var readyWorkers: Int { slots.filter { $0.ready && $0.state != .stopped }.count }

    /// Every process has exited after `drain()`.
    public var isDrained: Bool { draining && slots.allSatisfy { $0.state == .stopped } }

    /// Starts every slot.
    public mutating func start() -> [Action] {
        var actions: [Action] = []
        for index in slots.indices { actions.append(spawn(index)) }
        return actions
    }

    private mutating func spawn(_ index: Int) -> Action {
        slots[index].generation += 1
        slots[index].ready = false
        slots[index].state = .starting
        return .spawn(slot: index, generation: slots[index].generation)
    }

    private func current(_ slot: Int, _ generation: Int) -> Bool {
        slots.indices.contains(slot) && slots[slot].generation == generation
    }

    // MARK: invocations

    public mutating func invoke(_ id: UInt64) -> [Action] {
        if draining { return [.complete(id, .unavailable)] }
        if let index = slots.firstIndex(where: { $0.state == .waiting }) {
            slots[index].state = .busy(id)
            return [.deliver(id, slot: index, generation: slots[index].generation)]
        }
        if !canServeSoon { return [.complete(id, .unavailable)] }
        guard queue.count < settings.queue else { return [.complete(id, .queueFull)] }
        queue.append(id)
        return []
    }

    /// Some slot is running or starting (not every one failing to start).
    private var canServeSoon: Bool {
        slots.contains { slot in
            switch slot.state {
            case .starting, .waiting, .busy, .returning: return true
            case .stopping: return slot.ready
            case .backoff, .stopped: return false
            }
        }
    }

    /// The invocation's time is up: answered 504 whether it waits or runs; a worker running it is killed.
    public mutating func timedOut(_ id: UInt64) -> [Action] {
        if queue.remove(id) { return [.complete(id, .timedOut)] }
        guard let index = slots.firstIndex(where: { $0.state == .busy(id) }) else { return [] }
        slots[index].state = .stopping
        return [.complete(id, .timedOut), .kill(slot: index, generation: slots[index].generation)]
    }

    /// The client left: a waiting invocation is dropped; a running one runs to its end (a
    /// worker cannot be interrupted mid-invocation without losing it), its answer unused.
    public mutating func abandoned(_ id: UInt64) -> [Action] {
        _ = queue.remove(id)
        return []
    }

    // MARK: workers (Runtime API)

    /// The worker opened `GET …/invocation/next`.
    public mutating func next(slot: Int, generation: Int) -> [Action] {
        guard current(slot, generation) else { return [] }
        switch slots[slot].state {
        case .starting, .returning, .waiting:
            break
        case .busy(let id):
            // Asking for the next before answering this one: Lambda treats it as the end of the
            // invocation with no answer; the runtime is broken. Kill and replace it.
            slots[slot].state = .stopping
            return [.complete(id, .crashed), .kill(slot: slot, generation: generation)]
        case .backoff, .stopping, .stopped:
            return []
        }
        slots[slot].ready = true
        slots[slot].failures = 0
        if let id = queue.popFirst() {
            slots[slot].state = .busy(id)
            return [.deliver(id, slot: slot, generation: generation)]
        }
        if draining {
            slots[slot].state = .stopping
            return [.kill(slot: slot, generation: generation)]
        }
        slots[slot].state = .waiting
        return []
    }

    /// Whether `id` is what this worker holds now (the Runtime API answers 400 otherwise).
    public func holds(slot: Int, generation: Int, id: UInt64) -> Bool {
        current(slot, generation) && slots[slot].state == .busy(id)
    }

    /// The worker posted `…/invocation/{id}/response` (`handlerError`: `…/error`).
    public mutating func answered(slot: Int, generation: Int, id: UInt64, handlerError: Bool) -> [Action] {
        guard holds(slot: slot, generation: generation, id: id) else { return [] }
        slots[slot].state = .returning
        return [.complete(id, handlerError ? .handlerError : .response)]
    }

    /// The worker posted `…/runtime/init/error`: it is killed and started again after a backoff.
    public mutating func initFailed(slot: Int, generation: Int) -> [Action] {
        guard current(slot, generation) else { return [] }
        slots[slot].ready = false
        switch slots[slot].state {
        case .busy(let id):
            slots[slot].state = .stopping
            return [.complete(id, .crashed), .kill(slot: slot, generation: generation)]
        case .stopping, .stopped, .backoff:
            return []
        default:
            slots[slot].state = .stopping
            return [.kill(slot: slot, generation: generation)]
        }
    }

    /// The slot's process could not be started at all (the executable vanished, say).
    public mutating func spawnFailed(slot: Int, generation: Int, now: Int64) -> [Action] {
        exited(slot: slot, generation: generation, now: now)
    }

    /// The slot's process exited (or was killed). A worker that had started cleanly is replaced
    /// at once; one that never asked for an invocation is started again after a doubling backoff.
    public mutating func exited(slot: Int, generation: Int, now: Int64) -> [Action] {
        guard current(slot, generation) else { return [] }
        var actions: [Action] = []
        if case .busy(let id) = slots[slot].state { actions.append(.complete(id, .crashed)) }
        if draining {
            slots[slot].state = .stopped
            actions += failQueueIfNobodyCanServe()
            return actions
        }
        if slots[slot].ready {
            actions.append(spawn(slot))
            return actions
        }
        slots[slot].failures += 1
        let shift = min(slots[slot].failures - 1, 20)
        let delay = min(settings.restartBackoff << shift, settings.maxRestartBackoff)
        slots[slot].state = .backoff(until: now + delay)
        actions.append(.scheduleRestart(slot: slot, at: now + delay))
        actions += failQueueIfNobodyCanServe()
        return actions
    }

    /// A backoff ended.
    public mutating func restartDue(slot: Int, now: Int64) -> [Action] {
        guard slots.indices.contains(slot), case .backoff(let until) = slots[slot].state, now >= until, !draining else { return [] }
        return [spawn(slot)]
    }

    /// Queued invocations never hang: when no worker is running or starting, they are answered.
    private mutating func failQueueIfNobodyCanServe() -> [Action] {
        guard !canServeSoon else { return [] }
        var actions: [Action] = []
        while let id = queue.popFirst() { actions.append(.complete(id, .unavailable)) }
        return actions
    }

    // MARK: draining

    /// Takes no new invocations; queued and running ones finish; then every process is killed
    /// (`isDrained` once they have exited).
    public mutating func drain() -> [Action] {
        guard !draining else { return [] }
        draining = true
        var actions: [Action] = []
        for index in slots.indices {
            switch slots[index].state {
            case .waiting:
                slots[index].state = .stopping
                actions.append(.kill(slot: index, generation: slots[index].generation))
            case .starting where queue.count == 0:
                slots[index].state = .stopping
                actions.append(.kill(slot: index, generation: slots[index].generation))
            case .backoff:
                slots[index].state = .stopped
            default:
                break
            }
        }
        actions += failQueueIfNobodyCanServe()
        return actions
    }
}

/// Invocation ids in arrival order, with removal from anywhere (timeouts, abandoned requests).
struct InvocationQueue: Sendable {
    private var items: [UInt64] = []
    private var head = 0

    var count: Int { items.count - head }

    mutating func append(_ id: UInt64) { items.append(id) }

    mutating func popFirst() -> UInt64? {
        guard head < items.count else { return nil }
        let id = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return id
    }

    mutating func remove(_ id: UInt64) -> Bool {
        guard let index = items[head...].firstIndex(of: id) else { return false }
        items.remove(at: index)
        return true
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
