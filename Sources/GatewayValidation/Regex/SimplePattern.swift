/// The fast path for the patterns APIs mostly use (`^[A-Z]{3}$`, `^\+[1-9][0-9]{6,14}$`): a
/// sequence of character classes, each repeated between a minimum and a maximum, optionally
/// anchored. Matched with plain loops over the UTF-8 bytes, no closures. Whether a match exists
/// does not depend on greediness, so lazy quantifiers qualify too.
struct SimplePattern: Sendable {
    /// One repeated class, as the matching loop reads it: plain words only, so reading an item
    /// copies no arrays (the `CharacterSet` itself, consulted only for non-ASCII input, is in `sets`).
    struct Item: Sendable {
        let min: Int
        let max: Int
        /// The set's ASCII members as a bitmap (see `CharacterSet.asciiLow`).
        let asciiLow: UInt64
        let asciiHigh: UInt64
        /// No scalar beyond ASCII is in the set: a byte >= 0x80 ends a run without decoding.
        let asciiOnly: Bool

        init(_ set: CharacterSet, min: Int, max: Int) {
            self.min = min
            self.max = max
            asciiLow = set.asciiLow
            asciiHigh = set.asciiHigh
            asciiOnly = set.isASCIIOnly
        }

        @inline(__always)
        func containsASCII(_ byte: UInt8) -> Bool {
            byte < 64 ? asciiLow & (1 << UInt64(byte)) != 0 : asciiHigh & (1 << UInt64(byte &- 64)) != 0
        }
    }

    let items: [Item]
    /// `items[k]`'s character class is `sets[k]`.
    let sets: [CharacterSet]
    let anchoredStart: Bool
    let anchoredEnd: Bool

    init?(_ root: RegexNode) {
        var nodes: [RegexNode]
        if case .sequence(let sequence) = root { nodes = sequence } else { nodes = [root] }
        var anchoredStart = false
        var anchoredEnd = false
        if case .start? = nodes.first {
            anchoredStart = true
            nodes.removeFirst()
        }
        if case .end? = nodes.last {
            anchoredEnd = true
            nodes.removeLast()
        }
        var sets: [CharacterSet] = []
        var items: [Item] = []
        for node in nodes {
            let set: CharacterSet
            var min = 1
            var max = 1
            switch node {
            case .scalar(let s): set = CharacterSet(ranges: [s...s])
            case .set(let s): set = s
            case .repetition(.scalar(let s), let lower, let upper, _): (set, min, max) = (CharacterSet(ranges: [s...s]), lower, upper)
            case .repetition(.set(let s), let lower, let upper, _): (set, min, max) = (s, lower, upper)
            default: return nil
            }
            sets.append(set)
            items.append(Item(set, min: min, max: max))
        }
        self.items = items
        self.sets = sets
        self.anchoredStart = anchoredStart
        self.anchoredEnd = anchoredEnd
    }

    func firstMatch(_ input: UnsafeBufferPointer<UInt8>, stepLimit: Int) -> Bool {
        items.withUnsafeBufferPointer { items in
            sets.withUnsafeBufferPointer { sets in
                var search = Search(input: input, items: items, sets: sets, anchoredEnd: anchoredEnd, stepsLeft: stepLimit)
                var start = 0
                while true {
                    if search.match(0, start) { return true }
                    if anchoredStart || start >= input.count || search.stepsLeft <= 0 { return false }
                    start = input.scalarStart(after: start)
                }
            }
        }
    }

    private struct Search {
        let input: UnsafeBufferPointer<UInt8>
        let items: UnsafeBufferPointer<Item>
        let sets: UnsafeBufferPointer<CharacterSet>
        let anchoredEnd: Bool
        var stepsLeft: Int

        /// Whether items `k...` match from byte `i`.
        mutating func match(_ k: Int, _ i: Int) -> Bool {
            if k == items.count { return !anchoredEnd || i == input.count }
            let item = items[k]
            let min = item.min
            let max = item.max
            var count = 0
            var j = i
            while count < max, j < input.count {
                let byte = input[j]
                if byte < 0x80 {
                    guard item.containsASCII(byte) else { break }
                    j += 1
                } else {
                    guard !item.asciiOnly else { break }
                    let (scalar, next) = input.scalar(at: j)
                    guard sets[k].contains(scalar) else { break }
                    j = next
                }
                count += 1
            }
            if k == items.count - 1 && anchoredEnd {
                // Giving characters back could not reach the end: no backtracking.
                stepsLeft -= 1
                return count >= min && j == input.count && stepsLeft > 0
            }
            while count >= min {
                stepsLeft -= 1
                if stepsLeft <= 0 { return false }
                if match(k + 1, j) { return true }
                if count == min { return false }
                j = input.scalarStart(before: j, floor: i)
                count -= 1
            }
            return false
        }
    }
}
