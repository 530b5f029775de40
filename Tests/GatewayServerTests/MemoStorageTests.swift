@testable import GatewayServer
import Testing

@Suite struct MemoStorageTests {
    /// Nothing is allocated until asked for; growing keeps the elements asked to be kept, doubles
    /// (from eight) and never goes past the limit.
    @Test func growsToWhatItHoldsKeepingItsElementsUpToItsLimit() {
        var storage = MemoStorage<Int>()
        defer { storage.deallocate() }
        #expect(storage.base == nil && storage.capacity == 0)
        storage.reserve(0, keeping: 0, limit: 20)
        #expect(storage.base == nil)
        storage.reserve(3, keeping: 0, limit: 20)
        #expect(storage.capacity == 8)
        for i in 0..<8 { (storage.base! + i).initialize(to: i * 10) }
        storage.reserve(8, keeping: 8, limit: 20)
        #expect(storage.capacity == 8)
        storage.reserve(9, keeping: 8, limit: 20)
        #expect(storage.capacity == 16)
        #expect((0..<8).map { storage.base![$0] } == [0, 10, 20, 30, 40, 50, 60, 70])
        storage.reserve(17, keeping: 5, limit: 20)
        #expect(storage.capacity == 20)
        #expect((0..<5).map { storage.base![$0] } == [0, 10, 20, 30, 40])
    }
}
