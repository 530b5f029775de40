/// A token bucket as a pure value: `burst` tokens at most, refilled at `rate` tokens per second.
/// Time is passed in (nanoseconds on a monotonic clock), so tests drive it exactly.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    public private(set) var tokens: Double
    public private(set) var updated: UInt64

    /// A full bucket at `now`.
    public init(rate: Double, burst: Int, now: UInt64) {
        precondition(rate > 0 && burst >= 1)
        self.rate = rate
        self.burst = Double(burst)
        self.tokens = Double(burst)
        self.updated = now
    }

    /// The same bucket with a new rate and size (a reload changed its plan): the tokens it holds
    /// stay, up to the new size.
    public func reconfigured(rate: Double, burst: Int, now: UInt64) -> TokenBucket {
        var copy = TokenBucket(rate: rate, burst: burst, now: now)
        var old = self
        old.refill(now: now)
        copy.tokens = Swift.min(copy.burst, old.tokens)
        return copy
    }

    /// Adds the tokens earned since the last update.
    public mutating func refill(now: UInt64) {
        guard now > updated else { return }
        tokens = Swift.min(burst, tokens + Double(now - updated) * rate / 1e9)
        updated = now
    }

    public var hasToken: Bool { tokens >= 1 }

    public mutating func take() {
        tokens -= 1
    }

    /// Whole tokens left.
    public var remaining: Int { Int(tokens.rounded(.down)) }

    /// Seconds until one token is available (0 when one is).
    public var secondsUntilToken: Double { tokens >= 1 ? 0 : (1 - tokens) / rate }

    /// Seconds until the bucket is full again.
    public var secondsUntilFull: Double { (burst - tokens) / rate }
}
