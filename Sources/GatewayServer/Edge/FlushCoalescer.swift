import NIOCore

/// Between TLS (after `HTTP2ConnectionGuard`) and HTTP/2 on every HTTP/2 connection: turns the
/// flushes asked for while the event loop handles one batch of I/O events into one flush at the
/// end of that batch, and the small writes before a flush into one buffer.
///
/// Each stream's response flushes the connection when it ends, and the responses of one
/// connection's streams typically end in the same loop tick (they arrive on different upstream
/// connections that became readable together). Flushed one by one, every response became its own
/// TLS record and its own `write` to the socket; coalesced, the tick's frames leave in one record
/// run and one write. Nothing waits longer than the tick it was written in: the flush is a task
/// on the loop, which runs right after the I/O events of the tick.
///
/// The TLS handler seals every buffer written to it as a record of its own, and NIOHTTP2 writes
/// a response as three (the HEADERS frame, a DATA frame's header, its payload): three records
/// per response, each with its own seal and 22 bytes of framing (`SSL_write` was 3,600
/// instructions a call in `bench/callgrind http2`). Writes up to `smallWrite` bytes are copied
/// into one buffer instead, which goes to TLS as one write (one record for up to
/// `recordPayload` bytes) when the flush does; a larger write goes on as it is, after what was
/// gathered before it, so the order of the bytes never changes. The writers' promises complete
/// with the gathered write's.
final class FlushCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Writes this small are gathered; larger ones are already worth a record of their own.
    static let smallWrite = 4096
    /// The most a gathered buffer holds: a TLS record's largest payload (16 KiB).
    static let recordPayload = 16_384

    private var pending = false
    private var context: ChannelHandlerContext?
    /// The small writes since the last flush, in order.
    private var gathered: ByteBuffer?
    /// Their writers' promises.
    private var promises: [EventLoopPromise<Void>] = []

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        if pending || gathered != nil {
            pending = false
            writeGathered(context: context)
            context.flush()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data), buffer.readableBytes <= Self.smallWrite else {
            writeGathered(context: context)
            context.write(data, promise: promise)
            return
        }
        if let gathered, gathered.readableBytes + buffer.readableBytes > Self.recordPayload {
            writeGathered(context: context)
        }
        if gathered == nil {
            // A new buffer each flush: an idle connection keeps none.
            gathered = context.channel.allocator.buffer(capacity: Self.smallWrite)
        }
        gathered!.writeBuffer(&buffer)
        if let promise { promises.append(promise) }
    }

    /// Writes what was gathered, as one buffer.
    private func writeGathered(context: ChannelHandlerContext) {
        guard let buffer = gathered else { return }
        gathered = nil
        let promise: EventLoopPromise<Void>?
        switch promises.count {
        case 0:
            promise = nil
        case 1:
            promise = promises[0]
        default:
            let all = context.eventLoop.makePromise(of: Void.self)
            for each in promises { all.futureResult.cascade(to: each) }
            promise = all
        }
        promises.removeAll(keepingCapacity: true)
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        guard !pending else { return }
        pending = true
        context.eventLoop.assumeIsolated().execute { [self] in
            guard pending, let context = self.context else { return }
            pending = false
            writeGathered(context: context)
            context.flush()
        }
    }

    /// A close goes out after what was written before it.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if pending || gathered != nil {
            pending = false
            writeGathered(context: context)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}
