import GatewayPlan
import GatewayResilience
import NIOCore
import NIOHTTP1
import NIOSSL

/// One active health check of one target: a fresh connection (TLS for `https://` targets), one
/// `GET path` with `User-Agent: gateway-health-check`, and a verdict from the answer's status —
/// or a failure when the connection cannot be opened, breaks, or no answer comes within the
/// check's timeout. Runs on one event loop; the connection is closed afterwards.
final class HealthProbe: UpstreamDelegate {
    struct Verdict: Sendable {
        var passed: Bool
        var reason: String
    }

    private let promise: EventLoopPromise<Verdict>
    private let expect: ClosedRange<Int>
    private var connection: UpstreamHandler?
    private var timer: Scheduled<Void>?
    private var done = false
    /// The probe holds itself until it is done (the connection's delegate reference is weak).
    private var retained: HealthProbe?

    private init(promise: EventLoopPromise<Verdict>, expect: ClosedRange<Int>) {
        self.promise = promise
        self.expect = expect
    }

    static func run(_ target: Upstream.Target, upstream: Upstream, check: ResilienceConfig.HealthCheck,
                    tls: NIOSSLContext?, on loop: any EventLoop) -> EventLoopFuture<Verdict> {
        let probe = HealthProbe(promise: loop.makePromise(), expect: check.expectStatus)
        probe.retained = probe
        probe.timer = loop.assumeIsolated().scheduleTask(in: TimeAmount(check.timeout)) {
            probe.finish(passed: false, reason: "no answer within \(check.timeout)")
        }
        var path = target.basePath + check.path
        if !path.hasPrefix("/") { path = "/" + path }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: [
            "host": target.authority, "user-agent": "gateway-health-check", "connection": "close",
        ])
        UpstreamConnector.connect(to: target, upstream: upstream, tls: target.tls ? tls : nil, on: loop)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard !probe.done, let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                        channel.close(promise: nil)
                        return
                    }
                    probe.connection = handler
                    handler.delegate = probe
                    handler.send(.head(head))
                    handler.send(.end(nil))
                    handler.flush()
                case .failure(let error):
                    probe.finish(passed: false, reason: "connect failed: \(error)")
                }
            }
        return probe.promise.futureResult
    }

    private func finish(passed: Bool, reason: String) {
        guard !done else { return }
        done = true
        timer?.cancel()
        timer = nil
        connection?.delegate = nil
        connection?.close()
        connection = nil
        retained = nil
        promise.succeed(Verdict(passed: passed, reason: reason))
    }

    // MARK: UpstreamDelegate

    var downstreamIsWritable: Bool { true }

    func upstreamResponse(_ part: UpstreamResponsePart) {
        guard case .head(let head) = part, head.status.code >= 200 else { return }
        let code = Int(head.status.code)
        finish(passed: expect.contains(code), reason: "status \(code)")
    }

    func upstreamReadComplete() {}
    func upstreamWritabilityChanged(isWritable: Bool) {}
    /// The probe keeps its own timeout; it never asks the connection to watch one.
    func upstreamDeadlinePassed() {}

    func upstreamClosed(error: (any Error)?) {
        finish(passed: false, reason: "connection closed before an answer\(error.map { ": \($0)" } ?? "")")
    }
}
