import Testing
@testable import GatewayWorkers

/// The worker pool's state machine without processes: actions for each event, time passed in.
@Suite struct WorkerPoolTests {
    static let ms: Int64 = 1_000_000

    func pool(workers: Int = 2, queue: Int = 2) -> WorkerPool {
        WorkerPool(settings: .init(workers: workers, queue: queue, restartBackoff: .milliseconds(100), maxRestartBackoff: .seconds(1)))
    }

    @Test func startsEverySlotAndIsSettledOnceEachAsksForWork() {
        var p = pool()
        #expect(p.start() == [.spawn(slot: 0, generation: 1), .spawn(slot: 1, generation: 1)])
        #expect(!p.isSettled)
        #expect(p.next(slot: 0, generation: 1) == [])
        #expect(!p.isSettled)
        #expect(p.next(slot: 1, generation: 1) == [])
        #expect(p.isSettled)
        #expect(p.readyWorkers == 2)
        #expect(p.state(of: 0) == .waiting)
    }

    @Test func deliversToAWaitingWorkerThenQueuesThenRefusesWhenTheQueueIsFull() {
        var p = pool(workers: 1, queue: 2)
        _ = p.start()
        // Before the worker asks, invocations wait (it is starting).
        #expect(p.invoke(1) == [])
        #expect(p.next(slot: 0, generation: 1) == [.deliver(1, slot: 0, generation: 1)])
        #expect(p.invoke(2) == [])
        #expect(p.invoke(3) == [])
        #expect(p.invoke(4) == [.complete(4, .queueFull)])
        #expect(p.queued == 2)
        // The worker answers 1, asks again and gets 2, in arrival order.
        #expect(p.answered(slot: 0, generation: 1, id: 1, handlerError: false) == [.complete(1, .response)])
        #expect(p.state(of: 0) == .returning)
        #expect(p.next(slot: 0, generation: 1) == [.deliver(2, slot: 0, generation: 1)])
        #expect(p.answered(slot: 0, generation: 1, id: 2, handlerError: true) == [.complete(2, .handlerError)])
        #expect(p.next(slot: 0, generation: 1) == [.deliver(3, slot: 0, generation: 1)])
        #expect(p.queued == 0)
    }

    @Test func anAnswerForAnotherInvocationOrAnOldGenerationIsRefused() {
        var p = pool(workers: 1)
        _ = p.start()
        _ = p.next(slot: 0, generation: 1)
        _ = p.invoke(7)
        #expect(!p.holds(slot: 0, generation: 1, id: 8))
        #expect(p.answered(slot: 0, generation: 1, id: 8, handlerError: false) == [])
        #expect(p.answered(slot: 0, generation: 2, id: 7, handlerError: false) == [])
        #expect(p.holds(slot: 0, generation: 1, id: 7))
    }

    @Test func aTimeoutAnswersAndKillsTheWorkerWhichIsReplacedAtOnce() {
        var p = pool(workers: 1)
        _ = p.start()
        _ = p.next(slot: 0, generation: 1)
        #expect(p.invoke(1) == [.deliver(1, slot: 0, generation: 1)])
        #expect(p.invoke(2) == [])
        #expect(p.timedOut(1) == [.complete(1, .timedOut), .kill(slot: 0, generation: 1)])
        // A late answer from the killed worker is not taken.
        #expect(p.answered(slot: 0, generation: 1, id: 1, handlerError: false) == [])
        // It exits; it had started cleanly, so it is replaced without a backoff, and takes 2.
        #expect(p.exited(slot: 0, generation: 1, now: 0) == [.spawn(slot: 0, generation: 2)])
        #expect(p.next(slot: 0, generation: 2) == [.deliver(2, slot: 0, generation: 2)])
    }

    @Test func aQueuedInvocationThatTimesOutLeavesTheQueue() {
        var p = pool(workers: 1, queue: 5)
        _ = p.start()
        _ = p.invoke(1)
        _ = p.invoke(2)
        #expect(p.timedOut(1) == [.complete(1, .timedOut)])
        #expect(p.abandoned(2) == [])
        #expect(p.queued == 0)
        #expect(p.next(slot: 0, generation: 1) == [])
        #expect(p.state(of: 0) == .waiting)
    }

    @Test func aWorkerThatExitsMidInvocationCrashesItAndIsReplaced() {
        var p = pool(workers: 1)
        _ = p.start()
        _ = p.next(slot: 0, generation: 1)
        _ = p.invoke(1)
        #expect(p.exited(slot: 0, generation: 1, now: 0) == [.complete(1, .crashed), .spawn(slot: 0, generation: 2)])
        // Events of the dead generation are ignored.
        #expect(p.next(slot: 0, generation: 1) == [])
    }

    @Test func failedStartsBackOffDoublingAndTheRouteAnswersUnavailableMeanwhile() {
        var p = pool(workers: 1, queue: 5)
        _ = p.start()
        #expect(p.invoke(1) == [])
        // It exits before ever asking for work: backoff 100 ms, and what waited is answered.
        #expect(p.exited(slot: 0, generation: 1, now: 0) == [.scheduleRestart(slot: 0, at: 100 * Self.ms), .complete(1, .unavailable)])
        #expect(p.isSettled)
        #expect(p.invoke(2) == [.complete(2, .unavailable)])
        #expect(p.restartDue(slot: 0, now: 50 * Self.ms) == [])
        #expect(p.restartDue(slot: 0, now: 100 * Self.ms) == [.spawn(slot: 0, generation: 2)])
        #expect(p.initFailed(slot: 0, generation: 2) == [.kill(slot: 0, generation: 2)])
        #expect(p.exited(slot: 0, generation: 2, now: 100 * Self.ms) == [.scheduleRestart(slot: 0, at: 300 * Self.ms)])
        _ = p.restartDue(slot: 0, now: 300 * Self.ms)
        #expect(p.exited(slot: 0, generation: 3, now: 300 * Self.ms) == [.scheduleRestart(slot: 0, at: 700 * Self.ms)])
        _ = p.restartDue(slot: 0, now: 700 * Self.ms)
        #expect(p.exited(slot: 0, generation: 4, now: 700 * Self.ms) == [.scheduleRestart(slot: 0, at: 1500 * Self.ms)])
        _ = p.restartDue(slot: 0, now: 1500 * Self.ms)
        // Capped at the maximum (1 s here, not 1.6 s).
        #expect(p.exited(slot: 0, generation: 5, now: 1500 * Self.ms) == [.scheduleRestart(slot: 0, at: 2500 * Self.ms)])
        _ = p.restartDue(slot: 0, now: 2500 * Self.ms)
        // Once it asks for work, the failure count is forgotten.
        #expect(p.next(slot: 0, generation: 6) == [])
        #expect(p.invoke(3) == [.deliver(3, slot: 0, generation: 6)])
        #expect(p.exited(slot: 0, generation: 6, now: 3000 * Self.ms) == [.complete(3, .crashed), .spawn(slot: 0, generation: 7)])
        #expect(p.exited(slot: 0, generation: 7, now: 3000 * Self.ms) == [.scheduleRestart(slot: 0, at: 3100 * Self.ms)])
    }

    @Test func oneFailingSlotDoesNotFailTheQueueWhileAnotherRuns() {
        var p = pool(workers: 2, queue: 5)
        _ = p.start()
        _ = p.next(slot: 1, generation: 1)
        _ = p.invoke(1)
        #expect(p.invoke(2) == [])
        #expect(p.exited(slot: 0, generation: 1, now: 0) == [.scheduleRestart(slot: 0, at: 100 * Self.ms)])
        #expect(p.queued == 1)
    }

    @Test func askingForTheNextBeforeAnsweringEndsTheInvocationAsACrash() {
        var p = pool(workers: 1)
        _ = p.start()
        _ = p.next(slot: 0, generation: 1)
        _ = p.invoke(1)
        #expect(p.next(slot: 0, generation: 1) == [.complete(1, .crashed), .kill(slot: 0, generation: 1)])
    }

    @Test func drainingFinishesQueuedAndRunningInvocationsThenStopsEveryWorker() {
        var p = pool(workers: 2, queue: 5)
        _ = p.start()
        _ = p.next(slot: 0, generation: 1)
        _ = p.next(slot: 1, generation: 1)
        _ = p.invoke(1)
        _ = p.invoke(2)
        _ = p.invoke(3)
        #expect(p.drain() == [])
        #expect(p.invoke(4) == [.complete(4, .unavailable)])
        _ = p.answered(slot: 0, generation: 1, id: 1, handlerError: false)
        #expect(p.next(slot: 0, generation: 1) == [.deliver(3, slot: 0, generation: 1)])
        _ = p.answered(slot: 1, generation: 1, id: 2, handlerError: false)
        #expect(p.next(slot: 1, generation: 1) == [.kill(slot: 1, generation: 1)])
        #expect(p.exited(slot: 1, generation: 1, now: 0) == [])
        #expect(!p.isDrained)
        _ = p.answered(slot: 0, generation: 1, id: 3, handlerError: false)
        #expect(p.next(slot: 0, generation: 1) == [.kill(slot: 0, generation: 1)])
        #expect(p.exited(slot: 0, generation: 1, now: 0) == [])
        #expect(p.isDrained)
    }

    @Test func drainingAnIdlePoolKillsEveryWorkerAtOnce() {
        var p = pool(workers: 2)
        _ = p.start()
        _ = p.next(slot: 0, generation: 1)
        #expect(p.drain() == [.kill(slot: 0, generation: 1), .kill(slot: 1, generation: 1)])
        _ = p.exited(slot: 0, generation: 1, now: 0)
        _ = p.exited(slot: 1, generation: 1, now: 0)
        #expect(p.isDrained)
    }

    @Test func theQueueKeepsOrderAcrossCompaction() {
        var q = InvocationQueue()
        for i in 0..<200 { q.append(UInt64(i)) }
        var out: [UInt64] = []
        for _ in 0..<150 { out.append(q.popFirst()!) }
        let removed = q.remove(160), again = q.remove(10)
        #expect(removed)
        #expect(!again)
        while let i = q.popFirst() { out.append(i) }
        #expect(out == (0..<200).filter { $0 != 160 }.map(UInt64.init))
        #expect(q.count == 0)
    }
}
