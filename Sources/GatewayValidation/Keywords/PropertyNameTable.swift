/// The names a schema declares in `properties`, and where an instance's member name is among
/// them. Asked once per member of every validated object, so it compares UTF-8 bytes: a
/// signature (length, first and last byte) rules out most names without reading further, and a
/// byte comparison settles the rest (`String ==` on two equal strings longer than 15 bytes goes
/// through the runtime's generic comparison; `String.UTF8View.last` is not inlined either).
struct PropertyNameTable: Sendable {
    /// Sorted, so positions (and the `required` bit set built on them) are deterministic.
    let names: [String]
    private let signatures: [UInt32]
    /// Every name's UTF-8 bytes, one after the other; name i starts at `starts[i]`.
    private let bytes: [UInt8]
    private let starts: [Int]
    /// For many names; a handful are found faster by comparing.
    private let index: [String: Int]?

    init(_ names: [String]) {
        self.names = names
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var signatures: [UInt32] = []
        for name in names {
            starts.append(bytes.count)
            let utf8 = Array(name.utf8)
            bytes += utf8
            signatures.append(utf8.withUnsafeBufferPointer(Self.signature))
        }
        self.bytes = bytes
        self.starts = starts
        self.signatures = signatures
        index = names.count > 12 ? Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) }) : nil
    }

    var count: Int { names.count }

    /// The position of `name` in `names`, if declared.
    @inline(__always)
    func position(of name: String) -> Int? {
        if let index { return index[name] }
        // Native strings (all the parser makes) have contiguous UTF-8; others are copied.
        if let found = name.utf8.withContiguousStorageIfAvailable(position(ofUTF8:)) { return found }
        return Array(name.utf8).withUnsafeBufferPointer(position(ofUTF8:))
    }

    private func position(ofUTF8 name: UnsafeBufferPointer<UInt8>) -> Int? {
        let signature = Self.signature(name)
        return signatures.withUnsafeBufferPointer { signatures in
            bytes.withUnsafeBufferPointer { bytes in
                for i in 0..<signatures.count where signatures[i] == signature {
                    // Same signature, so same length (and the empty name has no bytes to compare).
                    if name.isEmpty || Self.equal(UnsafeRawPointer(bytes.baseAddress! + starts[i]), UnsafeRawPointer(name.baseAddress!), count: name.count) {
                        return i
                    }
                }
                return nil
            }
        }
    }

    /// Whether `count` bytes at `a` and `b` are equal, compared eight at a time.
    @inline(__always)
    private static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        var k = 0
        while k + 8 <= count {
            if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
            k += 8
        }
        while k < count {
            if a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) { return false }
            k += 1
        }
        return true
    }

    @inline(__always)
    private static func signature(_ utf8: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard let first = utf8.first else { return 0 }
        return UInt32(truncatingIfNeeded: utf8.count) << 16 | UInt32(first) << 8 | UInt32(utf8[utf8.count - 1])
    }
}
