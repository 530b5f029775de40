import GatewayCore

/// The contract of every request phase: go on to the next, or answer now.
enum PhaseOutcome {
    case proceed
    case answer(GatewayError)
}
