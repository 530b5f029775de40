/// A token bucket's shape: `rate` tokens per second (fractional allowed) into a bucket of `burst`.
/// The configuration's `throttle`, `plans` and `x-gateway.throttle` entries, and the rate limiter's
/// buckets, all use it.
public struct Throttle: Sendable, Equatable {
    public var rate: Double
    public var burst: Int

    public init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = burst
    }
}
