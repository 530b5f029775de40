/// The fast path for the patterns APIs mostly use (`^[A-Z]{3}$`, `^\+[1-9][0-9]{6,14}$`): a
/// sequence of character classes, each repeated between a minimum and a maximum, optionally
/// anchored. Matched with plain loops over the UTF-8 bytes, no closures. Whether a match exists
/// does not depend on greediness, so lazy quantifiers qualify too.
struct SimplePattern: Sendable {
    struct Item: Sendable {
        let set: CharacterSet
        let min: Int
        let max: Int
    }

    let items: [Item]
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
        var items: [Item] = []
        for node in nodes {
            switch node {
            case .scalar(let s): items.append(Item(set: CharacterSet(ranges: [s...s]), min: 1, max: 1))
            case .set(let set): items.append(Item(set: set, min: 1, max: 1))
            case .repetition(.scalar(let s), let min, let max, _): items.append(Item(set: CharacterSet(ranges: [s...s]), min: min, max: max))
            case .repetition(.set(let set), let min, let max, _): items.append(Item(set: set, min: min, max: max))
            default: return nil
            }
        }
        self.items = items
        self.anchoredStart = anchoredStart
        self.anchoredEnd = anchoredEnd
    }

    func firstMatch(_ input: UnsafeBufferPointer<UInt8>, stepLimit: Int) -> Bool {
        items.withUnsafeBufferPointer { items in
            var search = Search(input: input, items: items, anchoredEnd: anchoredEnd, stepsLeft: stepLimit)
            var start = 0
            while true {
                if search.match(0, start) { return true }
                if anchoredStart || start >= input.count || search.stepsLeft <= 0 { return false }
                start = input.scalarStart(after: start)
            }
        }
    }

    private struct Search {
        let input: UnsafeBufferPointer<UInt8>
        let items: UnsafeBufferPointer<Item>
        let anchoredEnd: Bool
        var stepsLeft: Int

        /// Whether items `k...` match from byte `i`.
        mutating func match(_ k: Int, _ i: Int) -> Bool {
            if k == items.count { return !anchoredEnd || i == input.count }
            let min = items[k].min
            let max = items[k].max
            var count = 0
            var j = i
            while count < max, j < input.count {
                let (scalar, next) = input.scalar(at: j)
                guard items[k].set.contains(scalar) else { break }
                j = next
                count += 1
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
