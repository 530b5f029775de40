import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOPosix
import NIOSSL

/// A client connection that sends exactly the bytes it is given (plain or TLS, with ALPN) and
/// keeps everything it receives: for inputs no well-behaved client would send.
final class RawConnection: Sendable {
    let channel: any Channel
    private let collector: Collector
    let opened: ContinuousClock.Instant

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = NIOLockedValueBox<[UInt8]>([])
        let closedAt = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLockedValue { $0.append(contentsOf: buffer.readableBytesView) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            closedAt.withLockedValue { $0 = .now }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    /// - Parameters:
    ///   - tls: trust roots (a CA file) for a TLS connection; nil for plain TCP.
    ///   - alpn: protocols offered in the TLS handshake.
    static func open(port: Int, caFile: String? = nil, alpn: [String] = []) async throws -> RawConnection {
        let collector = Collector()
        var context: NIOSSLContext?
        if let caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            tls.applicationProtocols = alpn
            context = try NIOSSLContext(configuration: tls)
        }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
        self.opened = .now
    }

    var received: [UInt8] { collector.bytes.withLockedValue { $0 } }
    var text: String { String(decoding: received, as: UTF8.self) }
    var isClosed: Bool { collector.closedAt.withLockedValue { $0 } != nil }

    /// Writes and flushes; throws once the connection is gone.
    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Sends `text` and the end of the client's output in one TCP segment (the socket corked
    /// while it is written, the output's shutdown sending both): the server reads the request and
    /// the end of input in one read, as from a client that sends a request and closes at once.
    func sendWithEnd(_ text: String) async throws {
        try await channel.setOption(ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: TCP_CORK)), value: 1)
        try await channel.writeAndFlush(ByteBuffer(string: text))
        try await channel.close(mode: .output)
    }

    /// Waits until the server closed the connection, at most `limit`; the time it took from `since`
    /// (default: when the connection opened), or nil if it stayed open.
    func waitForClose(limit: Duration = .seconds(10), since: ContinuousClock.Instant? = nil) async -> Duration? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let closed = collector.closedAt.withLockedValue({ $0 }) { return closed - (since ?? opened) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        // Once more: a loaded test process may resume this task only after the deadline.
        return collector.closedAt.withLockedValue({ $0 }).map { $0 - (since ?? opened) }
    }

    /// Waits until `predicate` holds for what was received, at most `limit`.
    func waitFor(limit: Duration = .seconds(10), _ predicate: ([UInt8]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if predicate(received) { return true }
            if isClosed { return predicate(received) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return predicate(received)
    }

    /// From now on the client reads nothing the server sends (TLS needs reads for its handshake,
    /// so this comes after it).
    func stopReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: false)
    }

    func close() async {
        try? await channel.close()
    }
}

/// HTTP/2 frames as bytes (RFC 9113 §6), for a client that writes them by hand.
enum H2 {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    static let data: UInt8 = 0, headers: UInt8 = 1, rstStream: UInt8 = 3, settings: UInt8 = 4, ping: UInt8 = 6,
               goAway: UInt8 = 7, windowUpdate: UInt8 = 8, continuation: UInt8 = 9
    static let endStream: UInt8 = 0x1, endHeaders: UInt8 = 0x4

    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    /// The client preface and an empty SETTINGS frame.
    static var start: [UInt8] { preface + frame(settings) }

    /// A header block, HPACK-encoded (a fresh encoder each time: no dynamic table entries).
    static func block(_ headers: [(String, String)]) -> [UInt8] {
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: false)
        var buffer = ByteBuffer()
        try! encoder.encode(headers: HPACKHeaders(headers), to: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func request(_ method: String, _ path: String, stream: UInt32, extra: [(String, String)] = [],
                        endStream: Bool = true) -> [UInt8] {
        let block = block([(":method", method), (":scheme", "https"), (":authority", "localhost"), (":path", path)] + extra)
        return frame(headers, flags: endHeaders | (endStream ? H2.endStream : 0), stream: stream, payload: block)
    }

    struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]
    }

    /// The frames in what a server sent.
    static func frames(_ bytes: [UInt8]) -> [Frame] {
        var out: [Frame] = []
        var i = 0
        while i + 9 <= bytes.count {
            let length = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            guard i + 9 + length <= bytes.count else { break }
            let stream = (UInt32(bytes[i + 5]) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8 | UInt32(bytes[i + 8])) & 0x7FFF_FFFF
            out.append(Frame(type: bytes[i + 3], flags: bytes[i + 4], stream: stream, payload: Array(bytes[(i + 9)..<(i + 9 + length)])))
            i += 9 + length
        }
        return out
    }

    /// Each stream's response status and body, decoding every header block in order.
    static func responses(_ bytes: [UInt8]) -> [UInt32: (status: Int, body: String)] {
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        var out: [UInt32: (status: Int, body: String)] = [:]
        for frame in frames(bytes) {
            switch frame.type {
            case headers:
                var buffer = ByteBuffer(bytes: frame.payload)
                guard let decoded = try? decoder.decodeHeaders(from: &buffer) else { continue }
                if let status = decoded.first(name: ":status").flatMap(Int.init) {
                    out[frame.stream] = (status, out[frame.stream]?.body ?? "")
                }
            case data:
                let previous = out[frame.stream] ?? (0, "")
                out[frame.stream] = (previous.status, previous.body + String(decoding: frame.payload, as: UTF8.self))
            default:
                break
            }
        }
        return out
    }

    /// The error code of the server's GOAWAY, if it sent one.
    static func goAwayError(_ bytes: [UInt8]) -> UInt32? {
        guard let frame = frames(bytes).first(where: { $0.type == goAway }), frame.payload.count >= 8 else { return nil }
        let p = frame.payload
        return UInt32(p[4]) << 24 | UInt32(p[5]) << 16 | UInt32(p[6]) << 8 | UInt32(p[7])
    }
}
