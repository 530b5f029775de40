import GatewayCore

/// Exact comparison and divisibility of JSON numbers (`.int` and `.double` mixed).
enum NumberComparison {
    /// -1, 0 or 1 as `a` is below, equal to or above `b`; nil when either is not a number or NaN.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.double(let x), .double(let y)):
            if x.isNaN || y.isNaN { return nil }
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.int(let x), .double(let y)): return compare(x, y)
        case (.double(let x), .int(let y)): return compare(y, x).map { -$0 }
        default: return nil
        }
    }

    /// Compares an integer with a double without losing precision above 2^53.
    static func compare(_ i: Int64, _ d: Double) -> Int? {
        if d.isNaN { return nil }
        if d >= 9_223_372_036_854_775_808.0 { return -1 }
        if d < -9_223_372_036_854_775_808.0 { return 1 }
        let whole = d.rounded(.down)
        let w = Int64(whole)
        if i < w { return -1 }
        if i > w { return 1 }
        return whole == d ? 0 : -1
    }

    /// Whether `value` is an integer multiple of `divisor` (> 0), exactly for decimal divisors
    /// such as 0.1 or 0.0001 (no binary floating-point rounding).
    static func isMultiple(_ value: JSONValue, of divisor: JSONValue) -> Bool {
        if case .int(let v) = value, case .int(let m) = divisor {
            return v.remainderReportingOverflow(dividingBy: m).partialValue == 0
        }
        if let v = Decimal64(value), let m = Decimal64(divisor), let result = v.isMultiple(of: m) {
            return result
        }
        guard let v = value.doubleValue, let m = divisor.doubleValue else { return false }
        let quotient = v / m
        return quotient.isFinite && quotient.rounded(.towardZero) == quotient
    }
}

/// A number as `mantissa × 10^exponent`, from the shortest decimal form of a double.
struct Decimal64 {
    var mantissa: Int64
    var exponent: Int

    init?(_ value: JSONValue) {
        switch value {
        case .int(let i):
            self.init(mantissa: i, exponent: 0)
        case .double(let d):
            guard d.isFinite else { return nil }
            self.init(text: d.description)
        default:
            return nil
        }
    }

    init(mantissa: Int64, exponent: Int) {
        self.mantissa = mantissa
        self.exponent = exponent
    }

    /// Parses Swift's `Double.description` forms: `12.5`, `1e-05`, `1.5e+20`.
    init?(text: String) {
        var mantissa: Int64 = 0
        var exponent = 0
        var negative = false
        var seenDot = false
        var chars = Substring(text)
        if chars.first == "-" { negative = true; chars = chars.dropFirst() }
        while let c = chars.first, c != "e", c != "E" {
            chars = chars.dropFirst()
            if c == "." { seenDot = true; continue }
            guard let digit = c.wholeNumberValue else { return nil }
            let (m, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(digit))
            if o1 || o2 { return nil }
            mantissa = s
            if seenDot { exponent -= 1 }
        }
        if let c = chars.first, c == "e" || c == "E" {
            guard let e = Int(String(chars.dropFirst()).replacingOccurrences("+", "")) else { return nil }
            exponent += e
        }
        while mantissa != 0, mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
        self.mantissa = negative ? -mantissa : mantissa
        self.exponent = exponent
    }

    /// nil when the exact computation would overflow.
    func isMultiple(of divisor: Decimal64) -> Bool? {
        guard divisor.mantissa != 0 else { return nil }
        if mantissa == 0 { return true }
        let common = min(exponent, divisor.exponent)
        guard let a = Self.scale(mantissa, by: exponent - common),
              let b = Self.scale(divisor.mantissa, by: divisor.exponent - common) else { return nil }
        return a.remainderReportingOverflow(dividingBy: b).partialValue == 0
    }

    private static func scale(_ value: Int64, by power: Int) -> Int64? {
        guard power < 19 else { return nil }
        var result = value
        for _ in 0..<power {
            let (r, overflow) = result.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            result = r
        }
        return result
    }
}
