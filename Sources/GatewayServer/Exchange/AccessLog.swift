import GatewayCore
import Logging
import NIOCore

/// One log line per request (at `info`), with the same field names in text and JSON logs:
/// `requestId`, `method`, `route` (the operationId or `METHOD /template`, never a raw path),
/// `path` (normalised, without the query), `query` (credential values redacted), `status`,
/// `bytesIn`, `bytesOut`, `durationMs`, `upstreamMs` (the function or upstream's share), `target`,
/// `remoteIp`, `userAgent`, `keyId`, `principalId`, `proto`, and why it ended early when it did.
/// Never an API key, a bearer token or a cookie.
struct AccessLog: ExchangeObserver {
    let logger: Logger

    func exchangeEnded(_ request: RequestContext, local: LoopLocal?) {
        guard logger.logLevel <= .info else { return }
        let now = NIODeadline.now()
        var metadata: Logger.Metadata = [
            "requestId": "\(request.requestId)",
            "method": "\(request.head.method.rawValue)",
            "route": "\(request.route.label)",
            "path": "\(request.path)",
            "status": "\(request.status)",
            "bytesIn": "\(request.bytesIn)",
            "bytesOut": "\(request.bytesOut)",
            "durationMs": "\(Self.ms(now - request.start))",
            "target": "\(request.target)",
            "remoteIp": "\(request.remoteIP)",
            "proto": "\(request.protocolName)",
        ]
        if let query = request.query, !query.isEmpty {
            let keyName = request.operation?.apiKey.flatMap { $0.location == .query ? $0.name : nil }
            metadata["query"] = "\(QueryRedaction.redact(query, apiKeyName: keyName))"
        }
        if let start = request.dispatchStart, let end = request.dispatchAnswered { metadata["upstreamMs"] = "\(Self.ms(end - start))" }
        if let agent = request.head.headers.first(name: "user-agent") { metadata["userAgent"] = "\(agent)" }
        if let key = request.keyId { metadata["keyId"] = "\(key)" }
        if let trace = request.trace { metadata["traceId"] = "\(trace.traceId)" }
        if let principal = request.authorization?.eventValue["principalId"]?.stringValue { metadata["principalId"] = "\(principal)" }
        if let reason = request.abortReason { metadata["aborted"] = "\(reason)" }
        if request.retries > 0 { metadata["retries"] = "\(request.retries)" }
        logger.info("\(request.head.method.rawValue) \(request.path) \(request.status)", metadata: metadata)
    }

    /// Milliseconds with microsecond precision.
    static func ms(_ amount: TimeAmount) -> Double {
        Double(amount.nanoseconds / 1000) / 1000
    }
}

/// `logs.access: false`.
struct NoAccessLog: ExchangeObserver {
    func exchangeEnded(_ request: RequestContext, local: LoopLocal?) {}
}
