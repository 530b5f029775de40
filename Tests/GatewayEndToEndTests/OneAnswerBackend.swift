import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A backend that answers the first request on each connection (200, `ok`, kept alive) and
/// closes the connection, unanswered, when a second request comes on it: a server whose
/// keep-alive timeout ran out just as the gateway reused its pooled connection.
final class OneAnswerBackend: Sendable {
    let channel: any Channel
    let counts: NIOLockedValueBox<(connections: Int, answered: Int, dropped: Int)>
    var port: Int { channel.localAddress!.port! }

    private init(channel: any Channel, counts: NIOLockedValueBox<(connections: Int, answered: Int, dropped: Int)>) {
        self.channel = channel
        self.counts = counts
    }

    static func start() async throws -> OneAnswerBackend {
        let counts = NIOLockedValueBox((connections: 0, answered: 0, dropped: 0))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                counts.withLockedValue { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(counts: counts))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return OneAnswerBackend(channel: channel, counts: counts)
    }

    func stop() async { try? await channel.close() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let counts: NIOLockedValueBox<(connections: Int, answered: Int, dropped: Int)>
        var received = ""
        var answered = false

        init(counts: NIOLockedValueBox<(connections: Int, answered: Int, dropped: Int)>) { self.counts = counts }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            if !answered, received.contains("\r\n\r\n") {
                answered = true
                received = ""
                counts.withLockedValue { $0.answered += 1 }
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")), promise: nil)
            } else if answered, received.contains("GET ") {
                // A chunked body's last chunk ("0\r\n\r\n") of the first request is no request.
                counts.withLockedValue { $0.dropped += 1 }
                context.close(promise: nil)
            }
        }
    }
}
