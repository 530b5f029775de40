import NIOHPACK

/// The checks of RFC 9113 §8.2–8.3 on a header block a client sent: the request's first block or
/// its trailers. A stream whose block fails them is malformed, and `HTTP2StreamCodec` resets it
/// with PROTOCOL_ERROR before any other handler sees it.
///
/// NIOHTTP2 makes the same checks itself (`HeaderBlockValidator`), but only together with the
/// same checks of every block the gateway sends, and both cost about 23,000 instructions per
/// request (10% of `bench/callgrind http2`): its loops go through `String` views and compare
/// names as strings. The gateway turns NIOHTTP2's off (`GatewayServer.http2Configuration`) and
/// makes these, which accept and refuse what NIOHTTP2 1.46's accept and refuse:
///
/// - every name is a token of lower-case letters, digits and `!#$%&'*+-.^_`|~`, after a leading
///   `:` for a pseudo-header;
/// - pseudo-headers come before the other fields, each at most once, and are among `:method`,
///   `:scheme`, `:path` and `:authority` (`:status` and `:protocol` are refused: the gateway does
///   not offer extended CONNECT); a request has `:method`, `:scheme` and a non-empty `:path`,
///   a CONNECT request `:method` and `:authority` only; trailers have none;
/// - a pseudo-header's value has no byte up to and with space, and no DEL;
/// - no connection-specific field (`connection`, `keep-alive`, `proxy-connection`,
///   `transfer-encoding`, `upgrade`), and in a request `te` only as `trailers`;
/// - no field value holds NUL, CR or LF.
///
/// What the gateway sends is checked where it is made: fields from upstream responses by the
/// response parser, function headers by `FunctionEventBuilder`, names lower-cased and
/// connection-specific fields removed by `HTTP2StreamCodec`.
enum HTTP2RequestBlock {
    /// Why `headers` is malformed, or nil when it is not. `trailers`: the block after the first.
    static func problem(_ headers: HPACKHeaders, trailers: Bool) -> String? {
        var seen: Pseudo = []
        var regularStarted = false
        var connect = false
        for (name, value, _) in headers {
            let field = withBytes(name) { Self.field($0) }
            switch field {
            case .invalidName:
                return "an invalid field name"
            case .pseudo(let pseudo):
                if regularStarted { return "a pseudo-header after a regular field" }
                if withBytes(value, FieldBytes.containsSpaceOrControl) { return "an invalid pseudo-header value" }
                guard !pseudo.isEmpty else { return "an unknown pseudo-header" }
                if pseudo == .protocolField { return "the :protocol pseudo-header (no extended CONNECT)" }
                if seen.contains(pseudo) { return "a repeated pseudo-header" }
                seen.insert(pseudo)
                if trailers { continue }
                if pseudo == .method { connect = value == "CONNECT" }
                if pseudo == .path && value.utf8.isEmpty { return "an empty :path" }
            case .connectionSpecific:
                return "a connection-specific field"
            case .regular(let isTE):
                regularStarted = true
                if withBytes(value, FieldBytes.containsLineByte) { return "NUL, CR or LF in a field value" }
                if isTE && !trailers && value != "trailers" { return "te other than trailers" }
            }
        }
        let allowed: Pseudo, mandatory: Pseudo
        if trailers {
            allowed = []
            mandatory = []
        } else if connect {
            allowed = [.method, .authority]
            mandatory = [.method, .authority]
        } else {
            allowed = [.path, .method, .scheme, .authority]
            mandatory = [.path, .method, .scheme]
        }
        guard allowed.isSuperset(of: seen), mandatory.isSubset(of: seen) else { return "missing or unexpected pseudo-headers" }
        return nil
    }

    private struct Pseudo: OptionSet {
        let rawValue: UInt8
        static let path = Pseudo(rawValue: 1)
        static let method = Pseudo(rawValue: 2)
        static let scheme = Pseudo(rawValue: 4)
        static let authority = Pseudo(rawValue: 8)
        static let status = Pseudo(rawValue: 16)
        static let protocolField = Pseudo(rawValue: 32)
    }

    private enum Field {
        case invalidName
        /// Empty: a pseudo-header of no known name.
        case pseudo(Pseudo)
        case connectionSpecific
        case regular(isTE: Bool)
    }

    /// What a field name is, in one pass over its bytes.
    private static func field(_ name: UnsafeBufferPointer<UInt8>) -> Field {
        let isPseudo = name.first == UInt8(ascii: ":")
        let base = isPseudo ? UnsafeBufferPointer(rebasing: name[1...]) : name
        guard !base.isEmpty, FieldBytes.isLowerToken(base) else { return .invalidName }
        if isPseudo {
            switch base.count {
            case 4 where same(base, "path"): return .pseudo(.path)
            case 6 where same(base, "method"): return .pseudo(.method)
            case 6 where same(base, "scheme"): return .pseudo(.scheme)
            case 6 where same(base, "status"): return .pseudo(.status)
            case 8 where same(base, "protocol"): return .pseudo(.protocolField)
            case 9 where same(base, "authority"): return .pseudo(.authority)
            default: return .pseudo([])
            }
        }
        switch base.count {
        case 2 where same(base, "te"): return .regular(isTE: true)
        case 7 where same(base, "upgrade"),
             10 where same(base, "connection") || same(base, "keep-alive"),
             16 where same(base, "proxy-connection"),
             17 where same(base, "transfer-encoding"):
            return .connectionSpecific
        default:
            return .regular(isTE: false)
        }
    }

    @inline(__always)
    private static func same(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        for i in 0..<bytes.count where bytes[i] != text.utf8Start[i] { return false }
        return true
    }

    @inline(__always)
    private static func withBytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = s.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(s.utf8).withUnsafeBufferPointer(body)
    }
}
