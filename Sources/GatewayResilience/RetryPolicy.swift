/// Whether a failed attempt is tried again (pure): the condition and the method must be listed,
/// attempts must be left, and nothing of the answer may have reached the client. A request whose
/// body already went upstream is retried only when nothing was sent (a connection that failed to
/// open); the budget has the last word.
public enum RetryPolicy {
    public enum Failure: Sendable, Equatable {
        /// The connection could not be opened: nothing was sent.
        case connectFailure
        /// The connection broke before an answer began.
        case reset
        case timeout
        /// The upstream answered with this status (before anything went to the client).
        case status(Int)

        public var condition: ResilienceConfig.RetryCondition? {
            switch self {
            case .connectFailure: return .connectFailure
            case .reset: return .reset
            case .timeout: return .timeout
            case .status(502): return .status502
            case .status(503): return .status503
            case .status(504): return .status504
            case .status: return nil
            }
        }
    }

    public static func mayRetry(_ failure: Failure, method: String, attempt: Int, bodyStreamed: Bool,
                                config: ResilienceConfig.Retries) -> Bool {
        guard attempt <= config.attempts, let condition = failure.condition, config.on.contains(condition),
              config.methods.contains(method) else { return false }
        if bodyStreamed && failure != .connectFailure { return false }
        return true
    }

    /// The pause before retry number `attempt` (1-based): `backoff` doubled per attempt, with
    /// full jitter from `random` (0..<1).
    public static func backoff(_ base: Duration, attempt: Int, random: Double) -> Duration {
        let factor = Double(1 << min(attempt - 1, 10))
        return base * (factor * (0.5 + random / 2))
    }
}
