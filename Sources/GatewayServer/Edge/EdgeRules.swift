import GatewayCore
import GatewayPlan
import NIOHTTP1

/// The rules every request head passes before route match: its size, `Host`, framing, and its
/// request-target, normalised so that the path the gateway matches and applies policies to is the
/// path the backend receives.
enum EdgeRules {
    enum Verdict {
        /// The head (its target in origin-form, `Host` from an absolute-form target) and its target.
        case pass(RequestTarget)
        /// Answered at the edge; `close`: the connection cannot be trusted to frame another request.
        case refuse(GatewayError, close: Bool)
    }

    static let headerFieldsTooLarge = GatewayError(status: 431, message: "Request Header Fields Too Large")
    static let requestTimeout = GatewayError(status: 408, message: "Request Timeout")

    /// Checks `head` (whose fields `digest` describes) and rewrites it in place when its target is
    /// not in normal origin-form.
    static func check(_ head: inout HTTPRequestHead, digest: HeadDigest, isHTTP2: Bool, limits: GatewayConfig.Limits) -> Verdict {
        if head.headers.count > limits.maxHeaders { return .refuse(headerFieldsTooLarge, close: !isHTTP2) }
        if digest.size > limits.maxHeaderBytes { return .refuse(headerFieldsTooLarge, close: !isHTTP2) }
        if !isHTTP2 {
            // RFC 9112 §3.2: exactly one Host in HTTP/1.1, never two.
            if digest.hosts > 1 || (digest.hosts == 0 && head.version.minor >= 1) { return .refuse(.badRequest, close: true) }
            // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing.
            if head.version.major == 1 && head.version.minor == 0 && digest.transferEncoding {
                return .refuse(.badRequest, close: true)
            }
        } else if digest.hosts > 1 {
            return .refuse(.badRequest, close: false)
        }
        let target: RequestTarget
        do {
            target = try RequestTarget(parsing: head.uri, escapedSlashes: limits.escapedSlashes)
        } catch {
            return .refuse(.badRequest, close: !isHTTP2)
        }
        if target.rewritten {
            head.uri = target.originForm
            // RFC 9112 §3.2.2: an absolute-form target's authority replaces Host.
            if let authority = target.authority { head.headers.replaceOrAdd(name: "host", value: String(authority)) }
        }
        return .pass(target)
    }
}
