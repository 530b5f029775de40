import GatewayAuthorizers
import GatewayCore
import GatewayPlan
import GatewayPolicies
import NIOCore
import NIOHTTP1
import Tracing

/// Everything about one exchange — the request, what the filters learned (identity, verdict,
/// rate-limit state), the body when it was read whole, where it went, and how it ended — in one
/// typed object (a class: the handler, filters and dispatchers share one reference). Shared
/// configuration lives in the runtime and the route; the channel handler keeps no per-request
/// state of its own.
final class RequestContext {
    /// The consumer's API key, once validated: its id (never the secret) and plan.
    struct Key {
        /// The key's id, hashed once when the keys loaded: it names the key's buckets and quota.
        var name: HashedName
        var plan: KeyPlan
        var id: String { name.string }
    }

    /// Which bucket refused the request, if one did.
    enum Throttle: String {
        case gateway, plan, operation, quota
    }

    /// Where the request went, for logs; formatted only when a line is written.
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

    // MARK: the request
    let id: UInt64
    let requestIdValue: RequestID
    /// The request id as text (made on each call for a generated id: for logs, events, HTTP/2).
    var requestId: String { requestIdValue.text }
    let head: HTTPRequestHead
    let start: NIODeadline
    let startWallClock: Int64
    let remoteIP: String
    let scheme: String
    let isHTTP2: Bool
    /// `HTTP/1.1` or `HTTP/2.0` (made only when a log line or an event needs it).
    var protocolName: String {
        isHTTP2 ? "HTTP/2.0" : "HTTP/\(head.version.major).\(head.version.minor)"
    }
    /// The normalised path, without the query string.
    let path: Substring
    let query: Substring?

    // MARK: the route
    var route: Route
    var operation: OperationPlan? { route.operation }
    /// Path parameters' template names (the operation's, shared) and their values as sent (not
    /// decoded), index-aligned: kept apart, no array of pairs is made per request.
    var pathParameterNames: [String] = []
    var pathParameterValues: [String] = []
    /// Path parameters by template name, as sent (not decoded).
    var pathParameters: [(String, String)] {
        get { Array(zip(pathParameterNames, pathParameterValues)) }
        set {
            pathParameterNames = newValue.map(\.0)
            pathParameterValues = newValue.map(\.1)
        }
    }
    /// The next filter of the route's chain to run.
    var nextFilter = 0

    // MARK: what the filters learned
    /// The connection's memo of the API key it presented last (HTTP/1.1 connections, on routes
    /// that take a key); nil: the key is checked and hashed afresh.
    var keyMemo: PresentedKeyMemo?
    var key: Key?
    /// What an authorizer allowed, passed on to the backend.
    var authorization: Forwarding?
    /// `RateLimit-Policy` and `RateLimit` for keyed requests, added to whatever answers.
    var rateLimit: RateLimitFields?
    var throttledBy: Throttle?
    var validationFailed = false
    /// The body must be validated against this `requestBody` entry once read.
    var bodyCheck: (entry: Int, form: Bool)?
    /// The whole body, once read (`bodyRead`) for a filter or the action.
    var body: ByteBuffer?
    var bodyRead = false

    // MARK: the exchange and its outcome
    /// The running function invocation or upstream exchange.
    var dispatch: (any Dispatch)?
    var target: Target = .none
    var status = 0
    /// Response body bytes written to the client.
    var bytesOut = 0
    /// Request body bytes read from the client.
    var bytesIn = 0
    /// When the upstream or function was asked, and when its answer began.
    var dispatchStart: NIODeadline?
    var dispatchAnswered: NIODeadline?
    /// Upstream attempts beyond the first (retries).
    var retries = 0
    /// A migration's shadow copy: sent once, never retried.
    var isShadow = false
    /// No operation matched and there is no default upstream: the 404 or 405 to answer.
    var unmatched: GatewayError?
    /// How the exchange ended when it did not end with a response.
    var abortReason: String?
    /// The observer saw this exchange (it sees each exactly once).
    var observed = false
    /// The W3C trace this request belongs to (set when its head is read).
    var trace: TraceContext?
    /// Its server span, when spans are exported (`tracing.otlp`).
    var span: (any Span)?
    /// Counted in its connection's requests in flight (a drain waits for them).
    var countedActive = false
    /// False when the head is known to have no `Connection` field (`HeadDigest`): the upstream
    /// head then has no field named there to leave out, and its fields are not searched for one.
    var mayHaveConnectionField = true
    /// False when the head is known to have no `Content-Length`, `Content-Type` or
    /// `Transfer-Encoding` field (`HeadDigest`): validation then looks for none of them.
    var mayHaveBodyFields = true

    var keyId: String? { key?.id }

    init(id: UInt64, head: HTTPRequestHead, target: RequestTarget, route: Route, requestId: RequestID, remoteIP: String,
         scheme: String, isHTTP2: Bool, start: NIODeadline) {
        self.id = id
        self.head = head
        self.requestIdValue = requestId
        self.remoteIP = remoteIP
        self.scheme = scheme
        self.isHTTP2 = isHTTP2
        self.start = start
        self.startWallClock = WallClock.nowMilliseconds()
        self.route = route
        self.path = target.path
        self.query = target.query
    }

    /// A copy of `other` for a second dispatch of the same request (a migration's shadow copy,
    /// with `x-gateway-shadow: 1` when `marked`, or legacy asked again): the request and what the
    /// filters learned, with an outcome of its own.
    init(shadowOf other: RequestContext, marked: Bool = true) {
        var head = other.head
        if marked { head.headers.replaceOrAdd(name: "x-gateway-shadow", value: "1") }
        self.id = other.id
        self.head = head
        self.requestIdValue = other.requestIdValue
        self.remoteIP = other.remoteIP
        self.scheme = other.scheme
        self.isHTTP2 = other.isHTTP2
        self.start = other.start
        self.startWallClock = other.startWallClock
        self.route = other.route
        self.path = other.path
        self.query = other.query
        self.pathParameterNames = other.pathParameterNames
        self.pathParameterValues = other.pathParameterValues
        self.key = other.key
        self.authorization = other.authorization
        self.body = other.body
        self.bodyRead = other.bodyRead
        self.trace = other.trace
        self.mayHaveConnectionField = other.mayHaveConnectionField
        self.mayHaveBodyFields = other.mayHaveBodyFields
        self.observed = true
        self.isShadow = marked
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
            if PercentDecoding.decode(parts[0], plusAsSpace: true) == name {
                return parts.count == 2 ? PercentDecoding.decode(parts[1], plusAsSpace: true) : ""
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
        guard let index = pathParameterNames.firstIndex(of: name), index < pathParameterValues.count else { return nil }
        let raw = pathParameterValues[index]
        return PathTemplate.percentDecoded(raw) ?? raw
    }
}
