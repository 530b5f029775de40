import GatewayCore
import GatewayPlan

/// A route of the running gateway, bound once when a runtime is installed: its operation (nil
/// for the fallback route), its filter chain in DESIGN.md's order, and its action.
final class Route: Sendable {
    enum Action: Sendable {
        case dispatch(any Dispatcher)
        /// No operation matched and there is no default upstream: 404, or 405 with `Allow`.
        case unmatched
    }

    let operation: OperationPlan?
    let filters: [any RequestFilter]
    let action: Action
    /// The largest body the route reads whole (for a filter or a function).
    let bodyLimit: Int
    /// The route's label in logs and metrics: the operationId, or `METHOD /template`, or
    /// `default` for what no operation describes.
    let label: String
    /// The operation's CORS policy, kept apart so that the response path reads it without
    /// copying the whole `OperationPlan`.
    let cors: CORSPolicy?
    /// The operation takes a gateway API key (the handler then lends the request its connection's
    /// `PresentedKeyMemo`).
    let takesKey: Bool
    /// The header that carries the operation's API key, if it is carried in one (left out of
    /// what goes upstream).
    let keyHeader: String?
    /// The operation's API name in method ARNs (`gateway` for the fallback route).
    let api: String

    init(operation: OperationPlan?, filters: [any RequestFilter], action: Action, bodyLimit: Int) {
        self.operation = operation
        self.filters = filters
        self.action = action
        self.bodyLimit = bodyLimit
        self.label = operation.map { $0.operationId ?? $0.routeKey } ?? "default"
        self.cors = operation?.cors
        self.takesKey = operation?.apiKey != nil
        self.keyHeader = operation?.apiKey.flatMap { $0.location == .header ? $0.name : nil }
        self.api = operation?.api ?? "gateway"
    }
}
