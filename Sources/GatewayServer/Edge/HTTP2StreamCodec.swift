import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// One HTTP/2 stream's HTTP/1-style codec, in place of a stream channel with NIO's
/// `HTTP2FramePayloadToHTTP1ServerCodec` in it: the connection's `HTTP2Connection` hands it the
/// stream's frames, it turns them into request parts and hands them to the stream's
/// `GatewayHandler` directly (`receiver`), and writes the response as frames of its stream, from
/// the connection handler's place, when `GatewayHandler` calls it with each part
/// (`write(_:promise:)`). The stream is no channel: no channel, pipeline and handler context
/// made, activated and torn down for every request (about 25,000 instructions of 156,000 per
/// request in `bench/callgrind http2`); what the stream channel did for the handler, it does:
///
/// - reads: frames are handed on while the handler reads (`read()`, asked again after each of
///   the connection's reads, as a channel with auto-read does); while it holds its reads, they
///   wait here, and the client's window is given back only for what was handed on
///   (`HTTP2InboundWindow`), so a request body stops after one window;
/// - writability: the DATA bytes written that NIOHTTP2 still holds for want of flow-control
///   window, counted until `HTTP2Connection` sees them leave (`sent(_:)`), between NIOHTTP2's
///   stream watermarks, and the connection's own writability;
/// - closing: the gateway's close resets a stream that is still open either way (RST_STREAM
///   CANCEL); the stream's end (`streamClosed()`, NIOHTTP2's StreamClosedEvent or the
///   connection's end) removes the handler.
///
/// Inbound (what NIO's codec did, after the checks):
/// - every header block is first checked (`HTTP2RequestBlock`): a malformed one resets the stream
///   with PROTOCOL_ERROR (as NIOHTTP2 did when it checked them itself), and nothing of the stream
///   goes further; the connection guard counts such resets
///   (`HTTP2AbuseMonitor.Limits.malformedStreams`);
/// - the first block is the head: `:method`, `:path` as the URI, HTTP/2.0, then the fields in
///   order, with `host` from `:authority` first when the block has none, and, without
///   `content-length`, `transfer-encoding: chunked` when the block does not end the stream (a
///   body may follow, whatever the method: the upstream's HTTP/1.1 needs it framed), or
///   `content-length: 0` when it does, for a method other than GET, HEAD, DELETE, CONNECT and
///   TRACE; a request without `:path` or
///   `:authority` (CONNECT, or one that leaves out its authority) is an error, as it was;
/// - a later block is the trailers; DATA is body, and END_STREAM the end.
///
/// Handing the parts on directly skips a pipeline step and an `NIOAny` cast per part, and NIO's
/// conversion through `HPACKHeaders`' case-insensitive lookups.
///
/// Outbound:
/// - The head becomes one `HPACKHeaders` built in one pass, normalised as NIO's codec does:
///   `:status` first, names in lower case (a name already in lower case is kept as it is), and
///   without HTTP/1's connection-specific fields (`connection`, `keep-alive`, `proxy-connection`,
///   `transfer-encoding`, `upgrade`) and the fields a `Connection` header names. (NIO's codec
///   copied every head into an array, then `HTTPHeaders`, then `HPACKHeaders` with every name
///   lower-cased anew, about 8,000 instructions per response.)
/// - Fields whose value differs on every response — the request id, the RateLimit state, a
///   traceparent — are sent without being added to HPACK's dynamic table (RFC 7541 §6.2.2); the
///   request id's is added now and then for its name only, and an upstream's fields and
///   Content-Length only when they repeat (`HTTP2FieldIndexing`, per connection).
///   Indexed, each such field took the place of an entry later responses could have reused, and
///   kept the table full: NIOHPACK's encoder scans the dynamic table linearly for every field of
///   every response, so a table of single-use entries cost about 30,000 instructions per response
///   (`bench/callgrind http2`).
/// - The last frame carries END_STREAM: a frame is held until the next write or flush, and when
///   the next part is the response's end it goes out with END_STREAM set (a response without a
///   body is one HEADERS frame; nginx and HAProxy send them so too). Only with nothing held does
///   the end go as an empty DATA frame of its own.
///
final class HTTP2StreamCodec {
    let streamID: HTTP2StreamID
    /// The stream's `GatewayHandler`, called directly with each request part and with the
    /// stream's events, on the connection handler's context. Nil (tests): parts go down the
    /// connection's pipeline, and the stream always reads.
    var receiver: GatewayHandler?
    /// The connection's choice of when `x-request-id`, `content-length` and an upstream's fields
    /// are indexed; nil: the request id never, the others always.
    var fieldIndexing: HTTP2FieldIndexing?
    /// Listed for the connection's read end (`HTTP2Connection.readThisCycle`).
    var listed = false

    /// The connection's handler; nil once the stream ended.
    private var connection: HTTP2Connection?
    /// The connection handler's context, which the stream's frames are written from.
    private var context: ChannelHandlerContext?
    /// The request's first header block came (a later one is its trailers).
    private var sawHeaders = false
    /// The stream was reset as malformed: what else comes on it is dropped.
    private var refused = false
    /// A frame not yet written: a DATA frame, or the HEADERS of a final response.
    private var held: (frame: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?)?

    /// The handler reads: frames are handed on as they come, until the connection's read ends.
    private var reading = false
    /// Frames that came while the handler held its reads, in order.
    private var waiting: CircularBuffer<HTTP2Frame.FramePayload>?
    private var inbound: HTTP2InboundWindow
    /// The client ended its side (END_STREAM came): no window to give back any more.
    private var requestEnded = false

    /// The response's end was written.
    private var responseEnded = false
    /// The gateway closed the stream: nothing more is written.
    private var reset = false
    /// NIOHTTP2 refused a frame written for the stream (`failed`): the close resets it whatever
    /// was written.
    private var writeFailed = false
    /// The stream ended (NIOHTTP2 closed it, or the connection went).
    private var ended = false
    /// DATA bytes written and not yet passed on by NIOHTTP2 (held for want of window).
    private var queued = 0
    private let highWatermark: Int
    private let lowWatermark: Int
    /// Over the high watermark, until under the low one.
    private var full = false
    /// Inside a write of this stream's: writability is looked at once it returned.
    private var writing = false

    init(streamID: HTTP2StreamID, connection: HTTP2Connection, window: Int, highWatermark: Int, lowWatermark: Int) {
        self.streamID = streamID
        self.connection = connection
        self.inbound = HTTP2InboundWindow(target: window)
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }

    // MARK: the connection's calls

    /// The stream opened, with its first header block next: its handler is added and asks for
    /// its first read, as a channel's first handler does when the channel becomes active.
    func opened(context: ChannelHandlerContext) {
        self.context = context
        guard let receiver else {
            reading = true
            return
        }
        receiver.handlerAdded(context: context)
        receiver.read(context: context)
    }

    /// A frame of the stream.
    func received(_ payload: HTTP2Frame.FramePayload) {
        guard !ended, !reset else { return }
        switch payload {
        case .data(let data):
            let size = data.data.readableBytes
            let flowControlled = size + (data.paddingBytes.map { $0 + 1 } ?? 0)
            if data.endStream { requestEnded = true }
            if let increment = inbound.received(flowControlled: flowControlled, data: size) { giveBack(increment) }
        case .headers(let headers):
            if headers.endStream { requestEnded = true }
        default:
            return
        }
        if reading && waiting == nil {
            deliver(payload)
            connection?.readThisCycle(self)
        } else {
            if waiting == nil { waiting = CircularBuffer(initialCapacity: 4) }
            waiting!.append(payload)
        }
    }

    /// The connection's read ended with frames of this stream handed on: the handler's read
    /// ends, and it asks for the next (or holds it).
    func readComplete() {
        guard !ended, let receiver, let context else { return }
        reading = false
        receiver.channelReadComplete(context: context)
        if !ended && !reset { receiver.read(context: context) }
    }

    /// The stream ended: NIOHTTP2 closed it (both sides ended, or a reset either way), or the
    /// connection went. The handler is removed; a held frame's writer learns it was not sent.
    func streamClosed() {
        guard !ended else { return }
        ended = true
        waiting = nil
        held?.promise?.fail(ChannelError.ioOnClosedChannel)
        held = nil
        if let receiver, let context { receiver.handlerRemoved(context: context) }
        receiver = nil
        connection = nil
        // The context stays: NIOHTTP2 ends the stream as it passes the last frame on, which may be
        // inside the handler's write, before the flush that must still follow.
    }

    /// `size` bytes of this stream's DATA left NIOHTTP2 for the connection (a part of the
    /// response's last frame, which never counted, when NIOHTTP2 split it for want of window).
    func sent(_ size: Int) {
        queued = max(0, queued - size)
        if !writing { writabilityMayHaveChanged() }
    }

    /// The stream's writability may have changed (the connection's, or what NIOHTTP2 holds of its
    /// DATA): its handler looks.
    func writabilityChanged() {
        guard !ended, let receiver, let context else { return }
        receiver.channelWritabilityChanged(context: context)
    }

    // MARK: the handler's calls

    /// The handler reads (it holds its reads while its request cannot take more): frames that
    /// waited are handed on now.
    func read() {
        guard !ended, !reading else { return }
        reading = true
        guard var frames = waiting else { return }
        waiting = nil
        while let payload = frames.popFirst(), !ended, !reset {
            deliver(payload)
        }
        connection?.readThisCycle(self)
    }

    /// Whether the handler may write more: NIOHTTP2 holds no more than the high watermark of the
    /// stream's DATA, and the connection is writable.
    var isWritable: Bool { !full && !ended && (context?.channel.isWritable ?? false) }

    private func writabilityMayHaveChanged() {
        if full {
            guard queued <= lowWatermark else { return }
            full = false
            writabilityChanged()
        } else if queued > highWatermark {
            full = true
        }
    }

    /// Gives the client back `increment` bytes of the stream's window.
    private func giveBack(_ increment: Int) {
        guard let context, !requestEnded else { return }
        context.write(NIOAny(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        connection?.flushSoon()
    }

    /// A frame of the request, handed to the handler as request parts.
    private func deliver(_ payload: HTTP2Frame.FramePayload) {
        guard let context else { return }
        if case .data(let data) = payload, let increment = inbound.taken(data.data.readableBytes) { giveBack(increment) }
        // The WINDOW_UPDATE's write may have ended the stream.
        if refused || reset || ended { return }
        switch payload {
        case .headers(let headers):
            if HTTP2RequestBlock.problem(headers.headers, trailers: sawHeaders) != nil {
                refused = true
                held?.promise?.fail(ChannelError.ioOnClosedChannel)
                held = nil
                reset = true
                context.writeAndFlush(NIOAny(HTTP2Frame(streamID: streamID, payload: .rstStream(.protocolError))), promise: nil)
                return
            }
            if sawHeaders {
                GatewayHandler.deliver(.end(HTTPHeaders(Self.regularFields(headers.headers))), to: receiver, from: context)
                return
            }
            sawHeaders = true
            guard let head = Self.requestHead(headers.headers, endStream: headers.endStream) else {
                let error = NIOHTTP2Errors.missingPseudoHeader(":path or :authority")
                if let receiver { receiver.errorCaught(context: context, error: error) } else { context.fireErrorCaught(error) }
                return
            }
            GatewayHandler.deliver(.head(head), to: receiver, from: context)
            // The head may have been answered at once, and the stream ended or reset with it.
            if headers.endStream, !ended, !reset { GatewayHandler.deliver(.end(nil), to: receiver, from: context) }
        case .data(let data):
            guard case .byteBuffer(let body) = data.data else { return }
            if !data.endStream {
                GatewayHandler.deliver(.body(body), to: receiver, from: context)
            } else if body.readableBytes == 0 {
                GatewayHandler.deliver(.end(nil), to: receiver, from: context)
            } else {
                GatewayHandler.deliver(.body(body), to: receiver, from: context)
                if !ended, !reset { GatewayHandler.deliver(.end(nil), to: receiver, from: context) }
            }
        default:
            break
        }
    }

    /// The request head a checked first header block stands for (see the type's notes); nil
    /// without `:path` or `:authority`.
    static func requestHead(_ block: HPACKHeaders, endStream: Bool) -> HTTPRequestHead? {
        var method: String?, path: String?, authority: String?
        var hasHost = false, hasLength = false, regular = 0
        for (name, value, _) in block {
            let n = name.utf8.count
            if name.utf8.first == UInt8(ascii: ":") {
                if n == 5 && name == ":path" { path = value }
                else if n == 7 && name == ":method" { method = value }
                else if n == 10 && name == ":authority" { authority = value }
                continue
            }
            regular += 1
            if n == 4 && name == "host" { hasHost = true }
            if n == 14 && name == "content-length" { hasLength = true }
        }
        guard let method, let path, let authority else { return nil }
        let verb = HTTPMethod(rawValue: method)
        var fields: [(String, String)] = []
        fields.reserveCapacity(regular + 2)
        if !hasHost { fields.append(("host", authority)) }
        if !hasLength {
            if !endStream {
                // A body may follow, of any method: framed for the upstream (HTTP/1.1 sends a body
                // only with Content-Length or chunked; unframed, its bytes would be read there as
                // the next request).
                fields.append(("transfer-encoding", "chunked"))
            } else {
                switch verb {
                case .GET, .HEAD, .DELETE, .CONNECT, .TRACE: break
                default: fields.append(("content-length", "0"))
                }
            }
        }
        for (name, value, _) in block where name.utf8.first != UInt8(ascii: ":") { fields.append((name, value)) }
        return HTTPRequestHead(version: HTTPVersion(major: 2, minor: 0), method: verb, uri: path, headers: HTTPHeaders(fields))
    }

    /// A block's fields without its pseudo-headers (a trailer block has none; it is checked).
    static func regularFields(_ block: HPACKHeaders) -> [(String, String)] {
        var fields: [(String, String)] = []
        fields.reserveCapacity(block.count)
        for (name, value, _) in block where name.utf8.first != UInt8(ascii: ":") { fields.append((name, value)) }
        return fields
    }

    // MARK: writing

    /// One part of the stream's response.
    func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        guard let context, !reset, !ended else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if case .end(nil) = part {} else {
            guard writeHeld(failing: promise) else { return }
        }
        switch part {
        case .head(let head):
            if head.status.code < 200 {
                send(.headers(.init(headers: Self.fields(of: head))), promise: promise)
            } else {
                let fields = Self.fields(of: head, indexing: fieldIndexing, now: context.eventLoop.now)
                held = (.headers(.init(headers: fields)), promise)
            }
        case .body(let body):
            held = (.data(.init(data: body)), promise)
        case .end(let trailers?):
            responseEnded = true
            send(.headers(.init(headers: Self.fields(ofTrailers: trailers), endStream: true)), promise: promise)
        case .end(nil):
            responseEnded = true
            guard let last = held else {
                let empty = HTTP2Frame.FramePayload.Data(data: .byteBuffer(context.channel.allocator.buffer(capacity: 0)), endStream: true)
                send(.data(empty), promise: promise)
                return
            }
            held = nil
            var frame = last.frame
            switch frame {
            case .data(var data):
                data.endStream = true
                frame = .data(data)
            case .headers(var headers):
                headers.endStream = true
                frame = .headers(headers)
            default:
                break
            }
            if let heldPromise = last.promise, let promise { heldPromise.futureResult.cascade(to: promise) }
            send(frame, promise: last.promise ?? promise)
        }
    }

    /// An upstream's final response head, from its field bytes (`UpstreamResponseHead`), with the
    /// gateway's `appended` fields after them: one `HPACKHeaders` made from the lines, with no
    /// `HTTPHeaders` built, decorated and converted on the way (about 4,000 instructions per
    /// response). The same block as `write(.head(…))` makes of the decorated head: `:status`, the
    /// names in lower case, single-use fields not indexed, the request id and the upstream's
    /// fields as `fieldIndexing` says (for a request that started at `requestStart`): an
    /// upstream's field only when its line repeats the connection's last forwarded head's. The
    /// upstream's hop-by-hop fields, the connection-specific ones among them, are gone already
    /// (`UpstreamResponseParser`).
    func write(forwarded head: UpstreamResponseHead, appending appended: ResponseDecorator.Appended,
               requestStart: NIODeadline, promise: EventLoopPromise<Void>?) {
        guard context != nil, !reset, !ended else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard writeHeld(failing: promise) else { return }
        var headers = HPACKHeaders()
        headers.reserveCapacity(10)
        headers.add(name: ":status", value: String(head.status.code))
        let fieldIndexing = fieldIndexing
        head.fields.withUnsafeReadableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var index = 0
            UpstreamResponseHead.forEachLine(bytes) { nameRange, valueRange, end in
                let line = UnsafeRawBufferPointer(rebasing: raw[nameRange.lowerBound..<end])
                let repeated = fieldIndexing?.line(index, line) ?? .indexable
                index += 1
                let name = UnsafeBufferPointer(rebasing: bytes[nameRange])
                let kind = Self.kind(name)
                if kind.contains(.connectionSpecific) { return }
                headers.add(name: kind.contains(.upperCase) ? Self.lowerCased(name) : String(decoding: name, as: UTF8.self),
                            value: String(decoding: UnsafeBufferPointer(rebasing: bytes[valueRange]), as: UTF8.self),
                            indexing: kind.contains(.singleUse) ? .nonIndexable : repeated)
            }
            fieldIndexing?.forwarded(raw, lineCount: index)
        }
        headers.add(name: "x-request-id", value: appended.requestId.text,
                    indexing: fieldIndexing?.requestId(at: requestStart) ?? .nonIndexable)
        if let rateLimit = appended.rateLimit {
            headers.add(name: RateLimitFields.policyName, value: rateLimit.policy)
            headers.add(name: RateLimitFields.stateName, value: rateLimit.state, indexing: .nonIndexable)
        }
        held = (.headers(.init(headers: headers)), promise)
    }

    /// A field name's bytes as a string in lower case.
    private static func lowerCased(_ name: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: name.count) { out in
            for i in 0..<name.count {
                let byte = name[i]
                out[i] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
            return name.count
        }
    }

    /// Writes what was written.
    func flush() {
        guard let context else { return }
        writeHeld()
        context.flush()
    }

    /// The gateway closes the stream: a held frame goes first, then, unless both sides ended
    /// already, RST_STREAM: NO_ERROR when the response is complete and the request is not (the
    /// client may stop sending it, RFC 9113 §8.1), else CANCEL (as a stream channel's close did);
    /// INTERNAL_ERROR after NIOHTTP2 refused a frame of the stream.
    /// The stream's end follows from NIOHTTP2.
    func close() {
        guard let context, !reset, !ended else { return }
        writeHeld()
        reset = true
        waiting = nil
        if writeFailed || !(requestEnded && responseEnded) {
            let code: HTTP2ErrorCode = writeFailed ? .internalError : responseEnded ? .noError : .cancel
            context.write(NIOAny(HTTP2Frame(streamID: streamID, payload: .rstStream(code))), promise: nil)
        }
        context.flush()
    }

    /// NIOHTTP2 refused a frame the handler wrote (a stream error on the way out, for which it
    /// sends nothing): the handler learns it and closes the stream, as it did when NIOHTTP2's
    /// multiplexer passed the error to the stream's channel. Without a handler (tests), the
    /// stream is closed. The refused frame may have been the response's last: the close resets
    /// the stream (INTERNAL_ERROR) even so.
    func failed(_ error: any Error) {
        guard let context, !ended, !reset else { return }
        writeFailed = true
        if let receiver {
            receiver.errorCaught(context: context, error: error)
        } else {
            close()
        }
    }

    /// Writes the held frame before the part `promise` is for; false, with `promise` failed, when
    /// that ended the stream (NIOHTTP2 refused the frame: the stream is reset).
    private func writeHeld(failing promise: EventLoopPromise<Void>?) -> Bool {
        writeHeld()
        guard !reset, !ended else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return false
        }
        return true
    }

    private func writeHeld() {
        guard let last = held else { return }
        held = nil
        send(last.frame, promise: last.promise)
    }

    /// Writes one frame of the stream; DATA that does not end it counts as queued until
    /// NIOHTTP2 passes it on.
    private func send(_ payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard case .data(let data) = payload, !data.endStream else {
            context.write(NIOAny(HTTP2Frame(streamID: streamID, payload: payload)), promise: promise)
            return
        }
        queued += data.data.readableBytes
        writing = true
        context.write(NIOAny(HTTP2Frame(streamID: streamID, payload: payload)), promise: promise)
        writing = false
        writabilityMayHaveChanged()
    }

    /// A response head's header block: `:status`, then the fields (`append`); `x-request-id` and
    /// `content-length` as the connection's `indexing` says (for a request answered at `now`,
    /// read only when there is one).
    static func fields(of head: HTTPResponseHead, indexing: HTTP2FieldIndexing? = nil, now: @autoclosure () -> NIODeadline = .now()) -> HPACKHeaders {
        block(head.headers, status: head.status.code, indexing: indexing, now: indexing == nil ? nil : now())
    }

    /// A trailer block.
    static func fields(ofTrailers trailers: HTTPHeaders) -> HPACKHeaders {
        block(trailers, status: nil, indexing: nil, now: nil)
    }

    private static func block(_ fields: HTTPHeaders, status: UInt?, indexing: HTTP2FieldIndexing?, now: NIODeadline?) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(fields.count + 1)
        if let status { headers.add(name: ":status", value: String(status)) }
        var decided = Decided(indexing: indexing, now: now)
        if !append(fields, to: &headers, naming: nil, decided: &decided) {
            headers = HPACKHeaders()
            if let status { headers.add(name: ":status", value: String(status)) }
            _ = append(fields, to: &headers, naming: HeaderRules.connectionValues(fields), decided: &decided)
        }
        return headers
    }

    /// HTTP/1 fields as HTTP/2 fields, in one pass: names in lower case, connection-specific fields
    /// and those a `Connection` header names (`naming`: the values of every `Connection` header)
    /// left out, single-use fields not indexed (`x-request-id` and `content-length`: as `decided`).
    /// With `naming` nil, false at the first `Connection` header (the usual block has none: the
    /// caller then starts again with its values).
    private static func append(_ fields: HTTPHeaders, to headers: inout HPACKHeaders, naming connection: [String]?,
                               decided: inout Decided) -> Bool {
        for (name, value) in fields {
            let kind = name.utf8.withContiguousStorageIfAvailable(Self.kind) ?? Array(name.utf8).withUnsafeBufferPointer(Self.kind)
            if kind.contains(.connection) && connection == nil { return false }
            if kind.contains(.connectionSpecific) { continue }
            if let connection, !connection.isEmpty, connection.contains(where: { HeaderRules.tokenList($0, contains: name) }) { continue }
            headers.add(name: kind.contains(.upperCase) ? name.lowercased() : name, value: value,
                        indexing: kind.contains(.requestId) ? decided.requestId()
                            : kind.contains(.contentLength) ? decided.contentLength(value)
                            : kind.contains(.singleUse) ? .nonIndexable : .indexable)
        }
        return true
    }

    /// The connection's answers for one block, asked once each: a block made again (after a
    /// `Connection` header) gets the same ones.
    private struct Decided {
        let indexing: HTTP2FieldIndexing?
        /// When the request is answered; nil without `indexing`.
        let now: NIODeadline?
        private var requestIdAnswer: HPACKIndexing?
        private var contentLengthAnswer: HPACKIndexing?

        init(indexing: HTTP2FieldIndexing?, now: NIODeadline?) {
            self.indexing = indexing
            self.now = now
        }

        mutating func requestId() -> HPACKIndexing {
            if let requestIdAnswer { return requestIdAnswer }
            let answer = indexing?.requestId(at: now ?? .now()) ?? .nonIndexable
            requestIdAnswer = answer
            return answer
        }

        mutating func contentLength(_ value: String) -> HPACKIndexing {
            if let contentLengthAnswer { return contentLengthAnswer }
            let answer = indexing?.contentLength(value) ?? .indexable
            contentLengthAnswer = answer
            return answer
        }
    }

    private struct Kind: OptionSet {
        let rawValue: UInt8
        static let upperCase = Kind(rawValue: 1)
        static let singleUse = Kind(rawValue: 2)
        static let connectionSpecific = Kind(rawValue: 4)
        static let connection = Kind(rawValue: 8)
        static let requestId = Kind(rawValue: 16)
        static let contentLength = Kind(rawValue: 32)
    }

    /// What a field name is, in one look at its bytes.
    private static func kind(_ name: UnsafeBufferPointer<UInt8>) -> Kind {
        var kind: Kind = []
        for byte in name where byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") {
            kind.insert(.upperCase)
            break
        }
        switch name.count {
        case 7 where HeaderRules.equalsLower(name, "upgrade"): kind.insert(.connectionSpecific)
        case 9 where HeaderRules.equalsLower(name, "ratelimit"): kind.insert(.singleUse)
        case 10 where HeaderRules.equalsLower(name, "connection"): kind.formUnion([.connection, .connectionSpecific])
        case 10 where HeaderRules.equalsLower(name, "keep-alive"): kind.insert(.connectionSpecific)
        case 11 where HeaderRules.equalsLower(name, "traceparent"): kind.insert(.singleUse)
        case 12 where HeaderRules.equalsLower(name, "x-request-id"): kind.formUnion([.singleUse, .requestId])
        case 14 where HeaderRules.equalsLower(name, "content-length"): kind.insert(.contentLength)
        case 16 where HeaderRules.equalsLower(name, "proxy-connection"): kind.insert(.connectionSpecific)
        case 17 where HeaderRules.equalsLower(name, "transfer-encoding"): kind.insert(.connectionSpecific)
        default: break
        }
        return kind
    }
}
