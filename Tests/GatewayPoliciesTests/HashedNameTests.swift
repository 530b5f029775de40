import GatewayCore
import GatewayPolicies
import Testing

@Suite struct HashedNameTests {
    @Test func namesMadeApartFromEqualStringsAreOneKey() {
        let route = "GET /flights/{flightId}"
        var table: [HashedName: Int] = [HashedName(route): 1]
        // Made elsewhere from another copy of the text (as a key id read from the store again).
        let again = HashedName(String(route.utf8.map { Character(UnicodeScalar($0)) }))
        #expect(again == HashedName(route))
        #expect(table[again] == 1)
        #expect(table[HashedName("GET /flights/{flightid}")] == nil)
        table[again] = 2
        #expect(table.count == 1)
        #expect(HashedName("a") != HashedName("b"))
    }

    @Test func aKeyEntryNamesItsKeyAndPlan() {
        let record = KeyRecord(id: "key-1", name: nil, plan: "gold", digest: APIKey.digest(APIKey.generate()), createdAt: 0)
        let entry = KeyEntry(record)
        #expect(entry.id == HashedName("key-1"))
        #expect(entry.plan == HashedName("gold"))
        #expect(entry.record == record)
    }
}
