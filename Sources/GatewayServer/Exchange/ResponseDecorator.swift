import NIOHTTP1

/// The one place where the gateway's own headers are added to every response — a function's,
/// an upstream's, or one the gateway makes: the request id, and the RateLimit fields of keyed
/// requests.
enum ResponseDecorator {
    static func decorate(_ headers: inout HTTPHeaders, for request: RequestContext) {
        if !headers.contains(name: "x-request-id") {
            headers.add(name: "x-request-id", value: request.requestId)
        }
        for (name, value) in request.rateLimitHeaders { headers.replaceOrAdd(name: name, value: value) }
    }
}
