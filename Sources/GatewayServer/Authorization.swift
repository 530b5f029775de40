import GatewayAuthorizers
import GatewayCore
import NIOHTTP1

/// The `x-authorizer-*` headers at the proxy boundary: what an authorizer allowed goes to the
/// backend (`Forwarding`, prepared once per verdict), and any copy a client sent is removed first.
enum Authorization {
    private static let prefixBytes = Array(Forwarding.headerPrefix.utf8)

    /// Case-insensitive `x-authorizer-` prefix check without allocating.
    static func hasPrefix(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard utf8.count > prefixBytes.count else { return false }
        for (a, b) in zip(utf8, prefixBytes) where a | 0x20 != b { return false }
        return true
    }

    /// Removes every `x-authorizer-*` header a client sent, so none can be forged.
    static func stripForged(_ headers: inout HTTPHeaders) {
        var forged: [String] = []
        for (name, _) in headers where hasPrefix(name) { forged.append(name) }
        for name in forged { headers.remove(name: name) }
    }

    /// Adds the verdict's headers.
    static func add(_ forwarding: Forwarding, to headers: inout HTTPHeaders) {
        for (name, value) in zip(forwarding.headerNames, forwarding.headerValues) { headers.add(name: name, value: value) }
    }
}
