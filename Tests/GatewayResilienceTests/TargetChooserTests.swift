@testable import GatewayResilience
import Testing

@Suite struct TargetChooserTests {
    func pick(_ count: Int, available: UInt64, tried: UInt64 = 0, balance: ResilienceConfig.Balance = .roundRobin,
              cursor: inout Int, inFlight: [Int] = [], random: @escaping (Int) -> Int = { _ in 0 }) -> TargetChooser.Choice {
        TargetChooser.choose(count: count, available: available, tried: tried, balance: balance, cursor: &cursor,
                             inFlight: { inFlight.isEmpty ? 0 : inFlight[$0] }, random: random)
    }

    @Test func roundRobinSkipsUnavailableTargets() {
        var cursor = 0
        let picks = (0..<6).map { _ in pick(3, available: 0b101, cursor: &cursor).index }
        #expect(picks == [0, 2, 0, 2, 0, 2])
    }

    @Test func aRetryGoesToAnotherTargetWhenThereIsOne() {
        var cursor = 0
        #expect(pick(3, available: 0b111, tried: 0b001, cursor: &cursor).index == 1)
        cursor = 0
        let onlyOne = pick(2, available: 0b01, tried: 0b01, cursor: &cursor)
        #expect(onlyOne.index == 0 && !onlyOne.panic, "tried again when it is the only available one")
    }

    @Test func withNoneAvailableAllAreTriedInPanicMode() {
        var cursor = 0
        let picks = (0..<4).map { _ in pick(2, available: 0, cursor: &cursor) }
        #expect(picks.map(\.index) == [0, 1, 0, 1])
        #expect(picks.allSatisfy { $0.panic })
        cursor = 0
        #expect(pick(2, available: 0, tried: 0b01, cursor: &cursor).index == 1, "untried first in panic too")
    }

    @Test func leastRequestTakesTheLessLoadedOfTwo() {
        var cursor = 0
        var draws = [0, 1].makeIterator()
        let choice = pick(3, available: 0b111, balance: .leastRequest, cursor: &cursor, inFlight: [9, 2, 0],
                          random: { _ in draws.next() ?? 0 })
        // Candidates 0 and 2 (the second draw skips the first): 2 has fewer in flight.
        #expect(choice.index == 2)
        var single = 0
        #expect(pick(3, available: 0b010, balance: .leastRequest, cursor: &single, inFlight: [0, 50, 0]).index == 1)
    }

    @Test func nthSetBit() {
        #expect(TargetChooser.nth(0b10110, 0) == 1)
        #expect(TargetChooser.nth(0b10110, 1) == 2)
        #expect(TargetChooser.nth(0b10110, 2) == 4)
    }
}
