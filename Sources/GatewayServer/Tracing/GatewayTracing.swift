import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import OTel
import ServiceLifecycle
import Tracing

/// Span export over OTLP/HTTP with swift-otel (`tracing.otlp`, `tracing.sample`): a server span per
/// request, continuing the client's W3C trace, and a client span for its upstream call or
/// function invocation. The server span's context is what upstreams and functions receive as
/// `traceparent` (through `TraceContext`). The exporter runs as a service in a task of its own
/// and is flushed when the gateway stops.
public final class GatewayTracing: Sendable {
    private let tracer: any Tracer
    private let group: ServiceGroup
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// - Parameters:
    ///   - otlp: the collector's base URL (`/v1/traces` is appended unless given).
    ///   - sample: the fraction of new traces sampled (a client's sampled flag is followed).
    public init(otlp: String, sample: Double, logger: Logger) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "gateway"
        configuration.diagnosticLogger = .custom(logger)
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = otlp.hasSuffix("/v1/traces")
            ? otlp : (otlp.hasSuffix("/") ? otlp + "v1/traces" : otlp + "/v1/traces")
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: sample) ?? .parentBasedAlwaysOn
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        self.tracer = tracer
        self.group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
    }

    public func start() {
        let group = self.group
        task.withLockedValue { $0 = Task { try? await group.run() } }
    }

    /// Exports what is buffered and stops the exporter.
    public func stop() async {
        await group.triggerGracefulShutdown()
        let running = task.withLockedValue { $0 }
        await running?.value
    }

    /// The server span for a request head, continuing the client's trace when it sent one.
    func serverSpan(_ head: HTTPRequestHead, name: String, startNanoseconds: UInt64) -> any Span {
        var context = InstrumentationContext.topLevel
        tracer.extract(head.headers, into: &context, using: HeadersExtractor())
        return tracer.startSpan(name, context: context, ofKind: .server,
                                at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: startNanoseconds),
                                function: #function, file: #fileID, line: #line)
    }

    /// A span's `traceparent`, as the W3C propagator writes it.
    func traceparent(of span: any Span) -> String? {
        var carrier: [String: String] = [:]
        tracer.inject(span.context, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"]
    }

    /// Ends the request's spans with what the exchange came to: the client span of its upstream
    /// call or invocation (when there was one), then the server span.
    func finish(_ request: RequestContext, span: any Span, endNanoseconds: UInt64) {
        var attributes = span.attributes
        attributes["http.request.method"] = request.head.method.rawValue
        attributes["http.route"] = request.route.label
        attributes["url.path"] = String(request.path)
        attributes["http.response.status_code"] = request.status
        attributes["client.address"] = request.remoteIP
        attributes["gateway.request_id"] = request.requestId
        attributes["gateway.target"] = "\(request.target)"
        if let reason = request.throttledBy { attributes["gateway.throttled"] = reason.rawValue }
        if request.validationFailed { attributes["gateway.validation_failed"] = true }
        if let key = request.keyId { attributes["gateway.api_key_id"] = key }
        if let reason = request.abortReason { attributes["gateway.aborted"] = reason }
        span.attributes = attributes
        if request.status >= 500 || request.abortReason != nil { span.setStatus(SpanStatus(code: .error)) }
        if let start = request.dispatchStart {
            let end = request.dispatchAnswered ?? .now()
            let wallStart = UInt64(max(0, request.startWallClock)) * 1_000_000 + UInt64(max(0, (start - request.start).nanoseconds))
            let wallEnd = wallStart + UInt64(max(0, (end - start).nanoseconds))
            let client = tracer.startSpan("\(request.target)", context: span.context, ofKind: .client,
                                          at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: wallStart),
                                          function: #function, file: #fileID, line: #line)
            client.attributes["gateway.target"] = "\(request.target)"
            client.end(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: wallEnd))
        }
        span.end(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: endNanoseconds))
    }
}

struct HeadersExtractor: Extractor {
    func extract(key: String, from carrier: HTTPHeaders) -> String? { carrier.first(name: key) }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

/// Ends each request's spans.
struct TracingObserver: ExchangeObserver {
    let tracing: GatewayTracing
    func exchangeEnded(_ request: RequestContext, local: LoopLocal?) {
        guard let span = request.span else { return }
        request.span = nil
        tracing.finish(request, span: span, endNanoseconds: UInt64(max(0, WallClock.nowNanoseconds())))
    }
}
