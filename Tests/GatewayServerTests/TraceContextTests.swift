@testable import GatewayServer
import Testing

@Suite struct TraceContextTests {
    @Test func aValidTraceparentIsContinuedWithANewSpan() {
        var generator = RequestIDGenerator(seed: 7)
        let t = TraceContext.make(incoming: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", generatedId: nil, generator: &generator)
        #expect(t.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(t.parentId == "00f067aa0ba902b7")
        #expect(t.spanId.count == 16 && t.spanId != "00f067aa0ba902b7")
        #expect(t.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-\(t.spanId)-01")
        #expect(t.sampled)
        #expect(TraceContext.make(incoming: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", generatedId: nil, generator: &generator)
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
        let t = TraceContext.make(incoming: value, generatedId: nil, generator: &generator)
        #expect(t.parentId == nil)
        #expect(t.traceId.count == 32 && t.sampled)
        #expect(!value.contains(t.traceId))
        #expect(t.traceparent == "00-\(t.traceId)-\(t.spanId)-01")
        // A new trace reuses the id the gateway generated for the request.
        let reused = TraceContext.make(incoming: value, generatedId: "0123456789abcdef0123456789abcdef", generator: &generator)
        #expect(reused.traceId == "0123456789abcdef0123456789abcdef")
    }
}
