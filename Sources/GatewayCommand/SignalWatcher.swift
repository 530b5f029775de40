import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP reloads; SIGINT and SIGTERM stop.
final class SignalWatcher: @unchecked Sendable {
    var onReload: @Sendable () -> Void = {}
    var onStop: @Sendable () -> Void = {}
    private var sources: [any DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "gateway.signals")

    func start() {
        for (sig, action) in [(SIGHUP, onReload), (SIGINT, onStop), (SIGTERM, onStop)] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler(handler: action)
            source.resume()
            sources.append(source)
        }
    }
}
