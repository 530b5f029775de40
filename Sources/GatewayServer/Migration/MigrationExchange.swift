import GatewayCore
import GatewayMigration
import NIOCore
import NIOHTTP1

/// One request on a migrating route. It is the sink of the dispatch that answers, so that it can
/// replace a failing candidate by legacy before anything reached the client, and keep a copy of
/// legacy's answer to compare with the candidate's shadow answer. The client's answer never waits
/// for the shadow: the copy runs on its own and is compared when both answers are in.
final class MigrationExchange: Dispatch {
    private enum Side { case legacy, candidate }

    private let dispatcher: MigrationDispatcher
    private let request: RequestContext
    private let id: UInt64
    private let loop: any EventLoop
    private let local: LoopLocal
    /// The client's side; let go when the answer ended or the exchange was cancelled.
    private var sink: (any DispatchSink)?
    private var active: (any Dispatch)?
    private var answering = Side.legacy
    private var body: ByteBuffer?
    private var started: NIODeadline
    /// Parts of the answer went to the client: no fallback any more.
    private var forwarding = false
    /// Which answering dispatch is current: a candidate given up for legacy may still call its
    /// sink (a function hands over head, body and end at once); those calls are ignored.
    private var leg = 0

    // Shadow comparison: legacy's answer (teed as it goes to the client), the candidate's copy,
    // and legacy's second answer when noise is being learned.
    private var teeLegacy = false
    private var legacyAnswer: CapturedResponse?
    private var legacyComplete = false
    private var shadowAnswer: CapturedResponse?
    private var secondLegacy: CapturedResponse?
    private var learnsNoise = false

    init(dispatcher: MigrationDispatcher, request: RequestContext, loop: any EventLoop, local: LoopLocal,
         sink: any DispatchSink) {
        self.dispatcher = dispatcher
        self.request = request
        self.id = request.id
        self.loop = loop
        self.local = local
        self.sink = sink
        self.started = loop.now
    }

    private var route: MigrationRoute { dispatcher.route }

    func start(body: ByteBuffer?) {
        self.body = body
        let decision = route.decide(method: request.head.method.rawValue, identity: stickyIdentity(), requestId: request.requestId)
        if decision.toCandidate {
            answering = .candidate
            active = dispatcher.candidate.start(request, body: .whole(body), loop: loop, local: local, sink: nextLeg())
            return
        }
        if decision.shadow && route.startShadow() {
            teeLegacy = true
            legacyAnswer = CapturedResponse()
            startShadow(noise: decision.noise)
        }
        answering = .legacy
        active = dispatcher.legacy.start(request, body: .whole(body), loop: loop, local: local, sink: nextLeg())
    }

    private func nextLeg() -> LegSink {
        leg += 1
        return LegSink(exchange: self, leg: leg)
    }

    /// The identity a sticky canary keys on; nil: none (the request id decides, not sticky).
    private func stickyIdentity() -> String? {
        switch route.config.canary.sticky {
        case .apiKey: return request.key?.id
        case .header(let name): return request.head.headers.first(name: name)
        case .cookie(let name): return request.cookieValue(name).map(String.init)
        case .ip: return request.remoteIP
        case .none: return nil
        }
    }

    private func micros(since start: NIODeadline) -> Int64 { (loop.now - start).nanoseconds / 1000 }

    // MARK: shadow

    private func startShadow(noise: Bool) {
        let copy = RequestContext(shadowOf: request)
        let shadowStart = loop.now
        let capture = CaptureSink(cap: dispatcher.captureLimit) { [self] answer in
            route.shadowEnded()
            route.answered(candidate: true, latency: micros(since: shadowStart),
                           failed: answer.failure != nil || answer.status >= 500)
            shadowAnswer = answer
            compareIfReady()
        }
        _ = dispatcher.candidate.start(copy, body: .whole(body), loop: loop, local: local, sink: capture)
        guard noise else { return }
        learnsNoise = true
        let again = RequestContext(shadowOf: request, marked: false)
        let second = CaptureSink(cap: dispatcher.captureLimit) { [self] answer in
            secondLegacy = answer
            compareIfReady()
        }
        _ = dispatcher.legacy.start(again, body: .whole(body), loop: loop, local: local, sink: second)
    }

    private func compareIfReady() {
        guard legacyComplete, let legacy = legacyAnswer, legacy.failure == nil, !legacy.truncated else { return }
        let comparer = ResponseComparer(headers: route.config.compare.headers, ignore: route.config.compare.ignore)
        if learnsNoise, let second = secondLegacy {
            learnsNoise = false
            if second.failure == nil, !second.truncated {
                let noise = comparer.compare(legacy.comparable, second.comparable)
                if !noise.isEmpty { route.learnedNoise(noise) }
            }
        }
        if learnsNoise { return }
        guard let shadow = shadowAnswer else { return }
        shadowAnswer = nil
        // A failed copy is a candidate error (counted), not a difference.
        guard shadow.failure == nil, !shadow.truncated else { return }
        let differences = comparer.compare(legacy.comparable, shadow.comparable, noise: route.noise)
        route.compared(MismatchReport.Sample(method: request.head.method.rawValue, path: redactedPath(),
                                             requestId: request.requestId, time: WallClock.nowMilliseconds(),
                                             differences: differences))
    }

    /// The path with the query's values left out.
    private func redactedPath() -> String {
        guard let query = request.query, !query.isEmpty else { return String(request.path) }
        let names = query.split(separator: "&").map { $0.split(separator: "=", maxSplits: 1).first.map { "\($0)=…" } ?? "" }
        return "\(request.path)?\(names.joined(separator: "&"))"
    }

    // MARK: fallback

    private func fallBack(reason: String) {
        route.answered(candidate: true, latency: micros(since: started), failed: true, fellBack: true)
        let given = active
        active = nil
        given?.cancel()
        answering = .legacy
        started = loop.now
        active = dispatcher.legacy.start(request, body: .whole(body), loop: loop, local: local, sink: nextLeg())
    }

    // MARK: Dispatch (the client's side calls these)

    func send(_ part: ByteBuffer) {}
    func end() {}
    func flush() { active?.flush() }
    var isWritable: Bool { active?.isWritable ?? false }
    func downstreamWritable() { active?.downstreamWritable() }

    func cancel() {
        sink = nil
        active?.cancel()
        active = nil
    }

    // MARK: the answering dispatch (through its LegSink)

    var downstreamIsWritable: Bool { sink?.downstreamIsWritable ?? false }

    func dispatch(_ leg: Int, head: HTTPResponseHead) {
        guard leg == self.leg, let sink else { return }
        let status = Int(head.status.code)
        if answering == .candidate && !forwarding && status >= 500 && route.config.fallback {
            fallBack(reason: "candidate answered \(status)")
            return
        }
        route.answered(candidate: answering == .candidate, latency: micros(since: started), failed: status >= 500)
        if teeLegacy { legacyAnswer?.head(head) }
        forwarding = true
        sink.dispatch(id, head: head)
    }

    func dispatch(_ leg: Int, body: ByteBuffer) {
        guard leg == self.leg, let sink else { return }
        if teeLegacy { legacyAnswer?.append(body, cap: dispatcher.captureLimit) }
        sink.dispatch(id, body: body)
    }

    func dispatchEnded(_ leg: Int) {
        guard leg == self.leg, let sink else { return }
        self.sink = nil
        active = nil
        sink.dispatchEnded(id)
        if teeLegacy {
            legacyComplete = true
            compareIfReady()
        }
    }

    func dispatch(_ leg: Int, failed error: GatewayError, reason: String) {
        guard leg == self.leg, let sink else { return }
        if answering == .candidate && !forwarding && route.config.fallback {
            fallBack(reason: reason)
            return
        }
        if !forwarding { route.answered(candidate: answering == .candidate, latency: micros(since: started), failed: true) }
        if teeLegacy { legacyAnswer?.failure = reason }
        self.sink = nil
        active = nil
        sink.dispatch(id, failed: error, reason: reason)
    }

    func dispatch(_ leg: Int, writable: Bool) {
        guard leg == self.leg else { return }
        sink?.dispatch(id, writable: writable)
    }

    func dispatchFlush(_ leg: Int) {
        guard leg == self.leg else { return }
        sink?.dispatchFlush(id)
    }
}

/// The sink given to one answering dispatch of a `MigrationExchange`: it tells the exchange which
/// of its dispatches is calling.
final class LegSink: DispatchSink {
    private let exchange: MigrationExchange
    private let leg: Int

    init(exchange: MigrationExchange, leg: Int) {
        self.exchange = exchange
        self.leg = leg
    }

    var downstreamIsWritable: Bool { exchange.downstreamIsWritable }
    func dispatch(_ id: UInt64, head: consuming HTTPResponseHead) { exchange.dispatch(leg, head: head) }
    func dispatch(_ id: UInt64, body: ByteBuffer) { exchange.dispatch(leg, body: body) }
    func dispatchEnded(_ id: UInt64) { exchange.dispatchEnded(leg) }
    func dispatch(_ id: UInt64, failed error: GatewayError, reason: String) { exchange.dispatch(leg, failed: error, reason: reason) }
    func dispatch(_ id: UInt64, writable: Bool) { exchange.dispatch(leg, writable: writable) }
    func dispatchFlush(_ id: UInt64) { exchange.dispatchFlush(leg) }
}
