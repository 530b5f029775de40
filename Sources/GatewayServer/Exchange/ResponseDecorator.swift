import GatewayPlan
import NIOHTTP1

/// The one place where the gateway's own headers are added to every response — a function's,
/// an upstream's, or one the gateway makes: the request id, the RateLimit fields of keyed
/// requests, and CORS on routes with `x-gateway-cors`.
enum ResponseDecorator {
    static func decorate(_ headers: inout HTTPHeaders, for request: RequestContext) {
        // One look at the names decides: the usual response has neither field, and then they
        // are only added (NIO's `contains` and `replaceOrAdd` each look at every name again).
        let rateLimit = request.rateLimit
        var hasRequestId = false, hasRateLimit = false
        for (name, _) in headers {
            switch name.utf8.count {
            case 12 where HeaderRules.equalsLower(name, "x-request-id"):
                hasRequestId = true
            case 9 where rateLimit != nil && HeaderRules.equalsLower(name, "ratelimit"),
                 16 where rateLimit != nil && HeaderRules.equalsLower(name, "ratelimit-policy"):
                hasRateLimit = true
            default:
                break
            }
        }
        if !hasRequestId { headers.add(name: "x-request-id", value: request.requestId) }
        if let rateLimit {
            if hasRateLimit {
                for (name, value) in rateLimit.pairs { headers.replaceOrAdd(name: name, value: value) }
            } else {
                // Appended as a block: `add(name:value:)` checks each name for non-ASCII bytes, one
                // byte at a time (the gateway's own names are ASCII).
                headers.add(contentsOf: HTTPHeaders(rateLimit.pairs))
            }
        }
        if let cors = request.route.cors { applyCORS(cors, to: &headers, origin: request.head.headers.first(name: "origin")) }
    }

    /// The fields the gateway appends to a forwarded head that stays bytes (`UpstreamResponseHead`):
    /// the request id and the RateLimit fields. Nil when the head must be decorated as
    /// `HTTPHeaders` instead: on a route with CORS, or when the upstream sent a field the gateway
    /// sets (the gateway's replaces it).
    static func appended(to head: UpstreamResponseHead, for request: RequestContext) -> Appended? {
        guard request.route.cors == nil, !head.hasGatewayFieldNames else { return nil }
        return Appended(requestId: request.requestIdValue, rateLimit: request.rateLimit)
    }

    /// `x-request-id` and the RateLimit fields, written as HTTP/1 field lines.
    struct Appended {
        let requestId: RequestID
        let rateLimit: RateLimitFields?

        /// At most the bytes `put(into:)` writes.
        var size: Int { 12 + 4 + requestId.utf8Count + (rateLimit?.size ?? 0) }

        func put(into out: inout HTTP1HeadWriter) {
            out.put("x-request-id: ")
            out.put(count: requestId.utf8Count) { requestId.write(to: $0) }
            out.put("\r\n")
            rateLimit?.put(into: &out)
        }
    }

    /// On a route with CORS the gateway decides: whatever CORS headers the function or backend
    /// sent are replaced (as AWS does), and an allowed origin gets the policy's.
    static func applyCORS(_ cors: CORSPolicy, to headers: inout HTTPHeaders, origin: String?) {
        for name in ["access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers",
                     "access-control-allow-methods", "access-control-allow-headers", "access-control-max-age"] {
            headers.remove(name: name)
        }
        guard let origin, let extra = cors.response(origin: origin) else { return }
        for (name, value) in extra {
            if name == "vary" { addVary(&headers) } else { headers.add(name: name, value: value) }
        }
    }

    static func addVary(_ headers: inout HTTPHeaders) {
        let present = headers[canonicalForm: "vary"].contains { $0.lowercased() == "origin" || $0 == "*" }
        if !present { headers.add(name: "vary", value: "Origin") }
    }
}
