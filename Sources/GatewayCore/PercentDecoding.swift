/// Percent-decoding of URL components (`+` as space in query strings).
public enum PercentDecoding {
    /// (The `String` and `Substring` overloads are compiled for their type here: called from
    /// another module, the generic one runs unspecialised, about 500 instructions for a
    /// one-byte text.)
    public static func decode(_ text: String, plusAsSpace: Bool) -> String? {
        decoded(text, plusAsSpace: plusAsSpace)
    }

    public static func decode(_ text: Substring, plusAsSpace: Bool) -> String? {
        decoded(text, plusAsSpace: plusAsSpace)
    }

    public static func decode(_ text: some StringProtocol, plusAsSpace: Bool) -> String? {
        decoded(text, plusAsSpace: plusAsSpace)
    }

    private static func decoded(_ text: some StringProtocol, plusAsSpace: Bool) -> String? {
        // The bytes are read in place, through one call of the generic witness (not one per byte).
        let outcome = text.utf8.withContiguousStorageIfAvailable { decode(bytes: $0, plusAsSpace: plusAsSpace) }
            ?? Array(text.utf8).withUnsafeBufferPointer { decode(bytes: $0, plusAsSpace: plusAsSpace) }
        switch outcome {
        case .unchanged: return String(text)
        case .decoded(let decoded): return decoded
        case .invalid: return nil
        }
    }

    private enum Outcome {
        case unchanged, decoded(String), invalid
    }

    private static func decode(bytes: UnsafeBufferPointer<UInt8>, plusAsSpace: Bool) -> Outcome {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || ($0 == UInt8(ascii: "+") && plusAsSpace) }) else {
            return .unchanged
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hv = hex(bytes[i + 1]), let lv = hex(bytes[i + 2]) else { return .invalid }
                out.append(hv << 4 | lv)
                i += 3
                continue
            }
            out.append(b == UInt8(ascii: "+") && plusAsSpace ? UInt8(ascii: " ") : b)
            i += 1
        }
        return String(validating: out, as: UTF8.self).map { .decoded($0) } ?? .invalid
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
