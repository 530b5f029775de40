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

    /// Checks `head` and rewrites it in place when its target is not in normal origin-form.
    static func check(_ head: inout HTTPRequestHead, isHTTP2: Bool, limits: GatewayConfig.Limits) -> Verdict {
        if head.headers.count > limits.maxHeaders { return .refuse(headerFieldsTooLarge, close: !isHTTP2) }
        let scan = scan(head)
        if scan.size > limits.maxHeaderBytes { return .refuse(headerFieldsTooLarge, close: !isHTTP2) }
        if !isHTTP2 {
            // RFC 9112 §3.2: exactly one Host in HTTP/1.1, never two.
            if scan.hosts > 1 || (scan.hosts == 0 && head.version.minor >= 1) { return .refuse(.badRequest, close: true) }
            // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing.
            if head.version.major == 1 && head.version.minor == 0 && scan.transferEncoding {
                return .refuse(.badRequest, close: true)
            }
        } else if scan.hosts > 1 {
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

    /// One pass over the head: its size as sent on HTTP/1.1 (request line, `name: value` lines,
    /// the empty line; for HTTP/2 the same measure of the decoded header list), how many `Host`
    /// fields it has, and whether it has `Transfer-Encoding`. Allocates nothing.
    static func scan(_ head: HTTPRequestHead) -> (size: Int, hosts: Int, transferEncoding: Bool) {
        var size = head.method.rawValue.utf8.count + head.uri.utf8.count + 12
        var hosts = 0
        var transferEncoding = false
        for (name, value) in head.headers {
            let n = name.utf8.count
            size += n + value.utf8.count + 4
            if n == 4 && equalsLowercase(name, "host") { hosts += 1 }
            if n == 17 && equalsLowercase(name, "transfer-encoding") { transferEncoding = true }
        }
        return (size, hosts, transferEncoding)
    }

    /// ASCII case-insensitive equality with a lower-case literal of the same length.
    private static func equalsLowercase(_ name: String, _ lower: StaticString) -> Bool {
        var i = 0
        let p = lower.utf8Start
        for byte in name.utf8 {
            if byte | 0x20 != p[i] && byte != p[i] { return false }
            i += 1
        }
        return true
    }
}
