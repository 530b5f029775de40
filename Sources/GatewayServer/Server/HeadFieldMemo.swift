/// A connection's last request head as `HTTP1RequestDecoder` parsed it: the bytes of its field
/// lines and of its request-target, and what they were parsed into. A client on a keep-alive
/// connection mostly sends the same field lines again (the same Host, User-Agent, Accept, API
/// key…): when the next head's field lines are the same bytes, their fields (and what was
/// learned of them: the Content-Length, and that nothing in them hands the head to NIO's decoder)
/// are taken over instead of each line being checked and copied into two strings again. Bytes
/// that differ anywhere are parsed as usual and remembered in their place.
///
/// Only heads whose field lines take at most `maxBytes` are remembered, so an idle connection
/// holds at most that many bytes beside the strings of its last request's fields.
final class HeadFieldMemo {
    static let maxBytes = 1024

    /// Bytes kept in memory of their own, copied in with one `memcpy` (an array's
    /// `removeAll(keepingCapacity:)` and `append(contentsOf:)` cost ten times that).
    private struct Bytes {
        var base: UnsafeMutableRawPointer?
        var count = 0
        var capacity = 0

        /// Compared eight bytes at a time without an early exit: the lines may hold another
        /// client's credentials (a connection can carry several clients' requests behind another
        /// proxy), so how far they match must not show in the time taken.
        func same(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let base, bytes.count == count else { return false }
            guard count > 0, let other = bytes.baseAddress.map(UnsafeRawPointer.init) else { return count == 0 }
            var difference: UInt64 = 0
            var i = 0
            while i + 8 <= count {
                difference |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    ^ other.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < count {
                difference |= UInt64(base.load(fromByteOffset: i, as: UInt8.self) ^ other.load(fromByteOffset: i, as: UInt8.self))
                i += 1
            }
            return difference == 0
        }

        mutating func set(_ bytes: UnsafeBufferPointer<UInt8>) {
            if bytes.count > capacity {
                base?.deallocate()
                capacity = max(bytes.count, 64)
                base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            }
            if bytes.count > 0 { base!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            count = bytes.count
        }

        mutating func clear() {
            base?.deallocate()
            self = Bytes()
        }
    }

    private var fieldBytes = Bytes()
    private var fields: [(String, String)] = []
    private var contentLength: Int?
    /// The fields' `HeadDigest` (without a request line).
    private var digest = HeadDigest()
    private var targetBytes = Bytes()
    private var target = ""

    deinit {
        fieldBytes.clear()
        targetBytes.clear()
    }

    /// The fields parsed from the same field-line bytes as `lines`, and their Content-Length.
    func fields(matching lines: UnsafeBufferPointer<UInt8>) -> (fields: [(String, String)], contentLength: Int?, digest: HeadDigest)? {
        guard fieldBytes.same(lines) else { return nil }
        return (fields, contentLength, digest)
    }

    /// Remembers `lines` and what they were parsed into (when they are not too long).
    func remember(_ lines: UnsafeBufferPointer<UInt8>, fields: [(String, String)], contentLength: Int?, digest: HeadDigest) {
        guard lines.count <= Self.maxBytes else {
            fieldBytes.clear()
            self.fields = []
            self.contentLength = nil
            self.digest = HeadDigest()
            return
        }
        fieldBytes.set(lines)
        self.fields = fields
        self.contentLength = contentLength
        self.digest = digest
    }

    /// The request-target as a string: the last one's when it is the same bytes.
    func target(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if targetBytes.same(bytes) { return target }
        target = String(decoding: bytes, as: UTF8.self)
        if bytes.count <= Self.maxBytes { targetBytes.set(bytes) } else { targetBytes.clear() }
        return target
    }
}
