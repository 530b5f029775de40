/// Decides, from an HTTP/2 connection's frames and the time, when the connection must go (pure;
/// the clock is the caller's). NIOHTTP2 limits PING, SETTINGS, PRIORITY and RST_STREAM floods,
/// CONTINUATION runs and header-block sizes itself (answering with GOAWAY); this adds what it
/// does not watch:
///
/// - a GOAWAY with an error code sent by the gateway (any connection error) ends the connection;
/// - WINDOW_UPDATE frames beyond `windowUpdatesPerSecond` plus `windowUpdatesPerDataFrame` for
///   every DATA frame the gateway sent in the same second (a reading client sends a few per DATA
///   frame; a flood sends millions with nothing to acknowledge);
/// - a header block (HEADERS without END_HEADERS) left open longer than `headerTimeout`;
/// - no bytes either way for `idleTimeout` (the connection is simply closed);
/// - more than `malformedStreams` streams reset with PROTOCOL_ERROR by the gateway: a client
///   that keeps sending malformed requests (NIOHTTP2 counted those among its connection's
///   glitches while it checked header blocks itself; `HTTP2RequestBlock` now does).
struct HTTP2AbuseMonitor {
    struct Limits {
        var windowUpdatesPerSecond = 100
        var windowUpdatesPerDataFrame = 4
        /// Nanoseconds.
        var headerTimeout: Int64 = 10_000_000_000
        /// Nanoseconds without a frame either way before the connection is closed.
        var idleTimeout: Int64 = 60_000_000_000
        /// Streams the gateway may reset as malformed on one connection (NIOHTTP2's connection
        /// glitches limit, `maximumConnectionGlitches`, is the same).
        var malformedStreams = 200
    }

    enum Verdict: Equatable {
        case fine
        /// Misbehaviour the gateway itself noticed: send GOAWAY(ENHANCE_YOUR_CALM), then close.
        case abusive(String)
        /// The gateway sent a GOAWAY with an error: close once it is flushed.
        case connectionError(UInt32)
    }

    static let protocolError: UInt32 = 0x1

    let limits: Limits
    private var windowStart: Int64 = 0
    private var windowUpdates = 0
    private var dataFramesSent = 0
    private var malformedStreams = 0
    /// When the open header block began (nanoseconds), if one is open.
    private(set) var headerBlockOpenedAt: Int64?
    /// The highest stream id the client opened, for the GOAWAY's last-stream-id.
    private(set) var lastClientStream: UInt32 = 0

    init(limits: Limits) {
        self.limits = limits
    }

    mutating func received(_ frame: HTTP2FrameScanner.Frame, now: Int64) -> Verdict {
        switch frame.type {
        case HTTP2FrameScanner.Frame.headers:
            if frame.streamID > lastClientStream && frame.streamID & 1 == 1 { lastClientStream = frame.streamID }
            headerBlockOpenedAt = frame.endsHeaderBlock ? nil : now
        case HTTP2FrameScanner.Frame.continuation:
            if frame.endsHeaderBlock { headerBlockOpenedAt = nil }
        case HTTP2FrameScanner.Frame.windowUpdate:
            roll(now)
            windowUpdates += 1
            if windowUpdates > limits.windowUpdatesPerSecond + limits.windowUpdatesPerDataFrame * dataFramesSent {
                return .abusive("WINDOW_UPDATE flood: \(windowUpdates) in a second with \(dataFramesSent) DATA frames sent")
            }
        default:
            break
        }
        return .fine
    }

    mutating func sent(_ frame: HTTP2FrameScanner.Frame, now: Int64) -> Verdict {
        switch frame.type {
        case HTTP2FrameScanner.Frame.data:
            roll(now)
            dataFramesSent += 1
        case HTTP2FrameScanner.Frame.goAway:
            if let code = frame.errorCode, code != 0 { return .connectionError(code) }
        case HTTP2FrameScanner.Frame.rstStream where frame.errorCode == Self.protocolError:
            malformedStreams += 1
            if malformedStreams > limits.malformedStreams {
                return .abusive("\(malformedStreams) streams reset as malformed")
            }
        default:
            break
        }
        return .fine
    }

    /// Whether the open header block has been open too long at `now`.
    func headerBlockExpired(now: Int64) -> Bool {
        guard let opened = headerBlockOpenedAt else { return false }
        return now - opened >= limits.headerTimeout
    }

    private mutating func roll(_ now: Int64) {
        if now - windowStart >= 1_000_000_000 {
            windowStart = now
            windowUpdates = 0
            dataFramesSent = 0
        }
    }
}
