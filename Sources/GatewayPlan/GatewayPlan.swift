import Foundation
import GatewayAuthorizers
import GatewayCore
/// Everything the data plane needs, compiled once from `gateway.yaml` and the API documents.
/// Immutable: a reload builds a new plan and swaps it in whole.
public struct GatewayPlan: Sendable {
    public let config: GatewayConfig
    public let operations: [OperationPlan]
    public let router: Router
    /// The authorizers operations refer to, by `AuthorizerConfig.id`.
    public let authorizers: [String: AuthorizerConfig]
    /// The API documents the plan was compiled from.
    public let documents: [String]
    /// What requests no operation matches get: the default upstream, resolved; nil: 404/405.
    public let defaultAction: RouteAction?

    public init(config: GatewayConfig, operations: [OperationPlan], router: Router,
                authorizers: [String: AuthorizerConfig] = [:], documents: [String]) {
        self.config = config
        self.operations = operations
        self.router = router
        self.authorizers = authorizers
        self.documents = documents
        self.defaultAction = config.defaultUpstream.flatMap { config.upstreams[$0] }
            .map { .upstream(.init(upstream: $0, timeout: $0.timeout)) }
    }

    /// What an operation applies before its action, in words (`check`'s table, `/admin/routes`).
    public func policies(of op: OperationPlan) -> [String] {
        var policies = ["timeout \(ConfigDuration.describe(op.timeout))"]
        if let key = op.apiKey { policies.append("api key (\(key.location.rawValue) \(key.name)\(key.optional ? ", optional" : ""))") }
        if let a = op.authorizer, let config = authorizers[a.id] {
            let what: String
            switch config.kind {
            case .callout(let c): what = "authorizer \(config.scheme) (\(c.type.rawValue), \(c.target))"
            case .jwt(let j): what = "jwt \(config.scheme) (issuer \(j.issuer))"
            }
            let scopes = a.scopes.isEmpty ? "" : " scopes \(a.scopes.joined(separator: " "))"
            policies.append(what + scopes + (a.optional ? ", optional" : ""))
        }
        if let t = op.throttle { policies.append("throttle \(t.rate)/s burst \(t.burst)") }
        if op.validator != nil { policies.append("validated") }
        if op.cors != nil { policies.append("cors") }
        return policies
    }

    /// The route table, one line per operation, for `gateway check`.
    public func routeTable() -> String {
        var rows: [[String]] = [["METHOD", "PATH", "TARGET", "POLICIES", "DOCUMENT"]]
        for op in operations.sorted(by: { ($0.path, $0.method ?? "~") < ($1.path, $1.method ?? "~") }) {
            rows.append([op.method ?? "ANY", op.path, op.target.description, policies(of: op).joined(separator: ", "), op.document])
        }
        if let name = config.defaultUpstream {
            rows.append(["*", "(anything else)", "upstream \(name)", "", config.file])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
