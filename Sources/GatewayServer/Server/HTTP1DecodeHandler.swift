import NIOCore

/// Feeds a connection's bytes to an HTTP/1 decoder (the client leg's `HTTP1RequestDecoder`, which
/// hands unusual requests to NIO's `HTTPRequestDecoder`; the upstream leg parses responses in
/// `UpstreamHandler`), in place of NIO's generic `ByteToMessageHandler`, with the same contract for
/// these decoders:
///
/// - bytes the decoder leaves unconsumed (a head cut between two reads: NIO's decoder keeps it
///   in the buffer until it is whole) come first in the next call, with the new bytes after them;
/// - a read that arrives while the decoder runs (a handler after it read again synchronously)
///   waits until it returns: the decoder is never entered twice;
/// - at the end of input (the channel goes inactive, or its input closes) the decoder gets
///   `decodeLast` once, with what is left (a response framed by the connection's close ends there);
/// - after the decoder throws, its error goes down the pipeline once and later bytes are not
///   decoded (each is reported as `dataReceivedInErrorState`).
///
/// `ByteToMessageHandler` is generic over its decoder and is called unspecialised: its decode
/// loop looked up generic metadata and checked exclusivity on every read, about 2,700 instructions
/// per read on each leg (bench/callgrind). This handler calls the decoder through its protocol.
final class HTTP1DecodeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// A class (NIO's decoders are): each call goes to a local copy of the reference, so that a
    /// re-entrant event never overlaps an access to this property.
    private let decoder: any ByteToMessageDecoder & AnyObject
    private var unconsumed: ByteBuffer?
    private var queued: CircularBuffer<ByteBuffer> = CircularBuffer(initialCapacity: 0)
    private var decoding = false
    /// The input ended while the decoder ran: `decodeLast` follows when it returns.
    private var endPending = false
    private var ended = false
    private var failure: (any Error)?

    init(_ decoder: any ByteToMessageDecoder & AnyObject) {
        self.decoder = decoder
    }

    func handlerAdded(context: ChannelHandlerContext) {
        var decoder = self.decoder
        decoder.decoderAdded(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ended = true
        var decoder = self.decoder
        decoder.decoderRemoved(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let failure {
            context.fireErrorCaught(ByteToMessageDecoderError.dataReceivedInErrorState(failure, buffer))
            return
        }
        guard !ended else { return }
        if decoding {
            queued.append(buffer)
            return
        }
        decode(buffer, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inputEnded(context: context)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputEnded(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func decode(_ first: ByteBuffer, context: ChannelHandlerContext) {
        decoding = true
        defer { decoding = false }
        var decoder = self.decoder
        var next: ByteBuffer? = first
        while var buffer = next {
            if var kept = unconsumed {
                unconsumed = nil
                kept.writeBuffer(&buffer)
                buffer = kept
            }
            do {
                while try decoder.decode(context: context, buffer: &buffer) == .continue, buffer.readableBytes > 0,
                      failure == nil, !ended {}
            } catch {
                fail(error, context: context)
                return
            }
            if buffer.readableBytes > 0 {
                if decoder.shouldReclaimBytes(buffer: buffer) { buffer.discardReadBytes() }
                unconsumed = buffer
            }
            next = ended || queued.isEmpty ? nil : queued.removeFirst()
        }
        if !queued.isEmpty { queued.removeAll() }
        if endPending {
            endPending = false
            decoding = false
            inputEnded(context: context)
        }
    }

    private func inputEnded(context: ChannelHandlerContext) {
        guard failure == nil, !ended else { return }
        if decoding {
            endPending = true
            return
        }
        ended = true
        decoding = true
        defer { decoding = false }
        var decoder = self.decoder
        var buffer = unconsumed ?? context.channel.allocator.buffer(capacity: 0)
        unconsumed = nil
        do {
            while try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: true) == .continue,
                  buffer.readableBytes > 0 {}
        } catch {
            fail(error, context: context)
        }
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        failure = error
        unconsumed = nil
        if !queued.isEmpty { queued.removeAll() }
        context.fireErrorCaught(error)
    }
}
