import NIOCore

/// Buffers for the heads the gateway writes (upstream request heads, HTTP/1.1 response heads),
/// reused on one event loop: a head's buffer is given back once it is written, and taken again
/// only when no one else holds it any more (NIO's pending write is done, no retry keeps it). Each
/// reuse saves the buffer's two allocations and frees (about 500 instructions per head,
/// `bench/callgrind`). A buffer someone still holds is passed over, so reuse never changes bytes
/// another owner sees.
///
/// Not thread-safe: one per event loop (`LoopLocal`).
final class HeadBuffers {
    /// At most this many spares are kept (tens of KiB per event loop: a head's buffer is 2 KiB,
    /// one with a small body merged in up to 8 KiB). With 8, about one head in ten found none free
    /// at 16 connections (`bench/callgrind`).
    static let limit = 16
    /// A buffer larger than this (a head with a large merged body, an unusually long head) is
    /// not kept.
    static let largest = 16 * 1024

    private var spares: [ByteBuffer] = []

    init() {
        spares.reserveCapacity(Self.limit)
    }

    var count: Int { spares.count }

    /// An empty buffer with room for `size` bytes: the most recent spare that no one else holds
    /// and that is large enough, else a new one.
    func take(_ size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var i = spares.count - 1
        while i >= 0 {
            if spares[i].capacity >= size, spares[i].modifyIfUniquelyOwned({ $0.clear() }) != nil {
                return i == spares.count - 1 ? spares.removeLast() : spares.remove(at: i)
            }
            i -= 1
        }
        return allocator.buffer(capacity: size)
    }

    /// A written head's buffer, kept for a later head (dropped when the spares are full).
    func giveBack(_ buffer: ByteBuffer) {
        guard spares.count < Self.limit, buffer.capacity <= Self.largest else { return }
        spares.append(buffer)
    }
}
