import GatewayCore
import GatewayFunctions
import NIOCore

/// Payload format 1.0: API Gateway's REST API proxy event, for process functions configured with
/// `payloadFormat: "1.0"`. Built from the 2.0 event (one event builder: the same header
/// filtering, query decoding, path parameters, body encoding and authorizer verdict), plus what
/// 1.0 keeps that 2.0 folds: repeated headers and query parameters as lists, header names as sent.
enum RESTEventBuilder {
    static func event(for request: RequestContext, v2 event: FunctionEvent) -> JSONValue {
        var headers: [String: JSONValue] = [:]
        var multiHeaders: [String: [JSONValue]] = [:]
        var seen: [String: String] = [:]
        let keyHeader = request.operation?.apiKey.flatMap { $0.location == .header ? $0.name : nil }
        for (name, value) in request.head.headers {
            let lower = name.lowercased()
            if lower == keyHeader || Authorization.hasPrefix(lower) || HeaderRules.isHopByHop(lower) { continue }
            let key = seen[lower] ?? name
            seen[lower] = key
            headers[key] = .string(value)
            multiHeaders[key, default: []].append(.string(value))
        }
        if let id = request.keyId {
            headers["x-api-key-id"] = .string(id)
            multiHeaders["x-api-key-id"] = [.string(id)]
        }

        var query: [String: JSONValue] = [:]
        var multiQuery: [String: [JSONValue]] = [:]
        if let raw = request.query, !raw.isEmpty {
            for pair in raw.split(separator: "&") {
                let eq = pair.firstIndex(of: "=")
                let k = eq.map { pair[..<$0] } ?? pair
                let v = eq.map { pair[pair.index(after: $0)...] } ?? ""
                guard let key = FunctionEventBuilder.formDecoded(k), let value = FunctionEventBuilder.formDecoded(v) else { continue }
                query[key] = .string(value)
                multiQuery[key, default: []].append(.string(value))
            }
        }

        let context = event.requestContext
        var requestContext: [String: JSONValue] = [
            "accountId": .string(context.accountId), "apiId": .string(context.apiId),
            "domainName": .string(context.domainName), "domainPrefix": .string(context.domainPrefix),
            "extendedRequestId": .string(context.requestId), "httpMethod": .string(context.http.method),
            "identity": .object(["sourceIp": .string(context.http.sourceIp), "userAgent": .string(context.http.userAgent)]),
            "path": .string(event.rawPath), "protocol": .string(context.http.protocol),
            "requestId": .string(context.requestId), "requestTime": .string(context.time),
            "requestTimeEpoch": .int(context.timeEpoch),
            "resourceId": .string(request.operation?.operationId ?? "default"),
            "resourcePath": .string(request.operation?.path ?? event.rawPath), "stage": .string(context.stage),
        ]
        if let authorizer = context.authorizer { requestContext["authorizer"] = restAuthorizer(authorizer) }

        let out: [String: JSONValue] = [
            "version": "1.0",
            "resource": .string(request.operation?.path ?? event.rawPath),
            "path": .string(event.rawPath),
            "httpMethod": .string(context.http.method),
            "headers": .object(headers),
            "multiValueHeaders": .object(multiHeaders.mapValues { .array($0) }),
            "queryStringParameters": query.isEmpty ? .null : .object(query),
            "multiValueQueryStringParameters": multiQuery.isEmpty ? .null : .object(multiQuery.mapValues { .array($0) }),
            "pathParameters": event.pathParameters.map { .object($0.mapValues { .string($0) }) } ?? .null,
            "stageVariables": .null,
            "requestContext": .object(requestContext),
            "body": event.body.map { .string($0) } ?? .null,
            "isBase64Encoded": .bool(event.isBase64Encoded),
        ]
        return .object(out)
    }

    /// REST API's `requestContext.authorizer`: a Lambda authorizer's context flattened beside
    /// `principalId`; a JWT's claims under `claims` (as a Cognito authorizer gives them).
    static func restAuthorizer(_ v2: JSONValue) -> JSONValue {
        guard case .object(let o) = v2 else { return v2 }
        var out: [String: JSONValue] = [:]
        if let principal = o["principalId"] { out["principalId"] = principal }
        if let lambda = o["lambda"]?.objectValue {
            for (k, v) in lambda { out[k] = v }
        }
        if let jwt = o["jwt"]?.objectValue {
            if let claims = jwt["claims"] { out["claims"] = claims }
            if let scopes = jwt["scopes"] { out["scopes"] = scopes }
        }
        return .object(out)
    }
}
