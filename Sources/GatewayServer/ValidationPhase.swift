import GatewayCore
import GatewayPlan
import GatewayValidation
import NIOHTTP1

/// Phase 6: the request against its operation's parameters, then what its body will need — a
/// 415 for a media type the operation does not take, a 400 for a required body that is missing,
/// or reading the whole body to validate it before dispatch.
enum ValidationPhase {
    static func run(_ request: RequestContext, isHTTP2: Bool, bodyCheck: inout (entry: Int, form: Bool)?) -> PhaseOutcome {
        guard let validator = request.operation?.validator else { return .proceed }
        if validator.checksParameters {
            let headers = request.head.headers
            let values = RequestValues(pathParameters: request.pathParameters, query: request.query,
                                       header: { headers[$0] })
            if let error = validator.validateParameters(values) { return .answer(error) }
        }
        switch validator.bodyPlan(contentType: request.head.headers.first(name: "content-type"),
                                  bodyExpected: bodyExpected(request.head, isHTTP2: isHTTP2)) {
        case .pass:
            return .proceed
        case .refuse(let error):
            return .answer(error)
        case .validate(let entry, let form):
            bodyCheck = (entry, form)
            return .proceed
        }
    }

    /// Whether the head announces a body. An HTTP/2 request without `content-length` may have one.
    static func bodyExpected(_ head: HTTPRequestHead, isHTTP2: Bool) -> Bool {
        if let length = head.headers.first(name: "content-length") { return length != "0" }
        return head.headers.contains(name: "transfer-encoding") || isHTTP2
    }
}
