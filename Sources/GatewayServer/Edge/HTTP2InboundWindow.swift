/// One HTTP/2 stream's inbound flow-control window as the gateway gives it back (RFC 9113 §5.2):
/// what the client may still send, and what it sent that the stream's handler has not taken
/// yet. Credit goes back (a WINDOW_UPDATE of the returned increment) once the window and what is
/// held come to half the target or less, for what was taken, never for what is still held: a
/// handler that stops reading (its upstream cannot take more) stops the client after one window.
/// NIOHTTP2's stream channels did this for each stream (`InboundWindowManager`, the same rule);
/// the gateway's streams are not channels.
struct HTTP2InboundWindow {
    /// The window the gateway keeps open: the initial window size it announced.
    let target: Int
    /// What the client may still send.
    private(set) var window: Int
    /// Received and not yet taken by the handler.
    private(set) var held = 0

    init(target: Int) {
        self.target = target
        self.window = target
    }

    /// A DATA frame came: `flowControlled` bytes of the window (data and padding), `data` of them
    /// the body, held until taken. Padding is never held; it may already free enough to credit.
    mutating func received(flowControlled: Int, data: Int) -> Int? {
        window -= flowControlled
        held += data
        return increment()
    }

    /// The handler took `size` bytes of body; the increment to send, if any.
    mutating func taken(_ size: Int) -> Int? {
        held -= size
        return increment()
    }

    private mutating func increment() -> Int? {
        let open = window + held
        guard open <= target / 2 else { return nil }
        let increment = target - open
        guard increment > 0 else { return nil }
        window += increment
        return increment
    }
}
