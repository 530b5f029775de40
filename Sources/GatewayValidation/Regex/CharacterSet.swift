/// A character class: ranges of scalars plus Unicode general categories, with an ASCII bitmap
/// for the common case.
struct CharacterSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    /// Bit i set: general category `UnicodeCategories.all[i]` is included.
    var categories: UInt32 = 0
    var properties: [BinaryProperty] = []
    var negatedSets: [CharacterSet] = []
    var negated = false
    /// The set's ASCII members, so the common case needs none of the lists above.
    private(set) var ascii = ASCIISet(low: 0, high: 0)

    static let digits = CharacterSet(ranges: [0x30...0x39])
    static let word = CharacterSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let space = CharacterSet(ranges: [0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
                                             0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF])
    /// `.`: anything but a line terminator.
    static let dot = CharacterSet(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029]).inverted

    init(ranges: [ClosedRange<UInt32>] = [], categories: UInt32 = 0, properties: [BinaryProperty] = []) {
        self.ranges = ranges
        self.categories = categories
        self.properties = properties
        finish()
    }

    var inverted: CharacterSet {
        var copy = self
        copy.negated.toggle()
        copy.finish()
        return copy
    }

    mutating func add(_ other: CharacterSet) {
        if other.negated {
            negatedSets.append(other)
        } else {
            ranges += other.ranges
            categories |= other.categories
            properties += other.properties
            negatedSets += other.negatedSets
        }
        finish()
    }

    mutating func add(_ range: ClosedRange<UInt32>) {
        ranges.append(range)
        finish()
    }

    /// Precomputes the ASCII bitmap.
    mutating func finish() {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for c in UInt32(0)..<128 where slowContains(c) {
            if c < 64 { low |= 1 << UInt64(c) } else { high |= 1 << UInt64(c - 64) }
        }
        ascii = ASCIISet(low: low, high: high)
    }

    /// Whether every scalar in the set is ASCII (the bitmap is then the whole set).
    var isASCIIOnly: Bool {
        !negated && categories == 0 && properties.isEmpty && negatedSets.isEmpty && ranges.allSatisfy { $0.upperBound < 128 }
    }

    @inline(__always)
    func contains(_ c: UInt32) -> Bool {
        if c < 128 { return ascii.contains(UInt8(truncatingIfNeeded: c)) }
        return slowContains(c)
    }

    private func slowContains(_ c: UInt32) -> Bool {
        var found = ranges.contains { $0.contains(c) }
        if !found && categories != 0 { found = categories & UnicodeCategories.bit(of: c) != 0 }
        if !found && !properties.isEmpty { found = properties.contains { $0.contains(c) } }
        if !found { found = negatedSets.contains { $0.contains(c) } }
        return found != negated
    }
}
