import GatewayCore

extension FunctionEvent {
    /// The event as JSON, the way AWS sends it to a Lambda function (optional fields absent
    /// when nil): what worker processes receive.
    public var jsonValue: JSONValue {
        func strings(_ d: [String: String]) -> JSONValue { .object(d.mapValues { .string($0) }) }
        let http: [String: JSONValue] = [
            "method": .string(requestContext.http.method), "path": .string(requestContext.http.path),
            "protocol": .string(requestContext.http.protocol), "sourceIp": .string(requestContext.http.sourceIp),
            "userAgent": .string(requestContext.http.userAgent),
        ]
        var context: [String: JSONValue] = [
            "accountId": .string(requestContext.accountId), "apiId": .string(requestContext.apiId),
            "domainName": .string(requestContext.domainName), "domainPrefix": .string(requestContext.domainPrefix),
            "http": .object(http), "requestId": .string(requestContext.requestId),
            "routeKey": .string(requestContext.routeKey), "stage": .string(requestContext.stage),
            "time": .string(requestContext.time), "timeEpoch": .int(requestContext.timeEpoch),
        ]
        if let authorizer = requestContext.authorizer { context["authorizer"] = authorizer }
        var event: [String: JSONValue] = [
            "version": .string(version), "routeKey": .string(routeKey), "rawPath": .string(rawPath),
            "rawQueryString": .string(rawQueryString), "headers": strings(headers),
            "requestContext": .object(context), "isBase64Encoded": .bool(isBase64Encoded),
        ]
        if let cookies { event["cookies"] = .array(cookies.map { .string($0) }) }
        if let q = queryStringParameters { event["queryStringParameters"] = strings(q) }
        if let p = pathParameters { event["pathParameters"] = strings(p) }
        if let body { event["body"] = .string(body) }
        return .object(event)
    }
}
