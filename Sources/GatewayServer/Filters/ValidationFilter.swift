import GatewayCore
import GatewayPlan
import GatewayValidation
import NIOCore
import NIOHTTP1

/// Step 7: the request against its operation's parameters, then its body — a 415 for a media
/// type the operation does not take, a 400 for a required body that is missing, or the whole
/// body read (up to the operation's limit) and validated before the action sees it.
struct ValidationFilter: RequestFilter {
    let validator: OperationValidator
    let bodyLimit: Int

    func run(_ request: RequestContext, on loop: any EventLoop) -> FilterStatus {
        if request.bodyRead {
            guard let check = request.bodyCheck else { return .next }
            let bytes = request.body ?? ByteBuffer()
            if let failure = bytes.withUnsafeReadableBytes({ validator.validateBody($0, entry: check.entry, form: check.form) }) {
                request.validationFailed = true
                return .respond(failure)
            }
            return .next
        }
        if validator.checksParameters {
            // A closure that captures the headers is allocated: made only when a parameter is
            // read from a header or a cookie.
            let header: (String) -> [String]
            if validator.readsHeaders {
                let headers = request.head.headers
                header = { headers[$0] }
            } else {
                header = { _ in [] }
            }
            let values = RequestValues(pathNames: request.pathParameterNames, pathValues: request.pathParameterValues,
                                       query: request.query, header: header)
            if let error = validator.validateParameters(values) {
                request.validationFailed = true
                return .respond(error)
            }
        }
        // A head without any of the body's fields (the usual GET) is not searched for them.
        let fields = request.mayHaveBodyFields
        switch validator.bodyPlan(contentType: fields ? request.head.headers.first(name: "content-type") : nil,
                                  bodyExpected: fields ? Self.bodyExpected(request.head, isHTTP2: request.isHTTP2) : request.isHTTP2) {
        case .pass:
            return .next
        case .refuse(let error):
            request.validationFailed = true
            return .respond(error)
        case .validate(let entry, let form):
            request.bodyCheck = (entry, form)
            return .needBody(limit: bodyLimit)
        }
    }

    /// Whether the head announces a body. An HTTP/2 request without `content-length` may have one.
    static func bodyExpected(_ head: HTTPRequestHead, isHTTP2: Bool) -> Bool {
        if let length = head.headers.first(name: "content-length") { return length != "0" }
        return head.headers.contains(name: "transfer-encoding") || isHTTP2
    }
}
