import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An OTLP/HTTP collector on loopback for tests: keeps the body of every POST to `/v1/traces`
/// (the exporter is told to send JSON) and answers 200.
final class FakeCollector: Sendable {
    let channel: any Channel
    let bodies: NIOLockedValueBox<[String]>
    var port: Int { channel.localAddress!.port! }
    var url: String { "http://127.0.0.1:\(port)" }

    private init(channel: any Channel, bodies: NIOLockedValueBox<[String]>) {
        self.channel = channel
        self.bodies = bodies
    }

    static func start() async throws -> FakeCollector {
        let bodies = NIOLockedValueBox<[String]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CollectorHandler(bodies: bodies))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeCollector(channel: channel, bodies: bodies)
    }

    func stop() async { try? await channel.close() }

    final class CollectorHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let bodies: NIOLockedValueBox<[String]>
        var body = ByteBuffer()
        var uri = ""

        init(bodies: NIOLockedValueBox<[String]>) { self.bodies = bodies }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                uri = head.uri
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                if uri.hasPrefix("/v1/traces") {
                    let text = String(buffer: body)
                    bodies.withLockedValue { $0.append(text) }
                }
                let headers = HTTPHeaders([("content-type", "application/json"), ("content-length", "2")])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{}")))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
