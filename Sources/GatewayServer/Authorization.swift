import GatewayAuthorizers
import GatewayCore

/// The `x-authorizer-*` headers at the proxy boundary: what an authorizer allowed goes to the
/// backend (`Forwarding`, prepared once per verdict), and any copy a client sent is left out
/// (`HeaderRules.upstreamFields`).
enum Authorization {
    private static let prefixBytes = Array(Forwarding.headerPrefix.utf8)

    /// Case-insensitive `x-authorizer-` prefix check without allocating.
    static func hasPrefix(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard utf8.count > prefixBytes.count else { return false }
        for (a, b) in zip(utf8, prefixBytes) where a | 0x20 != b { return false }
        return true
    }
}
