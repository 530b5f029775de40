import GatewayAuthorizers
import GatewayCore
import GatewayPlan
import NIOCore
import NIOHTTP1

/// Everything the gateway knows about one request as it moves through the phases. One typed
/// object per request (a class, so the handler's many reads of it retain one reference rather than
/// copying every field); shared configuration lives in `GatewayRuntime`.
final class RequestContext {
    /// The consumer's API key, once validated: its id (never the secret) and plan.
    struct Key {
        var id: String
        var planName: String
        var plan: GatewayConfig.Plan
    }

    let requestId: String
    let head: HTTPRequestHead
    let start: NIODeadline
    let startWallClock: Int64
    let remoteIP: String
    let scheme: String
    /// `HTTP/1.1` or `HTTP/2.0`
    let protocolName: String
    /// The path as sent, without the query string.
    let path: Substring
    let query: Substring?

    var operation: OperationPlan?
    /// Path parameters by template name, as sent (not decoded).
    var pathParameters: [(String, String)] = []
    var status: Int = 0
    /// Where the request went, for logs; formatted only when a log line is written.
    var target: Target = .none
    var key: Key?
    /// What an authorizer allowed, passed on to the backend.
    var authorization: Forwarding?
    /// `RateLimit-Policy` and `RateLimit` for keyed requests, added to whatever answers.
    var rateLimitHeaders: [(String, String)] = []

    /// The id (never the secret) of the API key the request presented, once validated.
    var keyId: String? { key?.id }

    init(head: HTTPRequestHead, requestId: String, remoteIP: String, scheme: String, protocolName: String) {
        self.head = head
        self.requestId = requestId
        self.remoteIP = remoteIP
        self.scheme = scheme
        self.protocolName = protocolName
        self.start = .now()
        self.startWallClock = WallClock.nowMilliseconds()
        if let q = head.uri.firstIndex(of: "?") {
            self.path = head.uri[..<q]
            self.query = head.uri[head.uri.index(after: q)...]
        } else {
            self.path = head.uri[...]
            self.query = nil
        }
    }

    enum Target: CustomStringConvertible {
        case none
        case function(String)
        case upstream(String, Upstream.Target)

        var description: String {
            switch self {
            case .none: return "-"
            case .function(let name): return "function:\(name)"
            case .upstream(let name, let target): return "upstream:\(name) \(target)"
            }
        }
    }

    /// The API key where the operation's scheme says it is.
    func value(of requirement: OperationPlan.APIKeyRequirement) -> Substring? {
        switch requirement.location {
        case .header: return head.headers.first(name: requirement.name).map { $0[...] }
        case .query: return queryValue(requirement.name).map { $0[...] }
        case .cookie: return cookieValue(requirement.name)
        }
    }

    /// The first value of a query parameter, form-decoded.
    func queryValue(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if FunctionEventBuilder.formDecoded(parts[0]) == name {
                return parts.count == 2 ? FunctionEventBuilder.formDecoded(parts[1]) : ""
            }
        }
        return nil
    }

    /// A cookie's value, as sent.
    func cookieValue(_ name: String) -> Substring? {
        for header in head.headers[canonicalForm: "cookie"] {
            for c in header.split(separator: ";") {
                let t = c.drop(while: { $0 == " " })
                if t.hasPrefix(name + "=") { return t.dropFirst(name.count + 1) }
            }
        }
        return nil
    }

    /// A path parameter, percent-decoded.
    func pathParameter(_ name: String) -> String? {
        guard let raw = pathParameters.first(where: { $0.0 == name })?.1 else { return nil }
        return PathTemplate.percentDecoded(raw) ?? raw
    }
}
