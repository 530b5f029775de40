import Foundation
import GatewayCore

/// The event a local function receives: AWS API Gateway's HTTP API payload format 2.0.
public struct FunctionEvent: Sendable, Codable, Equatable {
    public struct HTTP: Sendable, Codable, Equatable {
        public var method: String
        public var path: String
        public var `protocol`: String
        public var sourceIp: String
        public var userAgent: String

        public init(method: String, path: String, protocol: String, sourceIp: String, userAgent: String) {
            self.method = method
            self.path = path
            self.protocol = `protocol`
            self.sourceIp = sourceIp
            self.userAgent = userAgent
        }
    }

    public struct RequestContext: Sendable, Codable, Equatable {
        public var accountId: String
        public var apiId: String
        public var domainName: String
        public var domainPrefix: String
        public var http: HTTP
        public var requestId: String
        public var routeKey: String
        public var stage: String
        /// `12/Mar/2020:19:03:58 +0000`
        public var time: String
        /// Milliseconds since 1970.
        public var timeEpoch: Int64
        /// What the operation's authorizer allowed: `{principalId, lambda: {...}}` for callouts,
        /// `{principalId, jwt: {claims, scopes}}` for JWTs.
        public var authorizer: JSONValue?

        public init(accountId: String = "gateway", apiId: String = "gateway", domainName: String,
                    domainPrefix: String, http: HTTP, requestId: String, routeKey: String,
                    stage: String = "$default", time: String, timeEpoch: Int64, authorizer: JSONValue? = nil) {
            self.accountId = accountId
            self.apiId = apiId
            self.domainName = domainName
            self.domainPrefix = domainPrefix
            self.http = http
            self.requestId = requestId
            self.routeKey = routeKey
            self.stage = stage
            self.time = time
            self.timeEpoch = timeEpoch
            self.authorizer = authorizer
        }
    }

    public var version: String
    public var routeKey: String
    public var rawPath: String
    public var rawQueryString: String
    public var cookies: [String]?
    /// Lower-case names; repeated headers joined with commas.
    public var headers: [String: String]
    /// Decoded values; repeated parameters joined with commas.
    public var queryStringParameters: [String: String]?
    public var pathParameters: [String: String]?
    public var requestContext: RequestContext
    public var body: String?
    public var isBase64Encoded: Bool

    public init(routeKey: String, rawPath: String, rawQueryString: String, cookies: [String]?,
                headers: [String: String], queryStringParameters: [String: String]?,
                pathParameters: [String: String]?, requestContext: RequestContext, body: String?,
                isBase64Encoded: Bool) {
        self.version = "2.0"
        self.routeKey = routeKey
        self.rawPath = rawPath
        self.rawQueryString = rawQueryString
        self.cookies = cookies
        self.headers = headers
        self.queryStringParameters = queryStringParameters
        self.pathParameters = pathParameters
        self.requestContext = requestContext
        self.body = body
        self.isBase64Encoded = isBase64Encoded
    }

    /// The body's bytes, base64-decoded when `isBase64Encoded`.
    public var bodyBytes: [UInt8]? {
        guard let body else { return nil }
        if isBase64Encoded {
            return Base64.decode(body)
        }
        return Array(body.utf8)
    }
}

extension FunctionEvent {
    private enum CodingKeys: String, CodingKey {
        case version, routeKey, rawPath, rawQueryString, cookies, headers, queryStringParameters
        case pathParameters, requestContext, body, isBase64Encoded
    }

    /// Lenient decoding, so hand-written event files for `gateway invoke` need only the fields they use.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? "2.0"
        rawPath = try c.decodeIfPresent(String.self, forKey: .rawPath) ?? "/"
        routeKey = try c.decodeIfPresent(String.self, forKey: .routeKey) ?? "$default"
        rawQueryString = try c.decodeIfPresent(String.self, forKey: .rawQueryString) ?? ""
        cookies = try c.decodeIfPresent([String].self, forKey: .cookies)
        headers = try c.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
        queryStringParameters = try c.decodeIfPresent([String: String].self, forKey: .queryStringParameters)
        pathParameters = try c.decodeIfPresent([String: String].self, forKey: .pathParameters)
        body = try c.decodeIfPresent(String.self, forKey: .body)
        isBase64Encoded = try c.decodeIfPresent(Bool.self, forKey: .isBase64Encoded) ?? false
        let method = routeKey.split(separator: " ").first.map(String.init) ?? "GET"
        requestContext = try c.decodeIfPresent(RequestContext.self, forKey: .requestContext)
            ?? RequestContext(domainName: "localhost", domainPrefix: "localhost",
                              http: HTTP(method: method == "$default" ? "GET" : method, path: rawPath,
                                         protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "gateway-invoke"),
                              requestId: "invoke", routeKey: routeKey, time: "", timeEpoch: 0)
    }
}
