/// Chooses a target for a request (pure): round-robin or the less loaded of two random ones
/// (power of two choices), among the available targets and those not tried already by this
/// request. When none is available the gateway tries them all anyway (panic mode), so that a
/// wrong health check never makes an outage by itself.
public enum TargetChooser {
    public struct Choice: Sendable, Equatable {
        public var index: Int
        /// No target was available: chosen among all of them.
        public var panic: Bool
    }

    /// - Parameters:
    ///   - available: bit i set when target i may be chosen.
    ///   - tried: bit i set when this request already tried target i (retries go elsewhere when
    ///     they can).
    ///   - cursor: the round-robin position, advanced.
    ///   - inFlight: requests in flight per target (least-request).
    ///   - random: a source of random numbers (least-request).
    public static func choose(count: Int, available: UInt64, tried: UInt64, balance: ResilienceConfig.Balance,
                              cursor: inout Int, inFlight: (Int) -> Int,
                              random: (Int) -> Int) -> Choice {
        let all: UInt64 = count >= 64 ? .max : (1 << UInt64(count)) - 1
        var candidates = available & all & ~tried
        var panic = false
        if candidates == 0 {
            // Untried targets first, even unavailable ones; then anything.
            candidates = available & all
            if candidates == 0 {
                panic = true
                candidates = all & ~tried
                if candidates == 0 { candidates = all }
            }
        }
        switch balance {
        case .roundRobin:
            for step in 0..<count {
                let i = (cursor + step) % count
                if candidates & (1 << UInt64(i)) != 0 {
                    cursor = i + 1
                    return Choice(index: i, panic: panic)
                }
            }
        case .leastRequest:
            let n = candidates.nonzeroBitCount
            if n == 1 { return Choice(index: candidates.trailingZeroBitCount, panic: panic) }
            // Two different candidates at random; the one with fewer requests in flight.
            let i = random(n)
            var j = random(n - 1)
            if j >= i { j += 1 }
            let a = nth(candidates, i), b = nth(candidates, j)
            return Choice(index: inFlight(b) < inFlight(a) ? b : a, panic: panic)
        }
        return Choice(index: 0, panic: panic)
    }

    /// The index of the `k`-th set bit.
    static func nth(_ mask: UInt64, _ k: Int) -> Int {
        var m = mask
        for _ in 0..<k { m &= m - 1 }
        return m.trailingZeroBitCount
    }
}
