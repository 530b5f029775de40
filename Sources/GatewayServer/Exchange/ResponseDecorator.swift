import GatewayPlan
import NIOHTTP1

/// The one place where the gateway's own headers are added to every response — a function's,
/// an upstream's, or one the gateway makes: the request id, the RateLimit fields of keyed
/// requests, and CORS on routes with `x-gateway-cors`.
enum ResponseDecorator {
    static func decorate(_ headers: inout HTTPHeaders, for request: RequestContext) {
        if !headers.contains(name: "x-request-id") {
            headers.add(name: "x-request-id", value: request.requestId)
        }
        for (name, value) in request.rateLimitHeaders { headers.replaceOrAdd(name: name, value: value) }
        if let cors = request.route.cors { applyCORS(cors, to: &headers, origin: request.head.headers.first(name: "origin")) }
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
