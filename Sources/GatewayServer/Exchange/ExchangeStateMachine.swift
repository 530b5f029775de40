import GatewayCore
import NIOCore
import NIOHTTP1

/// The downstream side of one HTTP/1.1 connection or one HTTP/2 stream, as a pure state machine:
/// request parts, reads, the request body (held while filters decide, read whole when a filter or
/// the action needs it, streamed to an upstream, or dropped once answered), pipelined requests,
/// the end of the response, and the head, body and idle timeouts. Every event returns what the
/// channel handler must do; the machine itself does no I/O and reads no clock.
struct ExchangeStateMachine {
    struct Configuration {
        var isHTTP2: Bool
        /// HTTP/1.1: a connection with no request in flight closes after this.
        var idleTimeout: TimeAmount?
        /// HTTP/1.1: a request head must be whole this long after its first byte (or after the
        /// connection opened).
        var headerTimeout: TimeAmount?
        /// No more than this without a byte of a request body being read.
        var bodyTimeout: TimeAmount
    }

    /// What happens to the request body.
    enum Body: Equatable {
        /// Filters are deciding (a callout may be running): parts are kept, at most `limit` bytes.
        case holding([ByteBuffer], bytes: Int, limit: Int)
        /// A filter or the action needs the whole body: read it, at most `limit` bytes.
        case buffering(ByteBuffer?, limit: Int)
        /// Read whole; kept for the filters and the action.
        case complete(ByteBuffer?)
        /// Forwarded part by part to the dispatch as it arrives.
        case streaming
        /// Answered already: the rest is read and dropped.
        case discarding
    }

    struct Exchange: Equatable {
        var id: UInt64
        var body: Body
        var requestEnded = false
        /// A filter waits on a callout: reads are held.
        var suspended = false
        /// Streaming: whether the dispatch can take more (false until it is connected).
        var dispatchWritable = false
        var responseStarted = false
        /// The client asked to close after this response (HTTP/1.0, `Connection: close`).
        var closeAfterResponse: Bool
        /// `Expect: 100-continue` was sent and not answered yet.
        var expectsContinue: Bool
        var lastBodyActivity: NIODeadline
    }

    enum Phase: Equatable {
        /// Waiting for a request head. `since`: a head is on its way (or the connection is new)
        /// and the header timeout runs; `partial`: some of its bytes came.
        case idle(since: NIODeadline?, partial: Bool)
        /// An exchange is in progress: `exchange`.
        case active
        case closed
    }

    enum Action: Equatable {
        case none
        /// Let NIO's read through.
        case read
        /// A new exchange: route it and run its filters.
        case begin(HTTPRequestHead, id: UInt64, digest: HeadDigest)
        /// Stream a body part to the dispatch.
        case forward(ByteBuffer)
        case forwardEnd
        /// The body that was asked for is whole: go on with it.
        case resume(ByteBuffer?)
        /// Answer at once (413 over a body limit) and close the connection.
        case refuse(GatewayError)
        /// A head timed out: answer 408 (HTTP/1.1, when bytes of it came) and close.
        case headTimedOut(answer: Bool)
        /// The body stalled: 408 if the response has not started, then close.
        case bodyTimedOut(responseStarted: Bool)
        /// Close the connection (idle, or after an answered request whose body never ended).
        case close
        /// The client went away mid-exchange: cancel the dispatch and record the request.
        case abandon(id: UInt64)
        /// An answered request's body ended: the exchange is over (take up pipelined requests;
        /// `read`: let a held read through).
        case finished(read: Bool)
    }

    let configuration: Configuration
    private(set) var phase: Phase
    /// The exchange in progress while `phase` is `.active`, else nil. It is kept beside the phase,
    /// not in it, so that it changes in place: no copy of it per event (each copy retained its
    /// body's buffers, about 70 instructions), and its buffers stay uniquely referenced as they
    /// grow (no copy on write).
    private(set) var exchange: Exchange?
    /// HTTP/1.1 parts that arrived before the previous response ended (pipelining).
    private(set) var queue = PartQueue()
    /// NIO asked to read while reads were held.
    private(set) var readHeld = false
    private var nextID: UInt64 = 0
    /// When the last response ended (or the connection opened): for the idle timeout.
    private var lastActivity: NIODeadline

    init(configuration: Configuration, now: NIODeadline) {
        self.configuration = configuration
        self.lastActivity = now
        self.phase = .idle(since: configuration.headerTimeout == nil ? nil : now, partial: false)
    }

    /// The connection (or stream) opened at `now`, before anything arrived: its timeouts count
    /// from there.
    mutating func opened(now: NIODeadline) {
        lastActivity = now
        if case .idle(_, let partial) = phase {
            phase = .idle(since: configuration.headerTimeout == nil ? nil : now, partial: partial)
        }
    }

    /// The gateway decided to close the connection (or it went away).
    var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// Changes the exchange in place, when there is one.
    private mutating func update(_ body: (inout Exchange) -> Void) {
        guard exchange != nil else { return }
        body(&exchange!)
    }

    /// Leaves the current phase (and its exchange, if any) for `next`.
    private mutating func enter(_ next: Phase) {
        exchange = nil
        phase = next
    }

    // MARK: request parts

    /// - Parameter digest: the head's digest when the decoder made it already (a queued head's is
    ///   made when its turn comes).
    mutating func received(_ part: HTTPServerRequestPart, now: NIODeadline, digest: HeadDigest? = nil) -> Action {
        if !queue.isEmpty {
            queue.append(part)
            return .none
        }
        return process(part, now: now, digest: digest)
    }

    private mutating func process(_ part: HTTPServerRequestPart, now: NIODeadline, digest given: HeadDigest? = nil) -> Action {
        switch (part, phase) {
        case (.head, .active):
            queue.append(part)
            return .none
        case (.head(let head), .idle):
            nextID &+= 1
            let digest = given ?? HeadDigest(head)
            let close = configuration.isHTTP2 ? false : !HeadDigest.isKeepAlive(head, digest)
            exchange = Exchange(id: nextID, body: .holding([], bytes: 0, limit: 1 << 20),
                                closeAfterResponse: close, expectsContinue: digest.expectsContinue, lastBodyActivity: now)
            phase = .active
            return .begin(head, id: nextID, digest: digest)
        case (.body(let buffer), .active):
            exchange!.lastBodyActivity = now
            var action = Action.none
            switch exchange!.body {
            case .holding(var parts, let bytes, let limit):
                if bytes + buffer.readableBytes > limit {
                    action = .refuse(.payloadTooLarge)
                } else {
                    // The exchange lets go of the parts first, so that they grow in place.
                    exchange!.body = .discarding
                    parts.append(buffer)
                    exchange!.body = .holding(parts, bytes: bytes + buffer.readableBytes, limit: limit)
                }
            case .buffering(let existing, let limit):
                if (existing?.readableBytes ?? 0) + buffer.readableBytes > limit {
                    action = .refuse(.payloadTooLarge)
                } else if var existing {
                    // As above: the body buffer grows in place, not copied per part.
                    exchange!.body = .discarding
                    var incoming = buffer
                    existing.writeBuffer(&incoming)
                    exchange!.body = .buffering(existing, limit: limit)
                } else {
                    exchange!.body = .buffering(buffer, limit: limit)
                }
            case .streaming:
                action = .forward(buffer)
            case .complete, .discarding:
                break
            }
            return action
        case (.end, .active):
            exchange!.requestEnded = true
            var action = Action.none
            switch exchange!.body {
            case .buffering(let buffer, _):
                exchange!.body = .complete(buffer)
                action = .resume(buffer)
            case .streaming:
                action = .forwardEnd
            case .discarding:
                // Answered before the body ended: the exchange is over now.
                enter(.idle(since: nil, partial: false))
                lastActivity = now
                return .finished(read: releaseRead(now: now) == .read)
            case .holding, .complete:
                break
            }
            return action
        case (_, .closed), (.body, .idle), (.end, .idle):
            return .none
        }
    }

    /// Takes up the next part of a pipelined request, when it can be taken up now: what to do
    /// with it, or nil when none can.
    mutating func takeUpQueued(now: NIODeadline) -> Action? {
        guard let first = queue.first else { return nil }
        if case .head = first, case .active = phase { return nil }
        if case .closed = phase { return nil }
        return process(queue.removeFirst(), now: now)
    }

    /// The current read ended. `sawParts`: it delivered request parts; otherwise bytes of a
    /// head are on their way (HTTP/1.1).
    mutating func readComplete(sawParts: Bool, now: NIODeadline) {
        guard !sawParts, configuration.headerTimeout != nil, queue.isEmpty, case .idle(let since, _) = phase else { return }
        phase = .idle(since: since ?? now, partial: true)
    }

    // MARK: reads

    /// NIO wants to read: `.read`, or nothing while reads are held (a callout is running, the
    /// dispatch cannot take more, or pipelined requests wait).
    mutating func readRequested() -> Action {
        if holdsReads {
            readHeld = true
            return .none
        }
        return .read
    }

    private var holdsReads: Bool {
        if !queue.isEmpty { return true }
        guard let suspended = exchange?.suspended else { return false }
        if suspended { return true }
        if case .streaming = exchange!.body, !exchange!.requestEnded, !exchange!.dispatchWritable { return true }
        return false
    }

    /// A held read may go now.
    private mutating func releaseRead(now: NIODeadline) -> Action {
        guard readHeld, !holdsReads else { return .none }
        readHeld = false
        // Time spent held is not the client's.
        update { $0.lastBodyActivity = now }
        return .read
    }

    // MARK: filters and dispatch

    /// The route is known: the body may be held up to `bodyLimit` while filters decide.
    mutating func routed(bodyLimit: Int) {
        update { e in
            if case .holding(let parts, let bytes, _) = e.body {
                e.body = .holding(parts, bytes: bytes, limit: max(bodyLimit, 1 << 20))
            }
        }
    }

    /// A filter waits on a callout.
    mutating func suspend() {
        update { $0.suspended = true }
    }

    /// The callout came back.
    mutating func resume(now: NIODeadline) -> Action {
        update { $0.suspended = false }
        return releaseRead(now: now)
    }

    /// A filter or the action needs the whole body (at most `limit` bytes): `.resume` with it
    /// when it is whole already, `.refuse` when it is over the limit, else reading goes on.
    mutating func bufferBody(limit: Int, declaredLength: Int?, now: NIODeadline) -> Action {
        guard let body = exchange?.body else { return .none }
        if let declaredLength, declaredLength > limit { return .refuse(.payloadTooLarge) }
        switch body {
        case .complete(let buffer):
            return .resume(buffer)
        case .holding(let parts, let bytes, _):
            if bytes > limit { return .refuse(.payloadTooLarge) }
            var buffer: ByteBuffer?
            for var part in parts {
                if buffer == nil { buffer = part } else { buffer!.writeBuffer(&part) }
            }
            if exchange!.requestEnded {
                exchange!.body = .complete(buffer)
                return .resume(buffer)
            }
            exchange!.body = .buffering(buffer, limit: limit)
            exchange!.lastBodyActivity = now
            return releaseRead(now: now)
        case .buffering, .streaming, .discarding:
            return .none
        }
    }

    /// The action streams the body: what to send first (held parts or the whole body) and
    /// whether the request has ended already.
    mutating func stream(now: NIODeadline) -> (parts: [ByteBuffer], ended: Bool) {
        guard exchange != nil else { return ([], true) }
        var parts: [ByteBuffer] = []
        switch exchange!.body {
        case .holding(let held, _, _): parts = held
        case .complete(let buffer): parts = buffer.map { [$0] } ?? []
        case .buffering(let buffer, _): parts = buffer.map { [$0] } ?? []
        case .streaming, .discarding: break
        }
        exchange!.body = .streaming
        exchange!.dispatchWritable = false
        exchange!.lastBodyActivity = now
        return (parts, exchange!.requestEnded)
    }

    /// The dispatch can take more body (or cannot).
    mutating func dispatchWritabilityChanged(_ writable: Bool, now: NIODeadline) -> Action {
        update { $0.dispatchWritable = writable }
        return writable ? releaseRead(now: now) : .none
    }

    /// Whether an `Expect: 100-continue` must be answered now (the body is about to be read);
    /// true once.
    mutating func takeContinue() -> Bool {
        guard exchange?.expectsContinue == true, !exchange!.requestEnded else { return false }
        switch exchange!.body {
        case .buffering, .streaming:
            exchange!.expectsContinue = false
            return true
        default:
            return false
        }
    }

    // MARK: the response

    mutating func responseStarted() {
        update { $0.responseStarted = true }
    }

    /// The response ended. `close`: the connection must close after it (an answer that leaves
    /// the request's framing in doubt). Returns whether to close and whether the exchange is over
    /// (then pipelined requests may be taken up); an unfinished request body is read and dropped,
    /// and `read` says that a read held for it (the dispatch could not take more) goes now.
    mutating func responseEnded(close: Bool, now: NIODeadline) -> (close: Bool, over: Bool, read: Bool) {
        guard exchange != nil else { return (close, false, false) }
        lastActivity = now
        let closing = close || exchange!.closeAfterResponse
        if closing {
            enter(.closed)
            return (true, true, false)
        }
        if exchange!.requestEnded {
            enter(.idle(since: nil, partial: false))
            return (false, true, false)
        }
        exchange!.body = .discarding
        exchange!.lastBodyActivity = now
        return (false, false, releaseRead(now: now) == .read)
    }

    /// Pipelined parts were taken up: a read held for them may go.
    mutating func queueTakenUp(now: NIODeadline) -> Action {
        releaseRead(now: now)
    }

    /// The connection must close (an aborted response, an error).
    mutating func closing() {
        enter(.closed)
        queue.removeAll()
    }

    /// The channel went away.
    mutating func channelClosed() -> Action {
        defer {
            enter(.closed)
            queue.removeAll()
        }
        if let id = exchange?.id { return .abandon(id: id) }
        return .none
    }

    // MARK: timeouts

    /// When the machine must look at the clock next; nil when no timeout applies (a request
    /// waiting for its answer is bounded by its dispatch's own timeout).
    var deadline: NIODeadline? {
        switch phase {
        case .idle(let since, _):
            guard queue.isEmpty else { return nil }
            if let since, let headerTimeout = configuration.headerTimeout { return since + headerTimeout }
            if let idleTimeout = configuration.idleTimeout { return lastActivity + idleTimeout }
            return nil
        case .active:
            guard exchange?.requestEnded == false, !exchange!.suspended, !holdsReads else { return nil }
            switch exchange!.body {
            case .buffering, .streaming, .discarding: return exchange!.lastBodyActivity + configuration.bodyTimeout
            case .holding, .complete: return nil
            }
        case .closed:
            return nil
        }
    }

    /// The clock reached `now`: what has expired.
    mutating func clock(now: NIODeadline) -> Action {
        guard let deadline, now >= deadline else { return .none }
        switch phase {
        case .idle(let since, let partial):
            enter(.closed)
            return since == nil ? .close : .headTimedOut(answer: partial)
        case .active:
            var discarding = false
            if case .discarding? = exchange?.body { discarding = true }
            let started = exchange?.responseStarted ?? false
            enter(.closed)
            return discarding ? .close : .bodyTimedOut(responseStarted: started)
        case .closed:
            return .none
        }
    }
}

extension ExchangeStateMachine {
    /// A first-in first-out queue of request parts that allocates nothing until its first part
    /// (every HTTP/2 stream has a machine, and pipelining is rare), and stays O(1) at both ends
    /// when a client pipelines thousands of small requests in one read.
    struct PartQueue {
        private var storage: CircularBuffer<HTTPServerRequestPart>?

        var isEmpty: Bool { storage?.isEmpty ?? true }
        var count: Int { storage?.count ?? 0 }
        var first: HTTPServerRequestPart? { storage?.first }

        mutating func append(_ part: HTTPServerRequestPart) {
            if storage == nil { storage = CircularBuffer(initialCapacity: 8) }
            storage!.append(part)
        }

        mutating func removeFirst() -> HTTPServerRequestPart {
            storage!.removeFirst()
        }

        mutating func removeAll() {
            storage?.removeAll(keepingCapacity: true)
        }
    }
}
