@testable import GatewayResilience
import Testing

@Suite struct UpstreamLimitsTests {
    @Test func eachLimitRefusesAtItsValueAndFreesOnEnd() {
        var config = ResilienceConfig.Limits()
        config.maxRequests = 2
        config.maxConnections = 1
        config.maxPending = 0
        let limits = UpstreamLimits(config)
        #expect(limits.startRequest())
        #expect(limits.startRequest())
        #expect(!limits.startRequest())
        #expect(limits.inFlight == 2, "a refusal counts nothing")
        limits.endRequest()
        #expect(limits.startRequest())
        #expect(limits.openConnection())
        #expect(!limits.openConnection())
        limits.connectionClosed()
        #expect(limits.openConnection())
        #expect(!limits.startWaiting(), "maxPending 0: nobody waits")
    }
}
