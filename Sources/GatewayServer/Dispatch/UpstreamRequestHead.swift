import NIOCore
import NIOHTTP1

/// A request head for an upstream, already written as HTTP/1.1 bytes
/// (`HeaderRules.upstreamRequestHead`), with what the connection needs to know of it: the method
/// (a response to HEAD has no body) and whether the body that follows goes chunked. Kept by the
/// exchange to send again on a retry.
struct UpstreamRequestHead {
    let bytes: ByteBuffer
    let method: HTTPMethod
    let chunked: Bool
}
