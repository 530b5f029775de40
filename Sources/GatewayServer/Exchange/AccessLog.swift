import Logging
import NIOCore

/// One log line per request (at `info`): method, path, status, time taken, request id, target,
/// and why it ended early when it did.
struct AccessLog: ExchangeObserver {
    let logger: Logger

    func exchangeEnded(_ request: RequestContext) {
        guard logger.logLevel <= .info else { return }
        let micros = (NIODeadline.now() - request.start).nanoseconds / 1000
        var metadata: Logger.Metadata = [
            "request_id": "\(request.requestId)",
            "ms": "\(Double(micros) / 1000)",
            "target": "\(request.target)",
            "client": "\(request.remoteIP)",
            "proto": "\(request.protocolName)",
            "route": "\(request.route.label)",
        ]
        if let reason = request.abortReason { metadata["aborted"] = "\(reason)" }
        if request.retries > 0 { metadata["retries"] = "\(request.retries)" }
        logger.info("\(request.head.method.rawValue) \(request.path) \(request.status)", metadata: metadata)
    }
}
