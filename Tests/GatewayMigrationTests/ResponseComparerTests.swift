@testable import GatewayMigration
import Testing

@Suite struct ResponseComparerTests {
    func json(_ text: String, status: Int = 200, headers: [(String, String)] = []) -> ResponseComparer.Response {
        ResponseComparer.Response(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }

    let comparer = ResponseComparer(headers: ["content-type"], ignore: [])

    @Test func jsonIsComparedByStructureNotBytes() {
        let a = json(#"{"id": 7, "price": 1.0, "tags": ["a", "b"]}"#)
        let b = json(#"{"tags":["a","b"],"price":1,"id":7}"#)
        #expect(comparer.compare(a, b).isEmpty, "key order and number spelling are not differences")
    }

    @Test func differencesNameTheirPointers() {
        let a = json(#"{"id": 7, "items": [{"price": 10, "etag": "x"}, {"price": 20}], "old": true}"#)
        let b = json(#"{"id": 7, "items": [{"price": 10, "etag": "y"}, {"price": 21}], "new": 1}"#, status: 201)
        let diffs = comparer.compare(a, b)
        #expect(diffs.map(\.pointer) == ["status", "/items/0/etag", "/items/1/price", "/new", "/old"])
        #expect(diffs.first { $0.pointer == "/items/1/price" } == .init(pointer: "/items/1/price", legacy: "20", candidate: "21"))
        #expect(diffs.first { $0.pointer == "/old" }?.candidate == "(absent)")
    }

    @Test func ignoredPointersWithWildcardsAndHeaders() {
        let ignoring = ResponseComparer(headers: ["content-type", "etag"],
                                        ignore: ["/updatedAt", "/items/*/etag", "header.etag"].compactMap(PointerPattern.init))
        let a = json(#"{"updatedAt": 1, "items": [{"etag": "x", "n": 1}]}"#, headers: [("ETag", "1")])
        let b = json(#"{"updatedAt": 2, "items": [{"etag": "y", "n": 1}]}"#, headers: [("ETag", "2")])
        #expect(ignoring.compare(a, b).isEmpty)
        let c = json(#"{"updatedAt": 2, "items": [{"etag": "y", "n": 2}]}"#)
        #expect(ignoring.compare(a, c).map(\.pointer) == ["/items/0/n"])
    }

    @Test func listedHeadersAreComparedAndNaturalOnesNever() {
        let withDate = ResponseComparer(headers: ["content-type", "date", "cache-control"], ignore: [])
        let a = json("{}", headers: [("Date", "Mon"), ("Cache-Control", "no-store")])
        let b = ResponseComparer.Response(status: 200, headers: [("content-type", "text/plain"), ("date", "Tue")], body: Array("{}".utf8))
        let pointers = withDate.compare(a, b).map(\.pointer)
        #expect(pointers.contains("header.content-type"))
        #expect(pointers.contains("header.cache-control"))
        #expect(!pointers.contains("header.date"))
    }

    @Test func otherBodiesByBytesAndLongValuesAreCut() {
        let a = ResponseComparer.Response(status: 200, headers: [("content-type", "text/plain")], body: Array(String(repeating: "a", count: 300).utf8))
        let b = ResponseComparer.Response(status: 200, headers: [("content-type", "text/plain")], body: Array("b".utf8))
        let diffs = comparer.compare(a, b)
        #expect(diffs.count == 1)
        #expect(diffs[0].pointer == "")
        #expect(diffs[0].legacy.count == 201, "200 characters and an ellipsis")
        #expect(comparer.compare(a, a).isEmpty)
    }

    @Test func reportGroupsByPointerAndLearnsNoise() {
        var report = MismatchReport()
        let d = ResponseComparer.Difference(pointer: "/items/3/price", legacy: "1", candidate: "2")
        let e = ResponseComparer.Difference(pointer: "/items/7/price", legacy: "1", candidate: "2")
        report.record(.init(method: "GET", path: "/orders/1", requestId: "r1", time: 0, differences: [d, e]))
        report.record(.init(method: "GET", path: "/orders/2", requestId: "r2", time: 0, differences: []))
        for i in 0..<150 { report.record(.init(method: "GET", path: "/o/\(i)", requestId: "x\(i)", time: Int64(i), differences: [d])) }
        #expect(report.compared == 152)
        #expect(report.mismatched == 151)
        #expect(report.byPointer == ["/items/*/price": 151], "one request counts once per grouped pointer")
        #expect(report.samples.count == 100)
        #expect(report.samples.last?.requestId == "x149")
        #expect(report.learnNoise([ResponseComparer.Difference(pointer: "/meta/requestTime", legacy: "1", candidate: "2")]) == ["/meta/requestTime"])
        #expect(report.learnNoise([ResponseComparer.Difference(pointer: "/meta/requestTime", legacy: "1", candidate: "3")]).isEmpty)
        // Learned noise is ignored by the next comparisons.
        let a = ResponseComparer.Response(status: 200, headers: [("content-type", "application/json")], body: Array(#"{"meta":{"requestTime":1}}"#.utf8))
        let b = ResponseComparer.Response(status: 200, headers: [("content-type", "application/json")], body: Array(#"{"meta":{"requestTime":2}}"#.utf8))
        #expect(comparer.compare(a, b, noise: report.noisePatterns).isEmpty)
    }

    @Test func pointerPatterns() {
        #expect(PointerPattern("/a~1b/*")?.covers(["a/b", "0"]) == true)
        #expect(PointerPattern("/items")?.covers(["items", "3", "price"]) == true, "an ancestor covers its subtree")
        #expect(PointerPattern("/items/*/price")?.covers(["items", "3"]) == false)
        #expect(PointerPattern("items") == nil)
        #expect(PointerPattern("header.") == nil)
        #expect(PointerPattern.grouped("/items/12/price") == "/items/*/price")
        #expect(PointerPattern.pointer(["a/b", "~"]) == "/a~1b/~0")
    }
}
