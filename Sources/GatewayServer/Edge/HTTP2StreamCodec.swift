import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// A stream's HTTP/1-style codec, the first handler in its pipeline, in place of NIO's
/// `HTTP2FramePayloadToHTTP1ServerCodec`: it turns the request's frames into request parts and
/// hands them to the stream's `GatewayHandler` directly (`receiver`), and writes the response as
/// frames when `GatewayHandler` calls it with each part (`write(_:promise:)`).
///
/// Inbound (what NIO's codec did, after the checks):
/// - every header block is first checked (`HTTP2RequestBlock`): a malformed one resets the stream
///   with PROTOCOL_ERROR (as NIOHTTP2 did when it checked them itself), and nothing of the stream
///   goes further; the connection guard counts such resets
///   (`HTTP2AbuseMonitor.Limits.malformedStreams`);
/// - the first block is the head: `:method`, `:path` as the URI, HTTP/2.0, then the fields in
///   order, with `host` from `:authority` first when the block has none, and, for a method other
///   than GET, HEAD, DELETE, CONNECT and TRACE without `content-length`, `content-length: 0` when
///   the block ends the stream, else `transfer-encoding: chunked`; a request without `:path` or
///   `:authority` (CONNECT, or one that leaves out its authority) is an error, as it was;
/// - a later block is the trailers; DATA is body, and END_STREAM the end.
///
/// Handing the parts on directly skips a handler per stream (its context, made and removed for
/// every request), a pipeline step and an `NIOAny` cast per part, and NIO's conversion through
/// `HPACKHeaders`' case-insensitive lookups.
///
/// Outbound, the frames go out from this handler's place, so they pass no other handler:
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
/// Frames written through the pipeline pass unchanged, after a held frame.
final class HTTP2StreamCodec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// The stream's `GatewayHandler`, called directly with each request part and with the
    /// stream's events, on this handler's context: it is not in the pipeline itself, which saves
    /// a handler per stream (its context made and removed for every request) and a step per
    /// event. Nil: parts and events go down the pipeline (the tests read them there).
    var receiver: GatewayHandler?
    /// The connection's choice of when `x-request-id`, `content-length` and an upstream's fields
    /// are indexed; nil: the request id never, the others always.
    var fieldIndexing: HTTP2FieldIndexing?

    private var context: ChannelHandlerContext?
    /// The request's first header block came (a later one is its trailers).
    private var sawHeaders = false
    /// The stream was reset as malformed: what else comes on it is dropped.
    private var refused = false
    /// A frame not yet written: a DATA frame, or the HEADERS of a final response.
    private var held: (frame: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?)?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        receiver?.handlerAdded(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        receiver?.handlerRemoved(context: context)
        // Nothing may be written any more: a held frame's writer learns it was not sent.
        held?.promise?.fail(ChannelError.ioOnClosedChannel)
        held = nil
        self.context = nil
        receiver = nil
    }

    // The stream's events, for the receiver (which passes them on down the pipeline).

    func channelInactive(context: ChannelHandlerContext) {
        if let receiver { receiver.channelInactive(context: context) } else { context.fireChannelInactive() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let receiver { receiver.channelReadComplete(context: context) } else { context.fireChannelReadComplete() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let receiver { receiver.channelWritabilityChanged(context: context) } else { context.fireChannelWritabilityChanged() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let receiver { receiver.errorCaught(context: context, error: error) } else { context.fireErrorCaught(error) }
    }

    /// The receiver holds reads while its request cannot take more (backpressure).
    func read(context: ChannelHandlerContext) {
        if let receiver { receiver.read(context: context) } else { context.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            if HTTP2RequestBlock.problem(headers.headers, trailers: sawHeaders) != nil {
                refused = true
                held?.promise?.fail(ChannelError.ioOnClosedChannel)
                held = nil
                context.writeAndFlush(wrapOutboundOut(.rstStream(.protocolError)), promise: nil)
                return
            }
            if sawHeaders {
                GatewayHandler.deliver(.end(HTTPHeaders(Self.regularFields(headers.headers))), to: receiver, from: context)
                return
            }
            sawHeaders = true
            guard let head = Self.requestHead(headers.headers, endStream: headers.endStream) else {
                errorCaught(context: context, error: NIOHTTP2Errors.missingPseudoHeader(":path or :authority"))
                return
            }
            GatewayHandler.deliver(.head(head), to: receiver, from: context)
            if headers.endStream { GatewayHandler.deliver(.end(nil), to: receiver, from: context) }
        case .data(let data):
            guard case .byteBuffer(let body) = data.data else { return }
            if !data.endStream {
                GatewayHandler.deliver(.body(body), to: receiver, from: context)
            } else if body.readableBytes == 0 {
                GatewayHandler.deliver(.end(nil), to: receiver, from: context)
            } else {
                GatewayHandler.deliver(.body(body), to: receiver, from: context)
                GatewayHandler.deliver(.end(nil), to: receiver, from: context)
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
        switch verb {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE:
            break
        default:
            if !hasLength { fields.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked")) }
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

    /// One part of the stream's response.
    func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch part {
        case .head(let head):
            writeHeld(context: context)
            if head.status.code < 200 {
                let frame = HTTP2Frame.FramePayload.headers(.init(headers: Self.fields(of: head)))
                context.write(wrapOutboundOut(frame), promise: promise)
            } else {
                let fields = Self.fields(of: head, indexing: fieldIndexing, now: context.eventLoop.now)
                held = (.headers(.init(headers: fields)), promise)
            }
        case .body(let body):
            writeHeld(context: context)
            held = (.data(.init(data: body)), promise)
        case .end(let trailers?):
            writeHeld(context: context)
            context.write(wrapOutboundOut(.headers(.init(headers: Self.fields(ofTrailers: trailers), endStream: true))), promise: promise)
        case .end(nil):
            guard let last = held else {
                let empty = HTTP2Frame.FramePayload.Data(data: .byteBuffer(context.channel.allocator.buffer(capacity: 0)), endStream: true)
                context.write(wrapOutboundOut(.data(empty)), promise: promise)
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
            context.write(wrapOutboundOut(frame), promise: last.promise ?? promise)
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
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        writeHeld(context: context)
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

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        writeHeld(context: context)
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        writeHeld(context: context)
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        writeHeld(context: context)
        context.close(mode: mode, promise: promise)
    }

    private func writeHeld(context: ChannelHandlerContext) {
        guard let last = held else { return }
        held = nil
        context.write(wrapOutboundOut(last.frame), promise: last.promise)
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
