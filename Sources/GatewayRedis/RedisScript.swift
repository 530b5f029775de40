import Crypto

/// A Lua script called by its SHA-1 (`EVALSHA`); the client sends the source (`EVAL`) once when
/// the server answers `NOSCRIPT` (first use, or after a restart or `SCRIPT FLUSH`), which also
/// loads it for the next calls.
public struct RedisScript: Sendable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }
}
