import GatewayPlan
import NIOCore

/// Idle keep-alive connections to upstream targets, for one event loop. Only that loop touches it,
/// so a request and its upstream connection share a thread and need no locks or hops.
final class UpstreamPool {
    let eventLoop: any EventLoop
    /// A key's idle connections. A class: the list changes in place through a plain lookup. (A
    /// list kept as the dictionary's value changed through its `modify` accessor, a coroutine
    /// whose frame was allocated with malloc on every checkout and release.)
    private final class IdleList {
        var handlers: [UpstreamHandler] = []
    }

    private var idle: [PoolKey: IdleList] = [:]
    /// The key used last and its list: most requests of a loop go to the same target, and
    /// comparing the key (its hash, then its text, usually the same storage) costs a tenth of a
    /// dictionary lookup (two per request: checkout and release).
    private var lastKey: PoolKey?
    private var lastList: IdleList?
    private var roundRobin: [String: Int] = [:]
    /// Connections idle longer than this are not reused (servers commonly close after 60s+).
    let maxIdleTime: TimeAmount = .seconds(50)

    /// The loop's metrics, which count the connections it opens (nil in unit tests).
    let metrics: LoopMetrics?

    init(eventLoop: any EventLoop, metrics: LoopMetrics? = nil) {
        self.eventLoop = eventLoop
        self.metrics = metrics
    }

    /// The index of an upstream's next target, round-robin per event loop.
    func nextTarget(_ upstream: Upstream) -> Int {
        if upstream.targets.count == 1 { return 0 }
        let n = roundRobin[upstream.name, default: 0]
        roundRobin[upstream.name] = n &+ 1
        return n % upstream.targets.count
    }

    /// An idle live connection kept under `key` (a target and its TLS settings), if there is one.
    func checkout(_ key: PoolKey) -> UpstreamHandler? {
        guard let list = list(key, creating: false) else { return nil }
        let now = NIODeadline.now()
        while let handler = list.handlers.popLast() {
            handler.pooled = false
            if handler.isActive && handler.context != nil && now - handler.idleSince < maxIdleTime {
                return handler
            }
            handler.close()
        }
        return nil
    }

    /// Returns a connection that finished its exchange cleanly. Dead connections are dropped when
    /// the pool is full (and skipped by checkout), not on every release: with hundreds of HTTP/2
    /// streams in flight the list is long.
    func release(_ handler: UpstreamHandler, key: PoolKey, maxIdle: Int) {
        let list = list(key, creating: true)!
        if list.handlers.count >= maxIdle {
            list.handlers.removeAll { handler in
                if !handler.isActive { handler.pooled = false }
                return !handler.isActive
            }
        }
        guard handler.isActive, list.handlers.count < maxIdle else {
            handler.close()
            return
        }
        handler.idleSince = .now()
        handler.delegate = nil
        handler.pooled = true
        list.handlers.append(handler)
    }

    /// The list kept under `key` (made when `creating` and there is none).
    private func list(_ key: PoolKey, creating: Bool) -> IdleList? {
        if let lastList, lastKey == key { return lastList }
        var list = idle[key]
        if list == nil && creating {
            list = IdleList()
            idle[key] = list
        }
        if let list {
            lastKey = key
            lastList = list
        }
        return list
    }

    /// Closes idle connections kept under keys the installed routes no longer use (another target
    /// list, or TLS settings that changed).
    func closeIdle(keeping keys: Set<PoolKey>) {
        lastKey = nil
        lastList = nil
        for key in idle.keys where !keys.contains(key) {
            for handler in idle[key]?.handlers ?? [] {
                handler.pooled = false
                handler.close()
            }
            idle[key] = nil
        }
    }

    func closeAll() {
        lastKey = nil
        lastList = nil
        for (_, list) in idle {
            for h in list.handlers {
                h.pooled = false
                h.close()
            }
        }
        idle = [:]
    }
}
