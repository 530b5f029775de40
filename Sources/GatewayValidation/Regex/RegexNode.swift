/// The parsed form of a regular expression.
indirect enum RegexNode: Sendable {
    case empty
    case scalar(UInt32)
    case set(CharacterSet)
    case sequence([RegexNode])
    case alternation([RegexNode])
    case group(RegexNode, capture: Int?)
    case repetition(RegexNode, min: Int, max: Int, greedy: Bool)
    case start
    case end
    case wordBoundary(negated: Bool)
    case lookaround(RegexNode, ahead: Bool, negated: Bool)
    case backreference(Int)

    /// Matches exactly one scalar (so repetitions of it can run without recursion).
    var isSingleScalar: Bool {
        switch self {
        case .scalar, .set: return true
        default: return false
        }
    }

    var isAnchoredAtStart: Bool {
        switch self {
        case .start: return true
        case .sequence(let items): return items.first?.isAnchoredAtStart ?? false
        case .alternation(let items): return items.allSatisfy(\.isAnchoredAtStart)
        case .group(let inner, _): return inner.isAnchoredAtStart
        default: return false
        }
    }
}
