/// Backtracking matcher over UTF-8 bytes with continuation closures. Repetitions of a single
/// character class run as loops (no recursion per character); every step counts against a limit.
struct RegexMatcher {
    let input: UnsafeBufferPointer<UInt8>
    private var captures: [Int]
    private var steps = 0
    private let stepLimit: Int
    private(set) var aborted = false

    init(input: UnsafeBufferPointer<UInt8>, groupCount: Int, stepLimit: Int) {
        self.input = input
        captures = groupCount == 0 ? [] : Array(repeating: -1, count: 2 * (groupCount + 1))
        self.stepLimit = stepLimit
    }

    mutating func matches(_ root: RegexNode, at start: Int) -> Bool {
        match(root, start) { _, _ in true }
    }

    // MARK: UTF-8 stepping

    @inline(__always)
    func decode(_ i: Int) -> (UInt32, Int) { input.scalar(at: i) }

    func next(_ i: Int) -> Int { input.scalarStart(after: i) }

    func previous(_ i: Int) -> Int { input.scalarStart(before: i) }

    @inline(__always)
    func matchOne(_ node: RegexNode, _ i: Int) -> Int? {
        guard i < input.count else { return nil }
        let (scalar, after) = decode(i)
        switch node {
        case .scalar(let s): return s == scalar ? after : nil
        case .set(let set): return set.contains(scalar) ? after : nil
        default: return nil
        }
    }

    func isWordCharacter(at i: Int) -> Bool {
        guard i >= 0, i < input.count else { return false }
        return CharacterSet.word.contains(UInt32(input[i]))
    }

    // MARK: Matching

    mutating func match(_ node: RegexNode, _ i: Int, _ k: (inout RegexMatcher, Int) -> Bool) -> Bool {
        steps += 1
        if steps > stepLimit {
            aborted = true
            return false
        }
        if aborted { return false }
        switch node {
        case .empty:
            return k(&self, i)
        case .scalar, .set:
            guard let j = matchOne(node, i) else { return false }
            return k(&self, j)
        case .sequence(let items):
            return matchSequence(items, 0, i, k)
        case .alternation(let items):
            for item in items where match(item, i, k) { return true }
            return false
        case .group(let inner, let capture):
            guard let capture else { return match(inner, i, k) }
            return match(inner, i) { m, j in
                let (oldStart, oldEnd) = (m.captures[2 * capture], m.captures[2 * capture + 1])
                m.captures[2 * capture] = i
                m.captures[2 * capture + 1] = j
                if k(&m, j) { return true }
                m.captures[2 * capture] = oldStart
                m.captures[2 * capture + 1] = oldEnd
                return false
            }
        case .repetition(let inner, let min, let max, let greedy):
            if inner.isSingleScalar { return matchSimpleRepetition(inner, min, max, greedy, i, k) }
            return matchRepetition(inner, min, max, greedy, 0, i, k)
        case .start:
            return i == 0 && k(&self, i)
        case .end:
            return i == input.count && k(&self, i)
        case .wordBoundary(let negated):
            let before = i > 0 && isWordCharacter(at: previous(i))
            let boundary = before != isWordCharacter(at: i)
            return boundary != negated && k(&self, i)
        case .lookaround(let inner, let ahead, let negated):
            let found: Bool
            if ahead {
                found = match(inner, i) { _, _ in true }
            } else {
                found = lookbehind(inner, i)
            }
            return found != negated && k(&self, i)
        case .backreference(let group):
            let start = captures.isEmpty ? -1 : captures[2 * group]
            let end = captures.isEmpty ? -1 : captures[2 * group + 1]
            guard start >= 0, end >= start else { return k(&self, i) }
            let length = end - start
            guard i + length <= input.count else { return false }
            for o in 0..<length where input[start + o] != input[i + o] { return false }
            return k(&self, i + length)
        }
    }

    private mutating func lookbehind(_ inner: RegexNode, _ i: Int) -> Bool {
        var start = i
        while true {
            if match(inner, start, { _, j in j == i }) { return true }
            if start == 0 || aborted { return false }
            start = previous(start)
        }
    }

    private mutating func matchSequence(_ items: [RegexNode], _ index: Int, _ i: Int, _ k: (inout RegexMatcher, Int) -> Bool) -> Bool {
        var index = index
        var i = i
        // Single characters need no backtracking point: match them in a loop.
        while index < items.count, items[index].isSingleScalar {
            guard let j = matchOne(items[index], i) else { return false }
            i = j
            index += 1
        }
        if index == items.count { return k(&self, i) }
        if index == items.count - 1 { return match(items[index], i, k) }
        return match(items[index], i) { m, j in m.matchSequence(items, index + 1, j, k) }
    }

    private mutating func matchSimpleRepetition(_ inner: RegexNode, _ min: Int, _ max: Int, _ greedy: Bool, _ i: Int,
                                                _ k: (inout RegexMatcher, Int) -> Bool) -> Bool {
        var count = 0
        var j = i
        if greedy {
            while count < max, let next = matchOne(inner, j) {
                j = next
                count += 1
            }
            while count >= min {
                steps += 1
                if steps > stepLimit { aborted = true; return false }
                if k(&self, j) { return true }
                if count == min { return false }
                j = previous(j)
                count -= 1
            }
            return false
        }
        while count < min {
            guard let next = matchOne(inner, j) else { return false }
            j = next
            count += 1
        }
        while true {
            steps += 1
            if steps > stepLimit { aborted = true; return false }
            if k(&self, j) { return true }
            guard count < max, let next = matchOne(inner, j) else { return false }
            j = next
            count += 1
        }
    }

    private mutating func matchRepetition(_ inner: RegexNode, _ min: Int, _ max: Int, _ greedy: Bool, _ count: Int, _ i: Int,
                                          _ k: (inout RegexMatcher, Int) -> Bool) -> Bool {
        if count < min {
            return match(inner, i) { m, j in m.matchRepetition(inner, min, max, greedy, count + 1, j, k) }
        }
        if greedy {
            if count < max, match(inner, i, { m, j in j != i && m.matchRepetition(inner, min, max, greedy, count + 1, j, k) }) {
                return true
            }
            return k(&self, i)
        }
        if k(&self, i) { return true }
        return count < max && match(inner, i) { m, j in j != i && m.matchRepetition(inner, min, max, greedy, count + 1, j, k) }
    }
}
