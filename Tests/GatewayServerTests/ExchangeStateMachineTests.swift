import GatewayCore
import NIOCore
import NIOHTTP1
@testable import GatewayServer
import Testing

/// The downstream exchange machine without NIO channels: every transition with an injected clock.
@Suite struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func machine(http2: Bool = false, header: TimeAmount? = .seconds(10), idle: TimeAmount? = .seconds(60),
                 body: TimeAmount = .seconds(30)) -> Machine {
        Machine(configuration: .init(isHTTP2: http2, idleTimeout: http2 ? nil : idle, headerTimeout: http2 ? nil : header,
                                     bodyTimeout: body), now: t0)
    }

    func head(_ method: HTTPMethod = .GET, _ uri: String = "/", _ headers: [(String, String)] = [("host", "x")],
              version: HTTPVersion = .http1_1) -> HTTPServerRequestPart {
        .head(HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers)))
    }

    func bytes(_ n: Int) -> HTTPServerRequestPart { .body(ByteBuffer(repeating: 0x61, count: n)) }

    func isBegin(_ action: Machine.Action, id: UInt64) -> Bool {
        if case .begin(_, let got, _) = action { return got == id }
        return false
    }

    @Test func aBodilessRequestStreamsAndReturnsToIdle() {
        var m = machine()
        #expect(isBegin(m.received(head(), now: t0), id: 1))
        #expect(m.received(.end(nil), now: t0) == .none, "ended while filters run: nothing to forward yet")
        let (parts, ended) = m.stream(now: t0)
        #expect(parts.isEmpty && ended)
        m.responseStarted()
        let end = m.responseEnded(close: false, now: t0)
        #expect(end == (close: false, over: true, read: false))
        #expect(m.phase == .idle(since: nil, partial: false))
        #expect(m.readRequested() == .read)
    }

    @Test func pipelinedRequestsWaitForThePreviousResponse() {
        var m = machine()
        #expect(isBegin(m.received(head(.GET, "/1"), now: t0), id: 1))
        #expect(m.received(.end(nil), now: t0) == .none)
        #expect(m.received(head(.POST, "/2"), now: t0) == .none)
        #expect(m.received(bytes(3), now: t0) == .none)
        #expect(m.received(.end(nil), now: t0) == .none)
        #expect(m.queue.count == 3)
        #expect(m.readRequested() == .none, "reads wait while pipelined parts do")
        #expect(m.takeUpQueued(now: t0) == nil, "not while the first is in flight")
        _ = m.stream(now: t0)
        #expect(m.responseEnded(close: false, now: t0) == (close: false, over: true, read: false))
        #expect(isBegin(m.takeUpQueued(now: t0)!, id: 2))
        #expect(m.takeUpQueued(now: t0) == Machine.Action.none, "the body is held while the new request's filters run")
        #expect(m.takeUpQueued(now: t0) == Machine.Action.none)
        #expect(m.takeUpQueued(now: t0) == nil)
        #expect(m.queueTakenUp(now: t0) == .read, "the held read goes once the queue is empty")
        let (parts, ended) = m.stream(now: t0)
        #expect(parts.map(\.readableBytes) == [3] && ended)
    }

    @Test func aBodyArrivingWhileAFilterIsSuspendedIsHeldAndReadsPause() {
        var m = machine()
        _ = m.received(head(.POST, "/", [("host", "x"), ("content-length", "6")]), now: t0)
        m.routed(bodyLimit: 100)
        m.suspend()
        #expect(m.received(bytes(3), now: t0) == .none)
        #expect(m.readRequested() == .none)
        #expect(m.deadline == nil, "no body timeout while the gateway itself holds reads")
        #expect(m.resume(now: t0) == .read)
        #expect(m.received(bytes(3), now: t0) == .none)
        let (parts, ended) = m.stream(now: t0)
        #expect(parts.map(\.readableBytes) == [3, 3] && !ended)
        #expect(m.received(bytes(2), now: t0) == .forward(ByteBuffer(repeating: 0x61, count: 2)))
        #expect(m.received(.end(nil), now: t0) == .forwardEnd)
    }

    @Test func heldBytesAreBoundedWhileFiltersDecide() {
        var m = machine()
        _ = m.received(head(.POST), now: t0)
        m.routed(bodyLimit: 10)
        m.suspend()
        #expect(m.received(bytes(1 << 20), now: t0) == .none, "at least 1 MiB may wait")
        #expect(m.received(bytes(1), now: t0) == .refuse(.payloadTooLarge))
    }

    @Test func readingTheWholeBodyStopsAtItsLimit() {
        var m = machine()
        _ = m.received(head(.POST), now: t0)
        #expect(m.received(bytes(4), now: t0) == .none)
        #expect(m.bufferBody(limit: 10, declaredLength: nil, now: t0) == .none)
        #expect(m.received(bytes(4), now: t0) == .none)
        #expect(m.received(bytes(4), now: t0) == .refuse(.payloadTooLarge))

        var declared = machine()
        _ = declared.received(head(.POST), now: t0)
        #expect(declared.bufferBody(limit: 10, declaredLength: 11, now: t0) == .refuse(.payloadTooLarge))

        var whole = machine()
        _ = whole.received(head(.POST), now: t0)
        _ = whole.received(bytes(4), now: t0)
        _ = whole.bufferBody(limit: 10, declaredLength: nil, now: t0)
        guard case .resume(let body) = whole.received(.end(nil), now: t0) else {
            Issue.record("no resume")
            return
        }
        #expect(body?.readableBytes == 4)
        #expect(whole.bufferBody(limit: 10, declaredLength: nil, now: t0) == .resume(body), "asked again: the same body")
    }

    @Test func anEarlyAnswerDropsTheRestOfTheBodyThenTheExchangeIsOver() {
        var m = machine()
        _ = m.received(head(.POST), now: t0)
        _ = m.stream(now: t0)
        m.responseStarted()
        #expect(m.responseEnded(close: false, now: t0) == (close: false, over: false, read: false))
        #expect(m.received(bytes(100), now: t0) == .none)
        #expect(m.deadline == t0 + .seconds(30), "the dropped body still has to keep coming")
        #expect(m.received(.end(nil), now: t0) == .finished(read: false))
        #expect(m.phase == .idle(since: nil, partial: false))
    }

    /// The upstream stopped taking the body (a read is held), then answered before it ended:
    /// the held read goes with the answer's end, so that the rest is read and dropped.
    @Test func anEarlyAnswerReleasesAReadHeldForTheDispatch() {
        var m = machine()
        _ = m.received(head(.POST), now: t0)
        _ = m.stream(now: t0)
        #expect(m.readRequested() == .none, "held: the dispatch cannot take more")
        m.responseStarted()
        #expect(m.responseEnded(close: false, now: t0) == (close: false, over: false, read: true))
        #expect(m.readRequested() == .read)
        #expect(m.received(.end(nil), now: t0) == .finished(read: false))
    }

    @Test func closeIsHonouredAfterTheResponse() {
        var m = machine()
        _ = m.received(head(.GET, "/", [("host", "x"), ("connection", "close")]), now: t0)
        _ = m.received(.end(nil), now: t0)
        #expect(m.responseEnded(close: false, now: t0) == (close: true, over: true, read: false))
        #expect(m.received(head(), now: t0) == .none, "nothing after close")

        var http10 = machine()
        _ = http10.received(head(.GET, "/", [], version: .http1_0), now: t0)
        _ = http10.received(.end(nil), now: t0)
        #expect(http10.responseEnded(close: false, now: t0).close)

        var refused = machine()
        _ = refused.received(head(), now: t0)
        #expect(refused.responseEnded(close: true, now: t0).close)
    }

    @Test func theDispatchMustBeReadyBeforeMoreBodyIsRead() {
        var m = machine()
        _ = m.received(head(.POST), now: t0)
        _ = m.stream(now: t0)
        #expect(m.readRequested() == .none, "not before the upstream connection is there")
        #expect(m.dispatchWritabilityChanged(true, now: t0) == .read)
        #expect(m.readRequested() == .read)
        #expect(m.dispatchWritabilityChanged(false, now: t0) == .none)
        #expect(m.readRequested() == .none)
        #expect(m.dispatchWritabilityChanged(true, now: t0) == .read)
    }

    @Test func continueIsOwedOnceWhenTheBodyIsAboutToBeRead() {
        var m = machine()
        _ = m.received(head(.POST, "/", [("host", "x"), ("expect", "100-continue")]), now: t0)
        let early = m.takeContinue()
        #expect(!early, "not while filters decide")
        _ = m.stream(now: t0)
        let once = m.takeContinue()
        let twice = m.takeContinue()
        #expect(once)
        #expect(!twice)
    }

    @Test func idleAndHeaderTimeouts() {
        var fresh = machine()
        #expect(fresh.deadline == t0 + .seconds(10), "a new connection's first head")
        #expect(fresh.clock(now: t0 + .seconds(9)) == .none)
        #expect(fresh.clock(now: t0 + .seconds(10)) == .headTimedOut(answer: false))

        var partial = machine()
        _ = partial.received(head(), now: t0)
        _ = partial.received(.end(nil), now: t0)
        _ = partial.responseEnded(close: false, now: t0)
        #expect(partial.deadline == t0 + .seconds(60), "idle")
        partial.readComplete(sawParts: false, now: t0 + .seconds(5))
        #expect(partial.deadline == t0 + .seconds(15), "bytes of a head came: the header timeout runs")
        #expect(partial.clock(now: t0 + .seconds(15)) == .headTimedOut(answer: true))

        var idle = machine()
        _ = idle.received(head(), now: t0)
        _ = idle.received(.end(nil), now: t0)
        _ = idle.responseEnded(close: false, now: t0 + .seconds(1))
        #expect(idle.clock(now: t0 + .seconds(61)) == .close)

        let http2 = machine(http2: true)
        #expect(http2.deadline == nil, "HTTP/2 connections are watched by their guard")
    }

    @Test func aStalledBodyTimesOut() {
        var m = machine()
        _ = m.received(head(.POST), now: t0)
        _ = m.bufferBody(limit: 100, declaredLength: nil, now: t0)
        _ = m.received(bytes(1), now: t0 + .seconds(20))
        #expect(m.deadline == t0 + .seconds(50))
        #expect(m.clock(now: t0 + .seconds(49)) == .none)
        #expect(m.clock(now: t0 + .seconds(50)) == .bodyTimedOut(responseStarted: false))

        var answered = machine()
        _ = answered.received(head(.POST), now: t0)
        _ = answered.stream(now: t0)
        _ = answered.dispatchWritabilityChanged(true, now: t0)
        answered.responseStarted()
        #expect(answered.clock(now: t0 + .seconds(30)) == .bodyTimedOut(responseStarted: true))

        var waiting = machine()
        _ = waiting.received(head(), now: t0)
        _ = waiting.received(.end(nil), now: t0)
        _ = waiting.stream(now: t0)
        #expect(waiting.deadline == nil, "a request waiting for its answer is bounded by its dispatch")
    }

    @Test func aClientThatLeavesAbandonsTheExchangeAndLateEventsAreIgnored() {
        var m = machine()
        _ = m.received(head(), now: t0)
        #expect(m.channelClosed() == .abandon(id: 1))
        #expect(m.received(bytes(1), now: t0) == .none)
        #expect(m.received(head(), now: t0) == .none)
        #expect(m.responseEnded(close: false, now: t0) == (close: false, over: false, read: false))
        #expect(m.channelClosed() == .none, "abandoned once")

        var idle = machine()
        #expect(idle.channelClosed() == .none)
    }

    @Test func eachExchangeHasItsOwnId() {
        var m = machine(http2: false)
        for id in UInt64(1)...3 {
            #expect(isBegin(m.received(head(), now: t0), id: id))
            _ = m.received(.end(nil), now: t0)
            _ = m.responseEnded(close: false, now: t0)
        }
    }
}
