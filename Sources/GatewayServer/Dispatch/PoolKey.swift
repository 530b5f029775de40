/// What an idle upstream connection is kept under: a target and its TLS settings. Made once per
/// plan (`UpstreamDispatcher.poolKeys`), with its hash computed then: the pool looks a key up
/// twice per request, and hashing the text each time cost about 300 instructions a lookup.
struct PoolKey: Hashable, Sendable, CustomStringConvertible {
    let text: String
    private let hash: Int

    init(_ text: String) {
        self.text = text
        self.hash = text.hashValue
    }

    static func == (a: PoolKey, b: PoolKey) -> Bool {
        a.hash == b.hash && a.text == b.text
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    var description: String { text }
}
