/// Parses ECMA-262 pattern syntax in Unicode mode (the `u` flag), rejecting what it rejects:
/// unknown escapes like `\a`, lone `{`, inline flags `(?i)`, Python's `(?P<name>...)`.
struct RegexParser {
    private let scalars: [UInt32]
    private var index = 0
    private(set) var groupCount = 0
    private var groupNames: [String: Int] = [:]
    private var namedReferences: [(String, Int)] = []
    private var maxBackreference = 0

    init(_ source: String) {
        scalars = source.unicodeScalars.map(\.value)
    }

    mutating func parse() throws(RegexSyntaxError) -> RegexNode {
        let root = try parseDisjunction()
        if index < scalars.count { throw fail(peek == c(")") ? "unmatched )" : "unexpected character") }
        if maxBackreference > groupCount { throw fail("backreference to a group that does not exist") }
        for (name, _) in namedReferences where groupNames[name] == nil { throw fail("reference to an unknown group name \(name)") }
        return resolveNames(root)
    }

    // MARK: Structure

    private mutating func parseDisjunction() throws(RegexSyntaxError) -> RegexNode {
        var alternatives = [try parseAlternative()]
        while peek == c("|") {
            index += 1
            alternatives.append(try parseAlternative())
        }
        return alternatives.count == 1 ? alternatives[0] : .alternation(alternatives)
    }

    private mutating func parseAlternative() throws(RegexSyntaxError) -> RegexNode {
        var terms: [RegexNode] = []
        while let next = peek, next != c("|"), next != c(")") {
            terms.append(try parseTerm())
        }
        switch terms.count {
        case 0: return .empty
        case 1: return terms[0]
        default: return .sequence(terms)
        }
    }

    private mutating func parseTerm() throws(RegexSyntaxError) -> RegexNode {
        let next = peek!
        switch next {
        case c("^"): index += 1; return .start
        case c("$"): index += 1; return .end
        case c("\\") where lookahead(1) == c("b"): index += 2; return .wordBoundary(negated: false)
        case c("\\") where lookahead(1) == c("B"): index += 2; return .wordBoundary(negated: true)
        case c("(") where lookahead(1) == c("?"):
            if let node = try parseLookaround() { return node }
        default:
            break
        }
        let atom = try parseAtom()
        return try parseQuantifier(atom)
    }

    private mutating func parseLookaround() throws(RegexSyntaxError) -> RegexNode? {
        let ahead: Bool
        let negated: Bool
        var length = 3
        switch (lookahead(2), lookahead(3)) {
        case (c("="), _): ahead = true; negated = false
        case (c("!"), _): ahead = true; negated = true
        case (c("<"), c("=")): ahead = false; negated = false; length = 4
        case (c("<"), c("!")): ahead = false; negated = true; length = 4
        default: return nil
        }
        index += length
        let inner = try parseDisjunction()
        try expect(")")
        if let next = peek, [c("*"), c("+"), c("?"), c("{")].contains(next) {
            throw fail("a lookaround cannot be quantified")
        }
        return .lookaround(inner, ahead: ahead, negated: negated)
    }

    private mutating func parseQuantifier(_ atom: RegexNode) throws(RegexSyntaxError) -> RegexNode {
        guard let next = peek else { return atom }
        var min = 0
        var max = Int.max
        switch next {
        case c("*"): index += 1
        case c("+"): index += 1; min = 1
        case c("?"): index += 1; max = 1
        case c("{"):
            index += 1
            guard let low = parseDecimal() else { throw fail("incomplete quantifier") }
            min = low
            max = low
            if peek == c(",") {
                index += 1
                max = parseDecimal() ?? Int.max
            }
            try expect("}")
            if max < min { throw fail("numbers out of order in quantifier") }
        default:
            return atom
        }
        var greedy = true
        if peek == c("?") {
            index += 1
            greedy = false
        }
        switch atom {
        case .start, .end, .wordBoundary, .lookaround: throw fail("nothing to repeat")
        default: return .repetition(atom, min: min, max: max, greedy: greedy)
        }
    }

    private mutating func parseAtom() throws(RegexSyntaxError) -> RegexNode {
        let next = peek!
        switch next {
        case c("."):
            index += 1
            return .set(.dot)
        case c("("):
            index += 1
            var capture: Int?
            if peek == c("?") {
                if lookahead(1) == c(":") {
                    index += 2
                } else if lookahead(1) == c("<") {
                    index += 2
                    let name = try parseGroupName()
                    groupCount += 1
                    if groupNames[name] != nil { throw fail("duplicate group name \(name)") }
                    groupNames[name] = groupCount
                    capture = groupCount
                } else {
                    throw fail("invalid group")
                }
            } else {
                groupCount += 1
                capture = groupCount
            }
            let inner = try parseDisjunction()
            try expect(")")
            return .group(inner, capture: capture)
        case c("["):
            index += 1
            return .set(try parseClass())
        case c("\\"):
            index += 1
            return try parseAtomEscape()
        case c("*"), c("+"), c("?"): throw fail("nothing to repeat")
        case c("{"): throw fail("lone { (use \\{)")
        case c("}"): throw fail("lone } (use \\})")
        case c("]"): throw fail("lone ] (use \\])")
        case c(")"): throw fail("unmatched )")
        default:
            index += 1
            return .scalar(next)
        }
    }

    private mutating func parseGroupName() throws(RegexSyntaxError) -> String {
        var name = ""
        while let next = peek, next != c(">") {
            guard let scalar = Unicode.Scalar(next), scalar.properties.isIDContinue || next == c("$") else {
                throw fail("invalid group name")
            }
            name.unicodeScalars.append(scalar)
            index += 1
        }
        try expect(">")
        if name.isEmpty { throw fail("empty group name") }
        return name
    }

    private mutating func parseAtomEscape() throws(RegexSyntaxError) -> RegexNode {
        guard let next = peek else { throw fail("\\ at end of pattern") }
        if next >= c("1") && next <= c("9") {
            let number = parseDecimal()!
            maxBackreference = Swift.max(maxBackreference, number)
            return .backreference(number)
        }
        if next == c("k") {
            index += 1
            guard peek == c("<") else { throw fail("invalid named reference") }
            index += 1
            let name = try parseGroupName()
            namedReferences.append((name, 0))
            return .backreference(-1 - namedReferences.count + 1)
        }
        if let set = try parseClassEscape() { return .set(set) }
        return .scalar(try parseCharacterEscape())
    }

    /// Replaces named references (stored as negative numbers) with group numbers.
    private func resolveNames(_ node: RegexNode) -> RegexNode {
        guard !namedReferences.isEmpty else { return node }
        switch node {
        case .backreference(let n) where n < 0: return .backreference(groupNames[namedReferences[-n - 1].0] ?? 0)
        case .sequence(let items): return .sequence(items.map(resolveNames))
        case .alternation(let items): return .alternation(items.map(resolveNames))
        case .group(let inner, let capture): return .group(resolveNames(inner), capture: capture)
        case .repetition(let inner, let min, let max, let greedy): return .repetition(resolveNames(inner), min: min, max: max, greedy: greedy)
        case .lookaround(let inner, let ahead, let negated): return .lookaround(resolveNames(inner), ahead: ahead, negated: negated)
        default: return node
        }
    }

    // MARK: Classes and escapes

    private mutating func parseClass() throws(RegexSyntaxError) -> CharacterSet {
        var negated = false
        if peek == c("^") {
            index += 1
            negated = true
        }
        var set = CharacterSet()
        while true {
            guard let next = peek else { throw fail("unterminated character class") }
            if next == c("]") {
                index += 1
                break
            }
            let low = try parseClassAtom()
            if peek == c("-"), let after = lookahead(1), after != c("]") {
                index += 1
                let high = try parseClassAtom()
                guard case .scalar(let a) = low, case .scalar(let b) = high else { throw fail("invalid character class range") }
                guard a <= b else { throw fail("character class range out of order") }
                set.ranges.append(a...b)
                continue
            }
            switch low {
            case .scalar(let a): set.ranges.append(a...a)
            case .set(let s): set.add(s)
            }
        }
        set.finish()
        return negated ? set.inverted : set
    }

    private enum ClassAtom {
        case scalar(UInt32)
        case set(CharacterSet)
    }

    private mutating func parseClassAtom() throws(RegexSyntaxError) -> ClassAtom {
        let next = peek!
        index += 1
        guard next == c("\\") else { return .scalar(next) }
        guard let escaped = peek else { throw fail("\\ at end of pattern") }
        if escaped == c("b") { index += 1; return .scalar(0x08) }
        if escaped == c("-") { index += 1; return .scalar(escaped) }
        if let set = try parseClassEscape() { return .set(set) }
        return .scalar(try parseCharacterEscape())
    }

    /// `\d \D \s \S \w \W \p{..} \P{..}`, or nil.
    private mutating func parseClassEscape() throws(RegexSyntaxError) -> CharacterSet? {
        let next = peek!
        switch next {
        case c("d"): index += 1; return .digits
        case c("D"): index += 1; return CharacterSet.digits.inverted
        case c("s"): index += 1; return .space
        case c("S"): index += 1; return CharacterSet.space.inverted
        case c("w"): index += 1; return .word
        case c("W"): index += 1; return CharacterSet.word.inverted
        case c("p"), c("P"):
            index += 1
            guard peek == c("{") else { throw fail("invalid property escape") }
            index += 1
            var name = ""
            while let s = peek, s != c("}") {
                name.unicodeScalars.append(Unicode.Scalar(s)!)
                index += 1
            }
            try expect("}")
            let set = try propertySet(name)
            return next == c("P") ? set.inverted : set
        default:
            return nil
        }
    }

    private func propertySet(_ expression: String) throws(RegexSyntaxError) -> CharacterSet {
        var name = expression
        if let equals = expression.firstIndex(of: "=") {
            let property = String(expression[..<equals])
            name = String(expression[expression.index(after: equals)...])
            guard property == "General_Category" || property == "gc" else {
                throw fail("unsupported Unicode property \(property)")
            }
            guard let mask = UnicodeCategories.mask(named: name) else { throw fail("unknown general category \(name)") }
            return CharacterSet(categories: mask)
        }
        if let mask = UnicodeCategories.mask(named: name) { return CharacterSet(categories: mask) }
        if let property = BinaryProperty(name: name) { return CharacterSet(properties: [property]) }
        throw fail("unknown or unsupported Unicode property \(name)")
    }

    /// `\t \n \v \f \r \cX \0 \xHH \uHHHH \u{H..}` and escaped syntax characters.
    private mutating func parseCharacterEscape() throws(RegexSyntaxError) -> UInt32 {
        let next = peek!
        index += 1
        switch next {
        case c("t"): return 0x09
        case c("n"): return 0x0A
        case c("v"): return 0x0B
        case c("f"): return 0x0C
        case c("r"): return 0x0D
        case c("c"):
            guard let letter = peek, (letter >= c("a") && letter <= c("z")) || (letter >= c("A") && letter <= c("Z")) else {
                throw fail("invalid control escape")
            }
            index += 1
            return letter % 32
        case c("0"):
            if let digit = peek, digit >= c("0") && digit <= c("9") { throw fail("invalid octal escape") }
            return 0
        case c("x"):
            guard let value = parseHex(count: 2) else { throw fail("invalid \\x escape") }
            return value
        case c("u"):
            if peek == c("{") {
                index += 1
                var value: UInt32 = 0
                var digits = 0
                while let h = peek, let d = Self.hexDigit(h) {
                    value = value * 16 + d
                    digits += 1
                    index += 1
                    if value > 0x10FFFF { throw fail("\\u{...} out of range") }
                }
                guard digits > 0 else { throw fail("invalid \\u{...} escape") }
                try expect("}")
                return value
            }
            guard let value = parseHex(count: 4) else { throw fail("invalid \\u escape") }
            if (0xD800...0xDBFF).contains(value), peek == c("\\"), lookahead(1) == c("u") {
                let saved = index
                index += 2
                if let low = parseHex(count: 4), (0xDC00...0xDFFF).contains(low) {
                    return 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                }
                index = saved
            }
            return value
        default:
            let syntax = "^$\\.*+?()[]{}|/".unicodeScalars.map(\.value)
            if syntax.contains(next) { return next }
            throw fail("invalid escape \\\(Unicode.Scalar(next).map { String($0) } ?? "?")")
        }
    }

    // MARK: Scanning

    private var peek: UInt32? { index < scalars.count ? scalars[index] : nil }

    private func lookahead(_ offset: Int) -> UInt32? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private func c(_ character: Unicode.Scalar) -> UInt32 { character.value }

    private mutating func expect(_ character: Unicode.Scalar) throws(RegexSyntaxError) {
        guard peek == character.value else { throw fail("expected \(character)") }
        index += 1
    }

    private mutating func parseDecimal() -> Int? {
        var value = 0
        var digits = 0
        while let d = peek, d >= c("0") && d <= c("9") {
            value = value &* 10 &+ Int(d - c("0"))
            if value > 1_000_000 { value = 1_000_000 }
            digits += 1
            index += 1
        }
        return digits > 0 ? value : nil
    }

    private mutating func parseHex(count: Int) -> UInt32? {
        guard index + count <= scalars.count else { return nil }
        var value: UInt32 = 0
        for k in 0..<count {
            guard let d = Self.hexDigit(scalars[index + k]) else { return nil }
            value = value * 16 + d
        }
        index += count
        return value
    }

    private static func hexDigit(_ s: UInt32) -> UInt32? {
        switch s {
        case 0x30...0x39: return s - 0x30
        case 0x41...0x46: return s - 0x41 + 10
        case 0x61...0x66: return s - 0x61 + 10
        default: return nil
        }
    }

    private func fail(_ reason: String) -> RegexSyntaxError {
        RegexSyntaxError(reason: reason, offset: index)
    }
}
