import Foundation
import GatewayCore
import OpenAPIKit
import Yams

/// Compiles `gateway.yaml` and the API documents beside it into a `GatewayPlan`, or reports every
/// problem found with its file and line. Nothing is half-compiled: any error means no plan.
public struct PlanCompiler: Sendable {
    /// Names of the local functions compiled into this gateway.
    public var functionNames: Set<String>
    public var defaultTimeout: Duration = .seconds(29)

    static let operationKeys: Set<String> = ["function", "upstream", "timeout", "throttle"]
    static let documentKeys: Set<String> = ["upstream", "timeout"]

    public init(functionNames: Set<String>) {
        self.functionNames = functionNames
    }

    /// Loads `configPath` and every API document in its folder.
    public func compile(configPath: String) throws(ConfigErrors) -> GatewayPlan {
        let config: GatewayConfig
        do {
            config = try GatewayConfig.load(path: configPath)
        } catch {
            throw ConfigErrors([error])
        }
        let (documents, loadErrors) = APIDocument.loadAll(directory: config.routesDirectory, exclude: configPath)
        return try compile(config: config, documents: documents, loadErrors: loadErrors)
    }

    public func compile(config: GatewayConfig, documents: [APIDocument], loadErrors: [ConfigError] = []) throws(ConfigErrors) -> GatewayPlan {
        var errors = loadErrors
        var operations: [OperationPlan] = []
        var router = Router()
        for document in documents {
            do {
                for op in try compileOperations(document, config: config) {
                    let template: PathTemplate
                    do {
                        template = try PathTemplate(op.plan.path)
                    } catch {
                        errors.append(ConfigError(file: document.file, line: op.line, error.description))
                        continue
                    }
                    do {
                        try router.add(template, method: op.plan.method, operation: operations.count)
                        operations.append(op.plan)
                    } catch {
                        let other = operations[error.existing]
                        errors.append(ConfigError(file: document.file, line: op.line,
                            "\(op.plan.routeKey) conflicts with \(other.routeKey) in \(other.document)"))
                    }
                }
            } catch {
                errors.append(error)
            }
        }
        let operationIds = Set(operations.compactMap(\.operationId))
        for (planName, plan) in config.plans {
            for id in plan.operations.keys.sorted() where !operationIds.contains(id) {
                errors.append(ConfigError(file: config.file, "plans.\(planName).operations: no operation has operationId '\(id)'"))
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return GatewayPlan(config: config, operations: operations, router: router, documents: documents.map(\.file))
    }

    struct CompiledOperation {
        var plan: OperationPlan
        var line: Int?
    }

    private func compileOperations(_ document: APIDocument, config: GatewayConfig) throws(ConfigError) -> [CompiledOperation] {
        let source = document.source
        var docUpstream: String?
        var docTimeout: Duration?
        if let node = source.root.mapping?["x-gateway"] {
            let ext = try YAMLMap(node, in: source, context: "x-gateway")
            try ext.requireOnly(Self.documentKeys)
            docUpstream = try ext.string("upstream")
            docTimeout = try ext.duration("timeout")
            if let name = docUpstream, config.upstreams[name] == nil {
                throw source.error(ext.node("upstream"), "x-gateway.upstream '\(name)' is not defined in \(config.file)")
            }
        }

        var out: [CompiledOperation] = []
        for endpoint in document.resolved.endpoints {
            let isAny = endpoint.method == APIDocument.anyMethod
            let methodKey = isAny ? "x-gateway-any-method" : endpoint.method.rawValue.lowercased()
            let opPath = ["paths", endpoint.path.rawValue, methodKey]
            let line = source.line(at: opPath)
            let name = isAny ? "ANY \(endpoint.path.rawValue)" : "\(endpoint.method.rawValue) \(endpoint.path.rawValue)"

            let apiKey = try apiKeyRequirement(endpoint.security, name: name, file: source.file, line: line)

            var function: String?
            var upstream = docUpstream
            var timeout = docTimeout
            var throttle: GatewayConfig.Throttle?
            var extNode: Node?
            if let opNode = nodeAt(source.root, opPath), let node = opNode.mapping?["x-gateway"] {
                extNode = node
                let ext = try YAMLMap(node, in: source, context: "x-gateway of \(name)")
                try ext.requireOnly(Self.operationKeys)
                function = try ext.string("function")
                let opUpstream = try ext.string("upstream")
                if let u = opUpstream { upstream = u }
                if let t = try ext.duration("timeout") { timeout = t }
                if let t = try ext.map("throttle") { throttle = try GatewayConfig.throttle(t) }
                if function != nil && opUpstream != nil {
                    throw source.error(node, "\(name): x-gateway names both a function and an upstream")
                }
            }

            let target: OperationPlan.Target
            if let function {
                guard functionNames.contains(function) else {
                    let known = functionNames.sorted().joined(separator: ", ")
                    throw source.error(extNode, "\(name): function '\(function)' is not registered (registered: \(known))")
                }
                target = .function(function)
            } else if let upstream {
                guard config.upstreams[upstream] != nil else {
                    throw source.error(extNode, "\(name): upstream '\(upstream)' is not defined in \(config.file)")
                }
                target = .upstream(upstream)
            } else if let fallback = config.defaultUpstream {
                target = .upstream(fallback)
            } else {
                throw ConfigError(file: source.file, line: line,
                    "\(name) has no x-gateway function or upstream, and \(config.file) has no default upstream")
            }

            let effectiveTimeout: Duration
            if let timeout {
                effectiveTimeout = timeout
            } else if case .upstream(let u) = target {
                effectiveTimeout = config.upstreams[u]!.timeout
            } else {
                effectiveTimeout = defaultTimeout
            }

            for base in APIDocument.basePaths(endpoint.servers) {
                let path = base + endpoint.path.rawValue
                out.append(CompiledOperation(
                    plan: OperationPlan(method: isAny ? nil : endpoint.method.rawValue, path: path,
                                        operationId: endpoint.operationId, target: target,
                                        timeout: effectiveTimeout, throttle: throttle, apiKey: apiKey,
                                        document: source.file),
                    line: line))
            }
        }
        return out
    }

    /// The API key an operation's `security` asks for. Only `apiKey` schemes can be enforced by
    /// this version; any other scheme is refused rather than served unprotected.
    private func apiKeyRequirement(_ security: [DereferencedSecurityRequirement], name: String,
                                   file: String, line: Int?) throws(ConfigError) -> OperationPlan.APIKeyRequirement? {
        guard !security.isEmpty else { return nil }
        var optional = false
        var found: OperationPlan.APIKeyRequirement?
        for requirement in security {
            if requirement.schemes.isEmpty {
                optional = true
                continue
            }
            guard requirement.schemes.count == 1, let (schemeName, scoped) = requirement.schemes.first else {
                throw ConfigError(file: file, line: line,
                    "\(name): a security requirement combining several schemes (\(requirement.schemes.keys.sorted().joined(separator: ", "))) cannot be enforced; refusing to serve it unprotected")
            }
            guard case .apiKey(let keyName, let location) = scoped.securityScheme.type else {
                throw ConfigError(file: file, line: line,
                    "\(name) requires security scheme '\(schemeName)', which is not of type apiKey and cannot be enforced by this version; refusing to serve it unprotected")
            }
            let requirement = OperationPlan.APIKeyRequirement(
                scheme: schemeName, location: .init(rawValue: location.rawValue) ?? .header, name: keyName, optional: false)
            if let found, found != requirement {
                throw ConfigError(file: file, line: line, "\(name) lists two different apiKey schemes; use one")
            }
            found = requirement
        }
        found?.optional = optional
        return found
    }

    private func nodeAt(_ root: Node, _ path: [String]) -> Node? {
        var node = root
        for key in path {
            guard let next = node.mapping?[key] else { return nil }
            node = next
        }
        return node
    }
}
