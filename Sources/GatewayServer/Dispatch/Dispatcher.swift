import GatewayCore
import NIOCore
import NIOHTTP1

/// How a route's action gets the request body.
enum DispatchBody {
    /// Read whole first (functions; bodies a filter read anyway).
    case whole(ByteBuffer?)
    /// Streamed: these parts first, then whatever `Dispatch.send` brings; `ended`: no more comes.
    case stream(first: [ByteBuffer], ended: Bool)
}

/// A route's action, bound once per runtime: it starts one `Dispatch` per request. Each
/// dispatcher owns its timeout.
protocol Dispatcher: Sendable {
    /// Whether the action needs the whole body before it starts (functions) or streams it (upstreams).
    var needsWholeBody: Bool { get }
    /// Where requests go, for logs.
    var target: RequestContext.Target { get }
    func start(_ request: RequestContext, body: DispatchBody, loop: any EventLoop, local: LoopLocal,
               sink: any DispatchSink) -> any Dispatch
}

/// One running exchange with a function or an upstream, owned by one request.
protocol Dispatch: AnyObject {
    /// A request body part (streaming dispatches).
    func send(_ part: ByteBuffer)
    /// The request body ended.
    func end()
    /// Parts sent since the last flush go out.
    func flush()
    /// Whether it can take more body now.
    var isWritable: Bool { get }
    /// The client can take more response again.
    func downstreamWritable()
    /// The request is over (answered otherwise, or the client left): stop, release or close
    /// what it holds, call the sink no more.
    func cancel()
}

/// The downstream side that receives what a dispatch produces. Every call names the exchange it
/// belongs to (`RequestContext.id`), so late calls from an abandoned one are ignored.
protocol DispatchSink: AnyObject {
    var downstreamIsWritable: Bool { get }
    func dispatch(_ id: UInt64, head: consuming HTTPResponseHead)
    /// An upstream's head, its fields still as bytes.
    func dispatch(_ id: UInt64, forwarded head: consuming UpstreamResponseHead)
    func dispatch(_ id: UInt64, body: ByteBuffer)
    func dispatchEnded(_ id: UInt64)
    /// The dispatch failed: answered with `error` when no response went out yet, else the
    /// connection is cut. `reason` is logged.
    func dispatch(_ id: UInt64, failed error: GatewayError, reason: String)
    func dispatch(_ id: UInt64, writable: Bool)
    /// A batch of response parts was handed over: flush them to the client.
    func dispatchFlush(_ id: UInt64)
    /// True while the client's connection is inside a read whose end calls the dispatch's
    /// `flush()`: request parts written now may wait for it (one flush for a head and its end).
    var flushesAfterThisRead: Bool { get }
}

extension DispatchSink {
    var flushesAfterThisRead: Bool { false }

    func dispatch(_ id: UInt64, forwarded head: consuming UpstreamResponseHead) {
        dispatch(id, head: head.head)
    }
}

/// A dispatch that is given the whole body before it starts (functions): nothing streams in,
/// and its answer comes whole, so the streaming calls have nothing to do.
protocol WholeBodyDispatch: Dispatch {}

extension WholeBodyDispatch {
    func send(_ part: ByteBuffer) {}
    func end() {}
    func flush() {}
    var isWritable: Bool { true }
    func downstreamWritable() {}
}
