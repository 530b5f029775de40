import GatewayPlan
import GatewayResilience
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// The active checks of one upstream: every `interval`, one probe per target, all from one event
/// loop; each verdict goes to the upstream's guard. A target whose previous probe is still out
/// is not probed again until it comes back.
final class HealthChecker: Sendable {
    private let task: RepeatedTask

    init(guard upstreamGuard: UpstreamGuard, check: ResilienceConfig.HealthCheck, tls: NIOSSLContext?, loop: any EventLoop) {
        let upstream = upstreamGuard.upstream
        let running = NIOLockedValueBox(Array(repeating: false, count: upstream.targets.count))
        task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: TimeAmount(check.interval)) { _ in
            for (index, target) in upstream.targets.enumerated() {
                let idle = running.withLockedValue { running in
                    defer { running[index] = true }
                    return !running[index]
                }
                guard idle else { continue }
                HealthProbe.run(target, upstream: upstream, check: check, tls: tls, on: loop).whenSuccess { verdict in
                    running.withLockedValue { $0[index] = false }
                    upstreamGuard.checked(index, passed: verdict.passed, reason: verdict.reason, now: .now())
                }
            }
        }
    }

    func stop() {
        task.cancel()
    }
}
