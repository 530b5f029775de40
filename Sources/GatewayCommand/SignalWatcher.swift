import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP reloads; the first SIGINT or SIGTERM stops in order, a second one stops at once.
/// The handlers run one at a time on the watcher's own queue; set them before `start`.
final class SignalWatcher: @unchecked Sendable {
    var onReload: @Sendable () -> Void = {}
    var onStop: @Sendable () -> Void = {}
    var onForcedStop: @Sendable () -> Void = {}
    private var sources: [any DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "gateway.signals")
    /// Stop signals seen so far (only touched on `queue`).
    private var stops = 0

    func start() {
        let stop: @Sendable () -> Void = { [self] in
            stops += 1
            if stops == 1 { onStop() } else { onForcedStop() }
        }
        for (sig, action) in [(SIGHUP, onReload), (SIGINT, stop), (SIGTERM, stop)] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler(handler: action)
            source.resume()
            sources.append(source)
        }
    }
}
