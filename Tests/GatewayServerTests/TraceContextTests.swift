@testable import GatewayServer
import Testing

@Suite struct TraceContextTests {
    @Test func aValidTraceparentIsContinuedWithANewSpan() {
        var generator = RequestIDGenerator(seed: 7)
        let t = TraceContext.make(incoming: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", requestId: nil, generator: &generator)
        #expect(t.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(t.parentId == "00f067aa0ba902b7")
        #expect(t.spanId.count == 16 && t.spanId != "00f067aa0ba902b7")
        #expect(t.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-\(t.spanId)-01")
        #expect(t.sampled)
        #expect(TraceContext.make(incoming: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", requestId: nil, generator: &generator)
            .traceparent.hasSuffix("-00"))
        // A later version's extra fields are ignored.
        #expect(TraceContext.parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra")?.flags == "00")
    }

    @Test(arguments: [
        "", "garbage", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
    ])
    func anInvalidTraceparentStartsANewTrace(value: String) {
        var generator = RequestIDGenerator(seed: 7)
        let t = TraceContext.make(incoming: value, requestId: nil, generator: &generator)
        #expect(t.parentId == nil)
        #expect(t.traceId.count == 32 && t.sampled)
        #expect(!value.contains(t.traceId))
        #expect(t.traceparent == "00-\(t.traceId)-\(t.spanId)-01")
        // A new trace reuses the id the gateway generated for the request.
        let generated = RequestID(high: 0x0123_4567_89AB_CDEF, low: 0x0123_4567_89AB_CDEF)
        let reused = TraceContext.make(incoming: value, requestId: generated, generator: &generator)
        #expect(reused.traceId == "0123456789abcdef0123456789abcdef")
        #expect(reused.traceparent == "00-0123456789abcdef0123456789abcdef-\(reused.spanId)-01")
        // A client's request id is not a trace id: a new one is made.
        let fromClient = TraceContext.make(incoming: value, requestId: "0123456789abcdef0123456789abcdef", generator: &generator)
        #expect(fromClient.traceId != "0123456789abcdef0123456789abcdef" && fromClient.traceId.count == 32)
    }
}

@Suite struct HexDigitsTests {
    func reference(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    @Test func sixteenDigitsAsStringRadix16WritesThem() {
        var generator = SystemRandomNumberGenerator()
        let values: [UInt64] = [0, 1, 9, 10, 15, 16, 0xA, 0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210, .max, 0x8000_0000_0000_0000,
                                0x9999_9999_9999_9999, 0xAAAA_AAAA_AAAA_AAAA]
            + (0..<1000).map { _ in generator.next() }
        for value in values {
            let text = String(unsafeUninitializedCapacity: 16) { out in
                HexDigits.write(value, to: UnsafeMutableRawPointer(out.baseAddress!))
                return 16
            }
            #expect(text == reference(value))
        }
        // TraceContext's span id and the request ids are made with it.
        #expect(TraceContext.hex(0x00F0_67AA_0BA9_02B7) == "00f067aa0ba902b7")
        var ids = RequestIDGenerator(seed: 7)
        let id = ids.nextID().text
        #expect(id.utf8.count == 32 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        #expect(ids.nextID().text != id)
    }
}

@Suite struct RequestIDTests {
    func written(_ id: RequestID) -> String {
        String(unsafeUninitializedCapacity: id.utf8Count) { out in
            id.write(to: out)
            return id.utf8Count
        }
    }

    @Test func aGeneratedIdWritesTheDigitsItsTextHas() {
        var generator = RequestIDGenerator(seed: 11)
        for _ in 0..<100 {
            let id = generator.nextID()
            #expect(id.isGenerated && id.utf8Count == 32)
            #expect(written(id) == id.text)
            #expect(id.text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
            #expect(RequestID(id.text) == id, "the same id read back as text")
        }
        #expect(RequestID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210).text == "0123456789abcdeffedcba9876543210")
        #expect(generator.nextID() != generator.nextID())
    }

    @Test func aClientsSaneIdIsKeptAndAnythingElseReplaced() {
        var generator = RequestIDGenerator(seed: 11)
        let kept = RequestID.make(clientValue: "req-42/a.b", generator: &generator)
        #expect(!kept.isGenerated && kept.text == "req-42/a.b" && written(kept) == "req-42/a.b")
        for bad in ["", "has space", String(repeating: "x", count: 129), "tab\there", "é"] {
            let replaced = RequestID.make(clientValue: bad, generator: &generator)
            #expect(replaced.isGenerated && replaced.text != bad)
        }
        #expect(RequestID.make(clientValue: nil, generator: &generator).isGenerated)
    }
}
