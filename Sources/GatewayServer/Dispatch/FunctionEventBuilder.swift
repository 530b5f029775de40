import GatewayAuthorizers
import GatewayCore
import GatewayFunctions
import GatewayPlan
import NIOCore
import NIOHTTP1

/// Builds the HTTP API 2.0 event for a function from the request, and turns the function's
/// response into HTTP.
enum FunctionEventBuilder {
    static func event(for request: RequestContext, body: ByteBuffer?) -> FunctionEvent {
        var headers: [String: String] = [:]
        var cookies: [String] = []
        let keyHeader = request.operation?.apiKey.flatMap { $0.location == .header ? $0.name : nil }
        for (name, value) in request.head.headers {
            let lower = name.lowercased()
            // Hop-by-hop fields (Connection, Transfer-Encoding, …) describe the client's
            // connection, not the request: the function gets the body whole.
            if lower == keyHeader || lower == "x-api-key-id" || Authorization.hasPrefix(lower) || HeaderRules.isHopByHop(lower) { continue }
            if lower == "cookie" {
                for c in value.split(separator: ";") {
                    let t = c.trimmingSpaces()
                    if !t.isEmpty { cookies.append(t) }
                }
                continue
            }
            if let existing = headers[lower] {
                headers[lower] = existing + "," + value
            } else {
                headers[lower] = value
            }
        }

        var query: [String: String] = [:]
        if let raw = request.query, !raw.isEmpty {
            for pair in raw.split(separator: "&") {
                let (k, v) = splitPair(pair)
                guard let key = formDecoded(k), let value = formDecoded(v) else { continue }
                if let existing = query[key] { query[key] = existing + "," + value } else { query[key] = value }
            }
        }

        var pathParameters: [String: String] = [:]
        for (name, value) in request.pathParameters {
            pathParameters[name] = PathTemplate.percentDecoded(value) ?? value
        }

        let host = request.head.headers.first(name: "host") ?? "localhost"
        let domain = host.split(separator: ":").first.map(String.init) ?? host
        let routeKey = request.operation?.routeKey ?? "$default"

        var bodyText: String?
        var base64 = false
        if let body, body.readableBytes > 0 {
            let contentType = headers["content-type"]?.lowercased() ?? ""
            if isText(contentType), let text = body.getString(at: body.readerIndex, length: body.readableBytes),
               text.utf8.count == body.readableBytes {
                bodyText = text
            } else {
                bodyText = Base64.encode(body.readableBytesView)
                base64 = true
            }
        }

        let context = FunctionEvent.RequestContext(
            domainName: domain,
            domainPrefix: domain.split(separator: ".").first.map(String.init) ?? domain,
            http: .init(method: request.head.method.rawValue, path: String(request.path),
                        protocol: request.protocolName, sourceIp: request.remoteIP,
                        userAgent: request.head.headers.first(name: "user-agent") ?? ""),
            requestId: request.requestId, routeKey: routeKey,
            time: WallClock.awsTime(milliseconds: request.startWallClock), timeEpoch: request.startWallClock,
            authorizer: request.authorization?.eventValue)

        if let id = request.keyId { headers["x-api-key-id"] = id }
        if let trace = request.trace { headers["traceparent"] = trace.traceparent }
        return FunctionEvent(
            routeKey: routeKey, rawPath: String(request.path), rawQueryString: String(request.query ?? ""),
            cookies: cookies.isEmpty ? nil : cookies, headers: headers,
            queryStringParameters: query.isEmpty ? nil : query,
            pathParameters: pathParameters.isEmpty ? nil : pathParameters,
            requestContext: context, body: bodyText, isBase64Encoded: base64)
    }

    static func isText(_ contentType: String) -> Bool {
        contentType.isEmpty || contentType.hasPrefix("text/") || contentType.hasPrefix("application/json")
            || contentType.contains("+json") || contentType.hasPrefix("application/xml") || contentType.contains("+xml")
            || contentType.hasPrefix("application/x-www-form-urlencoded") || contentType.hasPrefix("application/javascript")
    }

    private static func splitPair(_ pair: Substring) -> (Substring, Substring) {
        if let eq = pair.firstIndex(of: "=") {
            return (pair[..<eq], pair[pair.index(after: eq)...])
        }
        return (pair, "")
    }

    /// Percent-decoding with `+` as space (form encoding, as query strings use it).
    static func formDecoded(_ text: Substring) -> String? {
        PercentDecoding.decode(text, plusAsSpace: true)
    }

    /// The HTTP response for a function's answer. Nil when the answer is malformed: a bad base64 body, a header name that is not a token, or a
    /// header or cookie value with CR, LF or NUL (the data plane relies on this check instead of
    /// NIO's outbound header validation, so a function can never split a response).
    static func response(_ response: FunctionResponse, version: HTTPVersion) -> (HTTPResponseHead, ByteBuffer)? {
        guard let bytes = response.bodyBytes else { return nil }
        var headers = HTTPHeaders()
        let multi = response.multiValueHeaders ?? [:]
        let multiNames = Set(multi.keys.map { $0.lowercased() })
        for (name, value) in response.headers ?? [:] where !multiNames.contains(name.lowercased()) {
            let lower = name.lowercased()
            guard Forwarding.isToken(lower), HeaderRules.isSafeValue(value) else { return nil }
            if HeaderRules.isHopByHop(lower) || lower == "content-length" { continue }
            headers.add(name: lower, value: value)
        }
        for (name, values) in multi {
            let lower = name.lowercased()
            guard Forwarding.isToken(lower), values.allSatisfy(HeaderRules.isSafeValue) else { return nil }
            if HeaderRules.isHopByHop(lower) || lower == "content-length" { continue }
            for value in values { headers.add(name: lower, value: value) }
        }
        for cookie in response.cookies ?? [] {
            guard HeaderRules.isSafeValue(cookie) else { return nil }
            headers.add(name: "set-cookie", value: cookie)
        }
        headers.add(name: "content-length", value: String(bytes.count))
        let head = HTTPResponseHead(version: version, status: .init(statusCode: response.statusCode), headers: headers)
        return (head, ByteBuffer(bytes: bytes))
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
