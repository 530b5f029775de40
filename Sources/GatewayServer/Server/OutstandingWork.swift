import Atomics

/// Function invocations and callouts whose results have not come back to their event loop yet:
/// shutdown waits for them before it stops the loops, so nothing is ever scheduled on a loop
/// that has stopped.
final class OutstandingWork: Sendable {
    private let count = ManagedAtomic(0)

    /// Work left the event loop; `ended` must follow, on the loop.
    func started() { count.wrappingIncrement(ordering: .relaxed) }
    func ended() { count.wrappingDecrement(ordering: .relaxed) }
    var current: Int { count.load(ordering: .relaxed) }
}
