import Logging
import NIOCore

/// One log line per request: method, path, status, time taken, request id, target.
enum AccessLog {
    static func log(_ request: RequestContext, logger: Logger) {
        guard logger.logLevel <= .info else { return }
        let micros = (NIODeadline.now() - request.start).nanoseconds / 1000
        logger.info("\(request.head.method.rawValue) \(request.path) \(request.status)", metadata: [
            "request_id": "\(request.requestId)",
            "ms": "\(Double(micros) / 1000)",
            "target": "\(request.target)",
            "client": "\(request.remoteIP)",
            "proto": "\(request.protocolName)",
        ])
    }
}
