import NIOCore
import NIOEmbedded
import NIOHTTP2
@testable import GatewayServer
import Testing

/// HTTP/2 frames as bytes, for the scanner and the guard.
enum Frames {
    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    static let windowUpdate = frame(0x8, payload: [0, 0, 0, 1])

    static func rstStream(_ stream: UInt32, error: UInt32) -> [UInt8] {
        frame(0x3, stream: stream, payload: [UInt8(error >> 24), UInt8(error >> 16 & 0xFF), UInt8(error >> 8 & 0xFF), UInt8(error & 0xFF)])
    }

    static func goAway(error: UInt32) -> [UInt8] {
        frame(0x7, payload: [0, 0, 0, 1, UInt8(error >> 24), UInt8(error >> 16 & 0xFF), UInt8(error >> 8 & 0xFF), UInt8(error & 0xFF)])
    }
}

@Suite struct HTTP2FrameScannerTests {
    func scan(_ chunks: [[UInt8]], preface: Bool) -> [HTTP2FrameScanner.Frame] {
        var scanner = HTTP2FrameScanner(skippingClientPreface: preface)
        var frames: [HTTP2FrameScanner.Frame] = []
        for chunk in chunks {
            chunk.withUnsafeBytes { scanner.scan($0) { frames.append($0) } }
        }
        return frames
    }

    @Test func findsFramesAcrossAnySplit() {
        let bytes = Frames.preface + Frames.frame(0x4) + Frames.frame(0x1, flags: 0x1, stream: 1, payload: [1, 2, 3])
            + Frames.frame(0x0, stream: 1, payload: Array(repeating: 0, count: 300)) + Frames.goAway(error: 0xB)
        let whole = scan([bytes], preface: true)
        #expect(whole.map(\.type) == [0x4, 0x1, 0x0, 0x7])
        #expect(whole[1].streamID == 1 && whole[1].length == 3 && whole[1].flags == 0x1)
        #expect(whole[3].errorCode == 0xB)
        // One byte at a time finds the same frames.
        #expect(scan(bytes.map { [$0] }, preface: true) == whole)
        // A GOAWAY split inside its error code.
        let goAway = Frames.goAway(error: 2)
        #expect(scan([Array(goAway[..<14]), Array(goAway[14...])], preface: false).first?.errorCode == 2)
        // A RST_STREAM's error code, whole or split inside it, and the frame after it.
        let resets = Frames.rstStream(3, error: 1) + Frames.frame(0x4)
        let found = scan([resets], preface: false)
        #expect(found.map(\.type) == [0x3, 0x4])
        #expect(found[0].errorCode == 1 && found[0].streamID == 3 && found[1].errorCode == nil)
        #expect(scan(resets.map { [$0] }, preface: false) == found)
    }
}

@Suite struct HTTP2AbuseMonitorTests {
    typealias Frame = HTTP2FrameScanner.Frame
    let second: Int64 = 1_000_000_000

    @Test func windowUpdatesAreBoundedByWhatWasSent() {
        var monitor = HTTP2AbuseMonitor(limits: .init(windowUpdatesPerSecond: 10, windowUpdatesPerDataFrame: 2))
        let update = Frame(length: 4, type: Frame.windowUpdate, flags: 0, streamID: 0)
        let data = Frame(length: 100, type: Frame.data, flags: 0, streamID: 1)
        for _ in 0..<10 { #expect(monitor.received(update, now: 0) == .fine) }
        // Data the gateway sent earns acknowledgements.
        for _ in 0..<5 { #expect(monitor.sent(data, now: 1) == .fine) }
        for _ in 0..<10 { #expect(monitor.received(update, now: 2) == .fine) }
        guard case .abusive = monitor.received(update, now: 3) else {
            Issue.record("the 21st update in the second was let through")
            return
        }
        // A new second starts a new count.
        var fresh = HTTP2AbuseMonitor(limits: .init(windowUpdatesPerSecond: 10, windowUpdatesPerDataFrame: 2))
        for _ in 0..<10 { _ = fresh.received(update, now: 0) }
        #expect(fresh.received(update, now: second) == .fine)
    }

    @Test func aGoAwayWithAnErrorEndsTheConnectionAndAGracefulOneDoesNot() {
        var monitor = HTTP2AbuseMonitor(limits: .init())
        #expect(monitor.sent(Frame(length: 8, type: Frame.goAway, flags: 0, streamID: 0, errorCode: 0), now: 0) == .fine)
        #expect(monitor.sent(Frame(length: 8, type: Frame.goAway, flags: 0, streamID: 0, errorCode: 0xB), now: 0) == .connectionError(0xB))
    }

    @Test func streamsResetAsMalformedAreCountedUpToTheLimit() {
        var monitor = HTTP2AbuseMonitor(limits: .init(malformedStreams: 3))
        let malformed = Frame(length: 4, type: Frame.rstStream, flags: 0, streamID: 1, errorCode: 1)
        let cancelled = Frame(length: 4, type: Frame.rstStream, flags: 0, streamID: 1, errorCode: 8)
        for _ in 0..<3 { #expect(monitor.sent(malformed, now: 0) == .fine) }
        // Other resets (a cancelled stream, a refused one) are not the client's fault.
        for _ in 0..<10 { #expect(monitor.sent(cancelled, now: 0) == .fine) }
        guard case .abusive = monitor.sent(malformed, now: 0) else {
            Issue.record("the fourth malformed stream was let through")
            return
        }
    }

    @Test func anOpenHeaderBlockExpires() {
        var monitor = HTTP2AbuseMonitor(limits: .init(headerTimeout: 10 * second))
        _ = monitor.received(Frame(length: 10, type: Frame.headers, flags: 0, streamID: 1), now: 0)
        _ = monitor.received(Frame(length: 10, type: Frame.continuation, flags: 0, streamID: 1), now: 5 * second)
        #expect(!monitor.headerBlockExpired(now: 10 * second - 1))
        #expect(monitor.headerBlockExpired(now: 10 * second))
        _ = monitor.received(Frame(length: 10, type: Frame.continuation, flags: Frame.endHeaders, streamID: 1), now: 11 * second)
        #expect(!monitor.headerBlockExpired(now: 100 * second))
        #expect(monitor.lastClientStream == 1)
    }
}

@Suite struct HTTP2ConnectionGuardTests {
    func channel(_ limits: HTTP2AbuseMonitor.Limits = .init()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: HTTP2ConnectionGuard(limits: limits))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func aWindowUpdateFloodGetsGoAwayAndTheConnectionCloses() throws {
        let channel = try channel(.init(windowUpdatesPerSecond: 50))
        var flood = Frames.preface
        for _ in 0..<100 { flood += Frames.windowUpdate }
        try channel.writeInbound(ByteBuffer(bytes: flood))
        let out = try #require(try channel.readOutbound(as: IOData.self))
        guard case .byteBuffer(let goAway) = out else { Issue.record("not bytes"); return }
        #expect(Array(goAway.readableBytesView) == [0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xB])
        #expect(!channel.isActive)
        // Nothing of the flood reached the HTTP/2 decoder.
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
    }

    @Test func theConnectionClosesRightAfterNIOHTTP2sGoAwayIsWritten() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(bytes: Frames.preface + Frames.frame(0x4)))
        #expect(try channel.readInbound(as: ByteBuffer.self) != nil, "ordinary frames pass")
        try channel.writeOutbound(IOData.byteBuffer(ByteBuffer(bytes: Frames.frame(0x4, flags: 1))))
        #expect(channel.isActive)
        try channel.writeOutbound(IOData.byteBuffer(ByteBuffer(bytes: Frames.goAway(error: 0))))
        #expect(channel.isActive, "a graceful GOAWAY lets streams finish")
        try channel.writeOutbound(IOData.byteBuffer(ByteBuffer(bytes: Frames.goAway(error: 0xB))))
        #expect(!channel.isActive)
    }

    @Test func tooManyMalformedStreamsGetGoAwayAfterTheLastReset() throws {
        let channel = try channel(.init(malformedStreams: 2))
        try channel.writeInbound(ByteBuffer(bytes: Frames.preface + Frames.frame(0x4)))
        for stream: UInt32 in [1, 3] {
            try channel.writeOutbound(IOData.byteBuffer(ByteBuffer(bytes: Frames.rstStream(stream, error: 1))))
        }
        #expect(channel.isActive)
        try channel.writeOutbound(IOData.byteBuffer(ByteBuffer(bytes: Frames.rstStream(5, error: 1))))
        var sent: [UInt8] = []
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = part { sent += buffer.readableBytesView }
        }
        // The three resets, then GOAWAY(ENHANCE_YOUR_CALM).
        #expect(sent == Frames.rstStream(1, error: 1) + Frames.rstStream(3, error: 1) + Frames.rstStream(5, error: 1)
            + [0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xB])
        #expect(!channel.isActive)
    }

    @Test func aStalledHeaderBlockEndsTheConnection() throws {
        let channel = try channel(.init(headerTimeout: 1_000_000_000))
        try channel.writeInbound(ByteBuffer(bytes: Frames.preface + Frames.frame(0x1, stream: 1, payload: [0x82])))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        #expect(!channel.isActive)
    }

    /// TLS hands on one plaintext buffer and reuses it for the next read; whatever keeps a
    /// reference to it makes TLS copy it (32 KiB) and keep the copy. NIOHTTP2's frame parser
    /// keeps the first buffer it is given, so the guard hands it a copy of the first read.
    @Test func theHTTP2DecoderKeepsNoReferenceToTheReadBuffer() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP2ConnectionGuard(limits: .init()))
        try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var plaintext = ByteBufferAllocator().buffer(capacity: 32 * 1024)
        func storage(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
            buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) }
        }
        let reads: [[UInt8]] = [Frames.preface + Frames.frame(0x4), Frames.frame(0x6, payload: Array(repeating: 1, count: 8)),
                                Frames.frame(0x8, payload: [0, 0, 0, 1])]
        for bytes in reads {
            plaintext.clear()
            plaintext.writeBytes(bytes)
            let before = storage(plaintext)
            try channel.writeInbound(plaintext)
            // Reused as TLS reuses it: written in place unless another reference holds it.
            plaintext.clear()
            plaintext.writeBytes([0])
            #expect(storage(plaintext) == before)
        }
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func aQuietConnectionClosesAfterTheIdleTimeout() throws {
        let channel = try channel(.init(idleTimeout: 5_000_000_000))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        try channel.writeInbound(ByteBuffer(bytes: Frames.preface))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(channel.isActive, "traffic moved the deadline")
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(!channel.isActive)
    }
}
