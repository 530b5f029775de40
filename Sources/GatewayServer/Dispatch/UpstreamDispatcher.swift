import GatewayCore
import GatewayPlan
import NIOCore
import NIOHTTP1
import NIOSSL

/// An upstream route's action: one `UpstreamExchange` per request on a pooled keep-alive
/// connection of the request's own event loop. A class: each exchange keeps it, with one
/// reference rather than a copy of its fields.
final class UpstreamDispatcher: Dispatcher {
    let upstream: Upstream
    let timeout: TimeAmount
    /// The client context for `https://` targets; nil for plain ones.
    let tls: NIOSSLContext?
    /// Each target's key in the pool (index-aligned with `upstream.targets`): the target and, for
    /// `https://`, the TLS settings, so connections made with other settings are never reused.
    let poolKeys: [PoolKey]
    /// Health, retries and limits, when the upstream configures any (nil: plain round-robin).
    let upstreamGuard: UpstreamGuard?

    init(upstream: Upstream, timeout: Duration, tls: NIOSSLContext?, tlsSettings: String, guard upstreamGuard: UpstreamGuard? = nil) {
        self.upstream = upstream
        self.upstreamGuard = upstreamGuard
        self.timeout = TimeAmount(timeout)
        self.tls = tls
        self.poolKeys = upstream.targets.map { PoolKey($0.tls ? "\($0.description)#\(tlsSettings)" : $0.description) }
    }

    var needsWholeBody: Bool { false }
    var target: RequestContext.Target { .upstream(upstream.name, upstream.targets[0]) }

    func start(_ request: RequestContext, body: DispatchBody, loop: any EventLoop, local: LoopLocal,
               sink: any DispatchSink) -> any Dispatch {
        let exchange = UpstreamExchange(dispatcher: self, request: request, loop: loop, pool: local.pool,
                                        headBuffers: local.headBuffers, flusher: local.flusher, sink: sink)
        exchange.start(body)
        return exchange
    }
}
