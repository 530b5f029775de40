/// Finagle's retry budget as a pure value: over a sliding window of ten one-second slots, retries
/// may be at most `fraction` of the requests, or `minPerSecond` per second when that allows more
/// (so a quiet upstream can still be retried). A full outage then costs at most about
/// (1 + fraction) times the attempts, not (1 + attempts) times.
public struct RetryBudget: Sendable {
    public let fraction: Double
    public let minPerSecond: Double
    static let slots = 10
    private var requests = Array(repeating: 0, count: slots)
    private var retries = Array(repeating: 0, count: slots)
    /// The second (since the clock's zero) of the newest slot.
    private var second: Int64 = .min

    public init(fraction: Double, minPerSecond: Double = 3) {
        self.fraction = fraction
        self.minPerSecond = minPerSecond
    }

    /// Moves the window to `now` (nanoseconds), clearing slots that fell out of it.
    private mutating func advance(_ now: Int64) {
        let current = now / 1_000_000_000
        if second == .min {
            second = current
            return
        }
        guard current > second else { return }
        let steps = min(Int(current - second), Self.slots)
        for k in 1...steps {
            let slot = Int((second + Int64(k)) % Int64(Self.slots))
            requests[slot] = 0
            retries[slot] = 0
        }
        second = current
    }

    private var slot: Int { Int(second % Int64(Self.slots)) }

    /// A first attempt was made.
    public mutating func recordRequest(now: Int64) {
        advance(now)
        requests[slot] += 1
    }

    /// Whether a retry may be made now; when it may, it is counted.
    public mutating func tryRetry(now: Int64) -> Bool {
        advance(now)
        let allowed = max(fraction * Double(requests.reduce(0, +)), minPerSecond * Double(Self.slots))
        guard Double(retries.reduce(0, +)) < allowed else { return false }
        retries[slot] += 1
        return true
    }
}
