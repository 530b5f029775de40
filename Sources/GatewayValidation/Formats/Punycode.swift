/// RFC 3492 Punycode decoding, used to check `xn--` host name labels.
enum Punycode {
    /// The decoded scalars, or nil when `input` (without the `xn--` prefix) is not valid Punycode.
    static func decode(_ input: [UInt8]) -> [UInt32]? {
        let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
        var output: [UInt32] = []
        var rest = input[...]
        if let delimiter = input.lastIndex(of: UInt8(ascii: "-")) {
            output = input[..<delimiter].map { UInt32($0) }
            rest = input[(delimiter + 1)...]
        }
        guard !rest.isEmpty else { return nil }
        var n = 128, i = 0, bias = 72
        var position = rest.startIndex
        while position < rest.endIndex {
            let oldI = i
            var w = 1
            var k = base
            while true {
                guard position < rest.endIndex, let digit = digitValue(rest[position]) else { return nil }
                position += 1
                let (product, overflow) = digit.multipliedReportingOverflow(by: w)
                guard !overflow, i <= Int(Int32.max) - product else { return nil }
                i += product
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if digit < t { break }
                w *= base - t
                k += base
            }
            let count = output.count + 1
            var delta = oldI == 0 ? (i - oldI) / damp : (i - oldI) / 2
            delta += delta / count
            k = 0
            while delta > ((base - tMin) * tMax) / 2 {
                delta /= base - tMin
                k += base
            }
            bias = k + (((base - tMin + 1) * delta) / (delta + skew))
            n += i / count
            i %= count
            guard n <= 0x10FFFF else { return nil }
            output.insert(UInt32(n), at: i)
            i += 1
        }
        return output
    }

    private static func digitValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30) + 26
        case 0x41...0x5A: return Int(b - 0x41)
        case 0x61...0x7A: return Int(b - 0x61)
        default: return nil
        }
    }
}
