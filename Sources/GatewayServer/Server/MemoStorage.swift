/// Memory of its own for a memo's bytes or lines (`ResponseHeadMemo`, `HTTP2FieldIndexing`):
/// allocated when first needed and grown to what it holds, never past its memo's limit, so that an
/// idle connection holds what its last head took, not the most any head may take. Its elements
/// are plain values (no references): they are copied and dropped as bytes.
///
/// Kept in memory the memo allocated itself, not in a class's stored properties: those would be
/// checked for exclusive access at every use, and the memos are asked on every line.
struct MemoStorage<Element> {
    private(set) var base: UnsafeMutablePointer<Element>?
    private(set) var capacity = 0

    /// Room for `count` elements (at most `limit`), the first `kept` of them kept.
    mutating func reserve(_ count: Int, keeping kept: Int, limit: Int) {
        guard count > capacity else { return }
        let grown = UnsafeMutablePointer<Element>.allocate(capacity: min(limit, max(count, 2 * capacity, 8)))
        if let base {
            grown.moveInitialize(from: base, count: kept)
            base.deallocate()
        }
        base = grown
        capacity = min(limit, max(count, 2 * capacity, 8))
    }

    func deallocate() {
        base?.deallocate()
    }
}
