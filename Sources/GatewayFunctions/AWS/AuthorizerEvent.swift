import GatewayCore

/// The events an HTTP or function authorizer receives, in the shape of AWS's authorizer events.
/// (All of AWS's shapes live in this folder: function events and answers, authorizer events.)
public enum AuthorizerEvent {
    /// What the request authorizer event is made of.
    public struct Request: Sendable {
        public var routeKey: String
        public var methodArn: String
        public var rawPath: String
        public var rawQueryString: String
        public var cookies: [String]
        /// Lower-case names, repeats joined with commas.
        public var headers: [String: String]
        public var queryStringParameters: [String: String]
        public var pathParameters: [String: String]
        /// The same `requestContext` a function event carries.
        public var requestContext: JSONValue
        /// The values of the authorizer's identity sources, in order.
        public var identitySource: [String]

        public init(routeKey: String, methodArn: String, rawPath: String, rawQueryString: String, cookies: [String],
                    headers: [String: String], queryStringParameters: [String: String],
                    pathParameters: [String: String], requestContext: JSONValue, identitySource: [String]) {
            self.routeKey = routeKey
            self.methodArn = methodArn
            self.rawPath = rawPath
            self.rawQueryString = rawQueryString
            self.cookies = cookies
            self.headers = headers
            self.queryStringParameters = queryStringParameters
            self.pathParameters = pathParameters
            self.requestContext = requestContext
            self.identitySource = identitySource
        }
    }

    /// `{"type": "TOKEN", "authorizationToken": ..., "methodArn": ...}`
    public static func token(_ token: String, methodArn: String) -> JSONValue {
        .object(["type": "TOKEN", "authorizationToken": .string(token), "methodArn": .string(methodArn)])
    }

    /// The request authorizer event: HTTP API 2.0's fields plus REST's `methodArn`.
    public static func request(_ r: Request) -> JSONValue {
        func strings(_ d: [String: String]) -> JSONValue { .object(d.mapValues { .string($0) }) }
        return .object([
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": .string(r.methodArn),
            "methodArn": .string(r.methodArn),
            "identitySource": .array(r.identitySource.map { .string($0) }),
            "routeKey": .string(r.routeKey),
            "rawPath": .string(r.rawPath),
            "rawQueryString": .string(r.rawQueryString),
            "cookies": .array(r.cookies.map { .string($0) }),
            "headers": strings(r.headers),
            "queryStringParameters": strings(r.queryStringParameters),
            "pathParameters": strings(r.pathParameters),
            "requestContext": r.requestContext,
        ])
    }

    /// AWS's method ARN for a request: `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH`.
    /// The gateway uses region `gateway`, account `local`, the API document's name and stage
    /// `$default`, so policies written for AWS (`arn:aws:execute-api:*:*:*/*/GET/flights/*`) work.
    ///
    /// As a string for the authorizer's event (a cache miss); a cached policy is evaluated on the
    /// bytes of `withMethodArn` instead.
    public static func methodArn(api: String, method: String, path: Substring) -> String {
        withMethodArn(api: api, method: method, path: path) { String(decoding: $0, as: UTF8.self) }
    }

    /// The method ARN's bytes, made in scratch space (on the stack unless the path is long) for
    /// `body`: a cached policy is evaluated against them on every request without a string made.
    /// Inlinable: specialized where it is called (a generic call across the module made the
    /// scratch space's type at run time).
    @inlinable
    public static func withMethodArn<R>(api: String, method: String, path: Substring,
                                        _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var trimmed = path.utf8.first == UInt8(ascii: "/") ? path.dropFirst() : path
        let prefix: StaticString = "arn:aws:execute-api:gateway:local:", stage: StaticString = "/$default/"
        var api = api, method = method
        let count = prefix.utf8CodeUnitCount + api.utf8.count + stage.utf8CodeUnitCount + method.utf8.count + 1 + trimmed.utf8.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { out in
            var at = 0
            func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
                UnsafeMutableRawPointer(out.baseAddress! + at).copyMemory(from: base, byteCount: bytes.count)
                at += bytes.count
            }
            put(UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
            api.withUTF8(put)
            put(UnsafeBufferPointer(start: stage.utf8Start, count: stage.utf8CodeUnitCount))
            method.withUTF8(put)
            out[at] = UInt8(ascii: "/")
            at += 1
            trimmed.withUTF8(put)
            return body(UnsafeBufferPointer(start: out.baseAddress, count: at))
        }
    }
}
