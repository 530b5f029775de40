/// Why a Redis call failed.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error reply (`-ERR ...`).
    case server(String)
    /// No answer within the client's timeout.
    case timeout
    /// Not connected: the last attempt failed and the next waits for its backoff.
    case unavailable(String)
    /// The connection closed with the command in flight.
    case connectionClosed
    /// The server sent bytes that are not RESP.
    case protocolError(String)
    /// The client was shut down.
    case shutdown

    public var description: String {
        switch self {
        case .server(let m): return "redis: \(m)"
        case .timeout: return "redis: no answer within the timeout"
        case .unavailable(let m): return "redis unavailable: \(m)"
        case .connectionClosed: return "redis: connection closed"
        case .protocolError(let m): return "redis: malformed reply: \(m)"
        case .shutdown: return "redis: client shut down"
        }
    }
}
