import GatewayCore
import NIOCore

/// A function route's last step when no body validation runs: a JSON body with a repeated
/// object key is refused (I-JSON, RFC 7493) before the function could read the other value than
/// a validator would. Other bodies, valid JSON or not, are the function's to judge.
struct RepeatedKeyFilter: RequestFilter {
    let bodyLimit: Int

    func run(_ request: RequestContext, on loop: any EventLoop) -> FilterStatus {
        guard request.bodyCheck == nil, let type = request.head.headers.first(name: "content-type")?.lowercased(),
              type.hasPrefix("application/json") || type.contains("+json") else { return .next }
        guard request.bodyRead else { return .needBody(limit: bodyLimit) }
        guard let body = request.body, body.readableBytes > 0 else { return .next }
        let pointer: String? = body.withUnsafeReadableBytes { raw in
            do throws(JSONParseError) { _ = try JSONParser.parse(raw) } catch { return error.pointer }
            return nil
        }
        guard let pointer else { return .next }
        return .respond(GatewayError(status: 400, message: "Invalid request body",
                                     errors: [.init(in: "body", pointer: pointer, message: "is a repeated object key")]))
    }
}
