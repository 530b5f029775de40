import GatewayPolicies
@testable import GatewayServer
import Testing

@Suite struct RateLimitHeadersTests {
    func state(_ decision: RateLimiter.Decision) -> String? {
        let fields = RateLimitHeaders.make(plan: "gold", policy: "p", decision: decision)
        let pairs = fields.pairs
        #expect(pairs.first?.0 == "ratelimit-policy" && pairs.first?.1 == "p")
        // The field lines written into a head are the same fields, within the size reserved.
        let lines = [UInt8](unsafeUninitializedCapacity: fields.size) { out, count in
            var writer = HTTP1HeadWriter(UnsafeMutableRawBufferPointer(out))
            fields.put(into: &writer)
            #expect(!writer.overflowed)
            count = writer.count
        }
        #expect(String(decoding: lines, as: UTF8.self) == pairs.map { "\($0.0): \($0.1)\r\n" }.joined())
        return pairs.first { $0.0 == "ratelimit" }?.1
    }

    @Test func admittedRequestsShowWhatIsLeftOfTheBucketAndTheQuota() {
        #expect(state(.admitted(remaining: 41, resetSeconds: 0.2, quotaRemaining: 9_999_000, quotaResetSeconds: 86_399.5))
            == #""gold";r=41;t=1, "gold-quota";r=9999000;t=86400"#)
        #expect(state(.admitted(remaining: 0, resetSeconds: 0, quotaRemaining: nil, quotaResetSeconds: nil)) == #""gold";r=0;t=0"#)
        #expect(state(.admitted(remaining: nil, resetSeconds: nil, quotaRemaining: 7, quotaResetSeconds: 10)) == #""gold-quota";r=7;t=10"#)
    }

    @Test func refusedRequestsShowTheWait() {
        #expect(state(.throttled(retryAfter: 2.01)) == #""gold";r=0;t=3"#)
        #expect(state(.quotaExceeded(retryAfter: 3600)) == #""gold-quota";r=0;t=3600"#)
        #expect(state(.throttled(retryAfter: .infinity)) == "\"gold\";r=0;t=\(Int.max)")
        // The longest numbers both items can hold fit the space reserved for them.
        #expect(state(.admitted(remaining: .max, resetSeconds: .infinity, quotaRemaining: .max, quotaResetSeconds: .infinity))
            == "\"gold\";r=\(Int.max);t=\(Int.max), \"gold-quota\";r=\(Int.max);t=\(Int.max)")
    }
}

@Suite struct HTTP1HeadWriterTests {
    func written(_ space: Int, _ body: (inout HTTP1HeadWriter) -> Void) -> (text: String, overflowed: Bool) {
        var overflowed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: space) { out, count in
            var writer = HTTP1HeadWriter(UnsafeMutableRawBufferPointer(out))
            body(&writer)
            overflowed = writer.overflowed
            count = writer.count
        }
        return (String(decoding: bytes, as: UTF8.self), overflowed)
    }

    @Test func decimalsAreWrittenAsStringDescribesThem() {
        let values: [UInt] = [0, 1, 9, 10, 99, 100, 200, 404, 999_999, 1_000_000, 86_400, UInt(Int.max), .max]
        for value in values {
            #expect(written(24) { $0.put(decimal: value) } == (String(value), false))
            #expect(HTTP1HeadWriter.decimalSize(value) == String(value).count)
        }
        // After other bytes, and refused whole when the space is short.
        #expect(written(6) { $0.put("x="); $0.put(decimal: 1234) } == ("x=1234", false))
        let short = written(5) { $0.put("x="); $0.put(decimal: 1234); $0.put(decimal: 5) }
        #expect(short.text == "x=" && short.overflowed)
    }
}
