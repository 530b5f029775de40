import GatewayCore

/// A function's answer in payload format 2.0's response shape.
public struct FunctionResponse: Sendable, Codable, Equatable {
    public var statusCode: Int
    public var headers: [String: String]?
    /// Payload 1.0's repeated headers (every value sent).
    public var multiValueHeaders: [String: [String]]?
    public var cookies: [String]?
    public var body: String?
    public var isBase64Encoded: Bool?

    public init(statusCode: Int, headers: [String: String]? = nil, cookies: [String]? = nil,
                body: String? = nil, isBase64Encoded: Bool? = nil) {
        self.statusCode = statusCode
        self.headers = headers
        self.cookies = cookies
        self.body = body
        self.isBase64Encoded = isBase64Encoded
    }

    /// A JSON response with `content-type: application/json`.
    public static func json(_ value: JSONValue, status: Int = 200, headers: [String: String] = [:]) -> FunctionResponse {
        var h = headers
        h["content-type"] = "application/json"
        return FunctionResponse(statusCode: status, headers: h, body: value.jsonString)
    }

    /// Applies payload format 2.0's rule to a function's raw output: an object with `statusCode`
    /// is a response; anything else is a 200 JSON body holding the output.
    public init(interpreting output: JSONValue) {
        if case .object(let o) = output, let status = o["statusCode"], let code = status.doubleValue {
            var headers: [String: String]?
            if let h = o["headers"]?.objectValue {
                headers = h.compactMapValues { v in
                    switch v {
                    case .string(let s): return s
                    case .int, .double, .bool: return v.jsonString
                    default: return nil
                    }
                }
            }
            let cookies = o["cookies"]?.arrayValue?.compactMap(\.stringValue)
            var body: String?
            switch o["body"] {
            case .string(let s)?: body = s
            case nil, .null?: body = nil
            case let other?: body = other.jsonString
            }
            self.init(statusCode: Int(code), headers: headers, cookies: cookies, body: body,
                      isBase64Encoded: o["isBase64Encoded"]?.boolValue)
        } else {
            self = .json(output)
        }
    }

    /// Payload format 1.0's response (REST API proxy integration): `statusCode` is required;
    /// `headers` and `multiValueHeaders` are both honoured. Nil when the output is not such a response.
    public init?(interpretingV1 output: JSONValue) {
        guard case .object(let o) = output, let code = o["statusCode"]?.doubleValue ?? o["statusCode"]?.stringValue.flatMap(Double.init),
              code >= 100, code <= 599 else { return nil }
        var response = FunctionResponse(interpreting: .object(o.merging(["statusCode": .int(Int64(code))]) { $1 }))
        if let m = o["multiValueHeaders"]?.objectValue {
            var multi: [String: [String]] = [:]
            for (name, values) in m {
                multi[name] = (values.arrayValue ?? [values]).compactMap { v in
                    switch v {
                    case .string(let s): return s
                    case .int, .double, .bool: return v.jsonString
                    default: return nil
                    }
                }
            }
            response.multiValueHeaders = multi
        }
        self = response
    }

    /// The body's bytes, base64-decoded when `isBase64Encoded`; nil if the base64 is malformed.
    public var bodyBytes: [UInt8]? {
        guard let body else { return [] }
        if isBase64Encoded == true { return Base64.decode(body) }
        return Array(body.utf8)
    }
}
