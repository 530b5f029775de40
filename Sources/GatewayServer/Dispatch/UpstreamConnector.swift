import GatewayPlan
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Opens a connection to an upstream target on the caller's event loop: TCP, TLS for `https://`,
/// and an `UpstreamHandler`, which speaks HTTP/1.1.
enum UpstreamConnector {
    static func connect(to target: Upstream.Target, upstream: Upstream, tls: NIOSSLContext?,
                        on eventLoop: any EventLoop, metrics: LoopMetrics? = nil) -> EventLoopFuture<any Channel> {
        let host = target.host
        let serverName: String? = isIPAddress(host) ? nil : host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(Int64(upstream.connectTimeout.components.seconds) * 1_000_000_000
                + upstream.connectTimeout.components.attoseconds / 1_000_000_000))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if target.tls, let tls {
                        try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    // One handler: it parses responses itself (UpstreamResponseParser) and calls
                    // the gateway's request encoder directly (UpstreamRequestEncoder). The request
                    // head was parsed by NIO from the client and rewritten by HeaderRules with
                    // values the gateway made: no outbound validation handler needed.
                    try sync.addHandler(UpstreamHandler(counts: metrics?.connectionCounts(upstream.name),
                                                        encoder: UpstreamRequestEncoder()))
                }
            }
        return bootstrap.connect(host: host, port: target.port)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
