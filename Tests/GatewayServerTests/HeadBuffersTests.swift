@testable import GatewayServer
import NIOCore
import Testing

@Suite struct HeadBuffersTests {
    /// Where the buffer's storage is (read without a mutable access, which could copy it).
    func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withVeryUnsafeBytes { $0.baseAddress }
    }

    @Test func aWrittenBufferIsTakenAgainOnlyOnceNoOneElseHoldsIt() {
        let buffers = HeadBuffers()
        let allocator = ByteBufferAllocator()
        var first = buffers.take(100, allocator: allocator)
        first.writeString("GET / HTTP/1.1\r\n\r\n")
        let storage = address(first)
        // Still held by someone else (a pending write): passed over, a new buffer made.
        var pending: ByteBuffer? = first
        buffers.giveBack(first)
        first = ByteBuffer()
        let second = buffers.take(100, allocator: allocator)
        #expect(address(second) != storage)
        #expect(buffers.count == 1)
        // The write is done: the same storage comes back, empty, and the bytes the other owner saw
        // were never changed while it held them.
        #expect(pending.map { String(buffer: $0) } == "GET / HTTP/1.1\r\n\r\n")
        pending = nil
        let third = buffers.take(100, allocator: allocator)
        #expect(address(third) == storage)
        #expect(third.readableBytes == 0 && third.capacity >= 100)
        #expect(buffers.count == 0)
    }

    @Test func tooSmallTooLargeAndTooManyAreNotKept() {
        let buffers = HeadBuffers()
        let allocator = ByteBufferAllocator()
        buffers.giveBack(allocator.buffer(capacity: 64))
        #expect(address(buffers.take(4096, allocator: allocator)) != nil)
        #expect(buffers.count == 1, "a spare smaller than asked is left for a smaller head")
        buffers.giveBack(allocator.buffer(capacity: HeadBuffers.largest + 1))
        #expect(buffers.count == 1)
        for _ in 0..<(2 * HeadBuffers.limit) { buffers.giveBack(allocator.buffer(capacity: 256)) }
        #expect(buffers.count == HeadBuffers.limit)
    }
}
