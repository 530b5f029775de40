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
        /// The set's ASCII members.
        let ascii: ASCIISet
        /// No scalar beyond ASCII is in the set: a byte >= 0x80 ends a run without decoding.
        let asciiOnly: Bool

        init(_ set: CharacterSet, min: Int, max: Int) {
            self.min = min
            self.max = max
            ascii = set.ascii
            asciiOnly = set.isASCIIOnly
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

    @inline(__always)
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

        /// Whether items `first...` match from byte `start`. Items whose greedy run leaves no
        /// choice (it took exactly the minimum, or it is the last item of an end-anchored
        /// pattern, where giving characters back cannot reach the end) are matched in a loop;
        /// only a real choice recurses.
        mutating func match(_ first: Int, _ start: Int) -> Bool {
            var k = first
            var i = start
            while k < items.count {
                let min = items[k].min
                var (count, j) = run(k, from: i)
                if count < min { return false }
                stepsLeft -= 1
                if stepsLeft <= 0 { return false }
                if k == items.count - 1 && anchoredEnd { return j == input.count }
                if count > min {
                    while true {
                        if match(k + 1, j) { return true }
                        if count == min { return false }
                        j = input.scalarStart(before: j, floor: i)
                        count -= 1
                        stepsLeft -= 1
                        if stepsLeft <= 0 { return false }
                    }
                }
                k += 1
                i = j
            }
            return !anchoredEnd || i == input.count
        }

        /// How many characters of item `k`'s class follow byte `i` (at most the item's maximum),
        /// and the offset after them.
        @inline(__always)
        func run(_ k: Int, from i: Int) -> (count: Int, end: Int) {
            let item = items[k]
            if item.asciiOnly {
                // One byte per character, and no byte >= 0x80 is in the set.
                let end = i + min(item.max, input.count - i)
                var j = i
                while j < end && item.ascii.contains(input[j]) { j += 1 }
                return (j - i, j)
            }
            var count = 0
            var j = i
            while count < item.max, j < input.count {
                let byte = input[j]
                if byte < 0x80 {
                    guard item.ascii.contains(byte) else { break }
                    j += 1
                } else {
                    guard !item.asciiOnly else { break }
                    let (scalar, next) = input.scalar(at: j)
                    guard sets[k].contains(scalar) else { break }
                    j = next
                }
                count += 1
            }
            return (count, j)
        }
    }
}
