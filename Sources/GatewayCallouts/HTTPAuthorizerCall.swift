import AsyncHTTPClient
import Foundation
import GatewayAuthorizers
import GatewayCore
import NIOCore
import NIOHTTP1

/// The callout to an HTTP authorizer: the event POSTed as JSON, the answer read as one of AWS's
/// two shapes. A 401 answer means "unauthorized" (AWS's Lambda convention); any other non-2xx
/// status, a malformed answer or a timeout is a failure.
enum HTTPAuthorizerCall {
    static let maxAnswerBytes = 1 << 20

    static func call(url: String, event: JSONValue, requestId: String, timeout: Duration,
                     client: HTTPClient) async throws -> Authorizer.Outcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "x-request-id", value: requestId)
        request.body = .bytes(ByteBuffer(bytes: event.serialized()))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Int64(Authorizer.nanoseconds(timeout))))
        } catch {
            return .failure(AuthorizerFailure("cannot reach \(url): \(error)"))
        }
        let body = try await response.body.collect(upTo: maxAnswerBytes)
        if response.status == .unauthorized {
            return .success(.unauthorized(reason: "the authorizer answered 401"))
        }
        guard (200..<300).contains(response.status.code) else {
            return .failure(AuthorizerFailure("the authorizer answered \(response.status.code)"))
        }
        let answer: JSONValue
        do {
            answer = try JSONValue.parse(Data(body.readableBytesView))
        } catch {
            return .failure(AuthorizerFailure("the answer is not JSON"))
        }
        do {
            return .success(.verdict(try AuthorizerVerdict.parse(answer)))
        } catch {
            return .failure(AuthorizerFailure("malformed answer: \(error.description)"))
        }
    }
}
