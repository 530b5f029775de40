import GatewayAuthorizers
import GatewayPlan
import NIOHTTP1

/// Header rewriting at the proxy boundary (RFC 9110 §7.6.1): hop-by-hop headers and those named in
/// `Connection` are removed, `X-Forwarded-*` and the request id are set.
enum HeaderRules {
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// Removes hop-by-hop headers in place, including every header named in `Connection`. One pass
    /// finds what is there (nothing is allocated when none is); then only those names are removed —
    /// typically just `Connection` and the `keep-alive` it names.
    static func stripHopByHop(_ headers: inout HTTPHeaders) {
        var doomed: [String] = []
        for (name, value) in headers where isHopByHop(name) {
            doomed.append(name)
            guard name.utf8.count == 10, name.lowercased() == "connection" else { continue }
            for token in value.split(separator: ",") {
                let trimmed = token.trimmingSpaces()
                if !trimmed.isEmpty { doomed.append(trimmed) }
            }
        }
        guard !doomed.isEmpty else { return }
        var removed: Set<String> = []
        for name in doomed where removed.insert(name.lowercased()).inserted {
            headers.remove(name: name)
        }
    }

    /// A header value that cannot end the header early: no CR, LF or NUL.
    static func isSafeValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    /// Case-insensitive membership in `hopByHop` without lower-casing into a new string.
    private static func isHopByHop(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard utf8.count >= 2 && utf8.count <= 19 else { return false }
        for candidate in hopByHopASCII where candidate.count == utf8.count {
            var equal = true
            for (a, b) in zip(utf8, candidate) where a | 0x20 != b {
                equal = false
                break
            }
            if equal { return true }
        }
        return false
    }

    private static let hopByHopASCII: [[UInt8]] = hopByHop.map { Array($0.utf8) }

    /// The request head sent to an upstream target.
    static func upstreamRequest(_ request: RequestContext, target: Upstream.Target) -> HTTPRequestHead {
        var headers = request.head.headers
        let chunked = headers[canonicalForm: "transfer-encoding"].last?.lowercased() == "chunked"
        stripHopByHop(&headers)
        headers.remove(name: "expect")
        // The gateway checked the key; the backend gets its id, never the secret, and no forged id.
        headers.remove(name: "x-api-key-id")
        if let key = request.operation?.apiKey, key.location == .header { headers.remove(name: key.name) }
        if let id = request.keyId { headers.add(name: "x-api-key-id", value: id) }
        // An authorizer's verdict reaches the backend as x-authorizer-* headers; a client's copies never do.
        Authorization.stripForged(&headers)
        if let authorization = request.authorization { Authorization.add(authorization, to: &headers) }
        let originalHost = headers.first(name: "host")
        headers.replaceOrAdd(name: "host", value: target.authority)
        if let originalHost {
            headers.replaceOrAdd(name: "x-forwarded-host", value: originalHost)
        }
        let priorFor = headers[canonicalForm: "x-forwarded-for"]
        if priorFor.isEmpty {
            headers.add(name: "x-forwarded-for", value: request.remoteIP)
        } else {
            headers.replaceOrAdd(name: "x-forwarded-for", value: priorFor.joined(separator: ", ") + ", " + request.remoteIP)
        }
        headers.replaceOrAdd(name: "x-forwarded-proto", value: request.scheme)
        if let trace = request.trace {
            if trace.continued { headers.replaceOrAdd(name: "traceparent", value: trace.traceparent) } else {
                // A traceparent the client sent was invalid: it does not travel on.
                if headers.contains(name: "traceparent") { headers.remove(name: "traceparent") }
                headers.add(name: "traceparent", value: trace.traceparent)
            }
        }
        headers.replaceOrAdd(name: "x-request-id", value: request.requestId)
        if chunked && !headers.contains(name: "content-length") {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        let uri = target.basePath.isEmpty ? request.head.uri : target.basePath + request.head.uri
        return HTTPRequestHead(version: .http1_1, method: request.head.method, uri: uri, headers: headers)
    }

    /// An upstream's response head without its hop-by-hop headers (the handler decorates it).
    static func downstreamResponse(_ head: HTTPResponseHead) -> HTTPResponseHead {
        var head = head
        stripHopByHop(&head.headers)
        return head
    }
}
