/// A response the gateway itself makes, in the error contract's JSON shape:
/// `{"message": ..., "errors": [...]}` with AWS API Gateway's wording.
public struct GatewayError: Error, Sendable, Equatable {
    public struct FieldError: Sendable, Equatable {
        public var location: String
        public var name: String?
        public var pointer: String?
        public var message: String

        public init(in location: String, name: String? = nil, pointer: String? = nil, message: String) {
            self.location = location
            self.name = name
            self.pointer = pointer
            self.message = message
        }
    }

    public var status: Int
    public var message: String
    public var errors: [FieldError]
    /// Extra response headers, e.g. `Allow` or `Retry-After`.
    public var headers: [(String, String)]

    public init(status: Int, message: String, errors: [FieldError] = [], headers: [(String, String)] = []) {
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers
    }

    public static func == (lhs: GatewayError, rhs: GatewayError) -> Bool {
        lhs.status == rhs.status && lhs.message == rhs.message && lhs.errors == rhs.errors
            && lhs.headers.map { "\($0.0):\($0.1)" } == rhs.headers.map { "\($0.0):\($0.1)" }
    }

    public var body: JSONValue {
        var object: [String: JSONValue] = ["message": .string(message)]
        if !errors.isEmpty {
            object["errors"] = .array(errors.map { e in
                var o: [String: JSONValue] = ["in": .string(e.location), "message": .string(e.message)]
                if let name = e.name { o["name"] = .string(name) }
                if let pointer = e.pointer { o["pointer"] = .string(pointer) }
                return .object(o)
            })
        }
        return .object(object)
    }

    public static let badRequest = GatewayError(status: 400, message: "Bad Request")
    public static let unauthorized = GatewayError(status: 401, message: "Unauthorized")
    public static let forbidden = GatewayError(status: 403, message: "Forbidden")
    public static let notFound = GatewayError(status: 404, message: "Not Found")
    public static let payloadTooLarge = GatewayError(status: 413, message: "Request Entity Too Large")
    public static let unsupportedMediaType = GatewayError(status: 415, message: "Unsupported Media Type")
    public static let tooManyRequests = GatewayError(status: 429, message: "Too Many Requests")
    public static let internalServerError = GatewayError(status: 500, message: "Internal server error")
    public static let badGateway = GatewayError(status: 502, message: "Bad Gateway")
    public static let serviceUnavailable = GatewayError(status: 503, message: "Service Unavailable")
    public static let gatewayTimeout = GatewayError(status: 504, message: "Endpoint request timed out")

    public static func methodNotAllowed(allow: [String]) -> GatewayError {
        GatewayError(status: 405, message: "Method Not Allowed", headers: [("allow", allow.joined(separator: ", "))])
    }
}
