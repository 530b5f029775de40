import GatewayPlan
import NIOCore
import NIOHTTP1

/// Everything the gateway knows about one request as it moves through the phases. One typed value
/// per request; shared configuration lives in `GatewayRuntime`.
struct RequestContext {
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
    var target: String = "-"
    /// The id (never the secret) of the API key the request presented, once validated.
    var keyId: String?
    /// `RateLimit-Policy` and `RateLimit` for keyed requests, added to whatever answers.
    var rateLimitHeaders: [(String, String)] = []

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
}
