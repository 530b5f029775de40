import GatewayPlan
import NIOCore

/// Idle keep-alive connections to upstream targets, for one event loop. Only that loop touches it,
/// so a request and its upstream connection share a thread and need no locks or hops.
final class UpstreamPool {
    let eventLoop: any EventLoop
    private var idle: [String: [UpstreamHandler]] = [:]
    private var roundRobin: [String: Int] = [:]
    /// Connections idle longer than this are not reused (servers commonly close after 60s+).
    let maxIdleTime: TimeAmount = .seconds(50)

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// The next target of an upstream, round-robin per event loop.
    func nextTarget(_ upstream: Upstream) -> Upstream.Target {
        if upstream.targets.count == 1 { return upstream.targets[0] }
        let n = roundRobin[upstream.name, default: 0]
        roundRobin[upstream.name] = n &+ 1
        return upstream.targets[n % upstream.targets.count]
    }

    /// An idle live connection to `target`, if there is one.
    func checkout(_ target: Upstream.Target) -> UpstreamHandler? {
        let key = target.description
        guard var list = idle[key] else { return nil }
        let now = NIODeadline.now()
        while let handler = list.popLast() {
            if handler.isActive && handler.context != nil && now - handler.idleSince < maxIdleTime {
                idle[key] = list
                return handler
            }
            handler.close()
        }
        idle[key] = list
        return nil
    }

    /// Returns a connection that finished its exchange cleanly.
    func release(_ handler: UpstreamHandler, target: Upstream.Target, maxIdle: Int) {
        let key = target.description
        var list = idle[key, default: []]
        list.removeAll { !$0.isActive }
        guard handler.isActive, list.count < maxIdle else {
            handler.close()
            idle[key] = list
            return
        }
        handler.idleSince = .now()
        handler.delegate = nil
        list.append(handler)
        idle[key] = list
    }

    func closeAll() {
        for (_, list) in idle { for h in list { h.close() } }
        idle = [:]
    }
}
