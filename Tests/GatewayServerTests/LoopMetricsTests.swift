@testable import GatewayServer
import NIOCore
import NIOHTTP1
import Testing

@Suite struct LoopMetricsTests {
    /// Each request counts in its own cell, whatever the order: runs of one cell, alternation,
    /// and new cells added in between (the table grows and moves its entries).
    @Test func everyRequestCountsInItsCellAcrossInsertions() {
        let metrics = LoopMetrics()
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/a")
        let contexts = (0..<3).map { _ in TestRuntime.context(head) }
        var expected: [String: Int] = [:]
        func record(_ route: Int, status: Int) {
            let request = contexts[route]
            request.status = status
            metrics.record(request, now: .now())
            expected["\(route) \(status)", default: 0] += 1
        }
        for _ in 0..<5 { record(0, status: 200) }
        for i in 0..<40 {
            record(i % 2, status: 200)
            record(2, status: 100 + i)  // a new cell each time
            record(0, status: 200)
        }
        #expect(metrics.snapshot().cells.reduce(0) { $0 + $1.count } == 5 + 40 * 3)
        #expect(metrics.cells.count == expected.count)
        for (key, cell) in metrics.cells {
            let route = contexts.firstIndex { ObjectIdentifier($0.route) == key.route }!
            #expect(cell.count == expected["\(route) \(key.status)"], "\(route) \(key.status)")
        }
    }
}
