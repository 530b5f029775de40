/// The RateLimit fields of one keyed request's response, kept as numbers until the head is
/// written: `RateLimit-Policy` (the plan's constant value) and `RateLimit`, `"PLAN";r=N;t=N` and,
/// with a quota, `"PLAN-quota";r=N;t=N`. A forwarded head that stays bytes gets them written
/// straight into it (`put(into:)`); the paths that build `HTTPHeaders` or HPACK headers take them
/// as text (`pairs`). Made by `RateLimitHeaders.make` on every keyed request: no string or array is
/// built there (about 2,000 instructions a request, `bench/callgrind policy`).
struct RateLimitFields {
    /// One limit's part of `RateLimit`: the plan's bucket or its quota.
    struct Item {
        var quota: Bool
        var remaining: UInt
        var reset: UInt
    }

    static let policyName = "ratelimit-policy"
    static let stateName = "ratelimit"

    /// The plan's name, quoted in `RateLimit`.
    let plan: String
    /// The `RateLimit-Policy` value (`RateLimitHeaders.policy`).
    let policy: String
    var first: Item?
    var second: Item?

    /// The `RateLimit` value as text.
    var state: String {
        String(unsafeUninitializedCapacity: stateSize) { out in
            var writer = HTTP1HeadWriter(UnsafeMutableRawBufferPointer(out))
            putState(into: &writer)
            precondition(!writer.overflowed, "RateLimit value larger than the space reserved for it")
            return writer.count
        }
    }

    /// Both fields as name and value.
    var pairs: [(String, String)] { [(Self.policyName, policy), (Self.stateName, state)] }

    /// At most the bytes of the `RateLimit` value: each item is at most 54 bytes besides the name.
    private var stateSize: Int { 2 * (plan.utf8.count + 54) }

    /// At most the bytes `put(into:)` writes.
    var size: Int { 16 + 2 + policy.utf8.count + 2 + 9 + 2 + stateSize + 2 }

    /// Both fields as HTTP/1 field lines.
    func put(into out: inout HTTP1HeadWriter) {
        out.put("ratelimit-policy: ")
        out.put(string: policy)
        out.put("\r\nratelimit: ")
        putState(into: &out)
        out.put("\r\n")
    }

    private func putState(into out: inout HTTP1HeadWriter) {
        put(first, into: &out, separated: false)
        put(second, into: &out, separated: first != nil)
    }

    /// `"PLAN";r=N;t=N` (`PLAN-quota` for the quota), after `, ` when something precedes it.
    private func put(_ item: Item?, into out: inout HTTP1HeadWriter, separated: Bool) {
        guard let item else { return }
        if separated { out.put(", ") }
        out.put("\"")
        out.put(string: plan)
        if item.quota { out.put("-quota") }
        out.put("\";r=")
        out.put(decimal: item.remaining)
        out.put(";t=")
        out.put(decimal: item.reset)
    }
}
