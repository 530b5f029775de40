import Foundation
import GatewayAuthorizers
import GatewayCore
import GatewayMigration
import OpenAPIKit
import Yams

/// Compiles `gateway.yaml` and the API documents beside it into a `GatewayPlan`, or reports every
/// problem found with its file and line. Nothing is half-compiled: any error means no plan.
public struct PlanCompiler: Sendable {
    /// Names of the local functions compiled into this gateway.
    public var functionNames: Set<String>
    /// Names of the local authorizer functions compiled into this gateway.
    public var authorizerFunctionNames: Set<String>
    public var defaultTimeout: Duration = .seconds(29)

    static let operationKeys: Set<String> = ["function", "upstream", "timeout", "throttle", "validate", "maxBodyBytes", "strictQueryParameters",
                                             "migration"]
    static let documentKeys: Set<String> = ["upstream", "timeout", "validate"]

    public init(functionNames: Set<String>, authorizerFunctionNames: Set<String> = []) {
        self.functionNames = functionNames
        self.authorizerFunctionNames = authorizerFunctionNames
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
        for (name, function) in config.functions.sorted(by: { $0.key < $1.key }) where functionNames.contains(name) {
            errors.append(ConfigError(file: config.file, line: function.line,
                                      "functions.\(name) is defined twice: a function compiled into the gateway has this name"))
        }
        var operations: [OperationPlan] = []
        var router = Router()
        var authorizers: [String: AuthorizerConfig] = [:]
        for document in documents {
            do {
                let security = try SecurityCompiler(source: document.source, authorizerFunctions: authorizerFunctionNames)
                for config in security.authorizers.values { authorizers[config.id] = config }
                for op in try compileOperations(document, config: config, security: security) {
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
        return GatewayPlan(config: config, operations: operations, router: router, authorizers: authorizers,
                           documents: documents.map(\.file))
    }

    struct CompiledOperation {
        var plan: OperationPlan
        var line: Int?
    }

    private func compileOperations(_ document: APIDocument, config: GatewayConfig,
                                   security: SecurityCompiler) throws(ConfigError) -> [CompiledOperation] {
        let source = document.source
        var docUpstream: String?
        var docTimeout: Duration?
        var docValidate = true
        let docCORS = try source.root.mapping?["x-gateway-cors"].map { node throws(ConfigError) in
            try CORSCompiler.policy(node, source: source, context: "x-gateway-cors")
        }
        if let node = source.root.mapping?["x-gateway"] {
            let ext = try YAMLMap(node, in: source, context: "x-gateway")
            try ext.requireOnly(Self.documentKeys)
            docUpstream = try ext.string("upstream")
            docTimeout = try ext.duration("timeout")
            docValidate = try ext.bool("validate") ?? true
            if let name = docUpstream, config.upstreams[name] == nil {
                throw source.error(ext.node("upstream"), "x-gateway.upstream '\(name)' is not defined in \(config.file)")
            }
        }

        let validation = RequestValidationCompiler(document)
        var out: [CompiledOperation] = []
        for endpoint in document.resolved.endpoints {
            let isAny = endpoint.method == APIDocument.anyMethod
            let methodKey = isAny ? "x-gateway-any-method" : endpoint.method.rawValue.lowercased()
            let opPath = ["paths", endpoint.path.rawValue, methodKey]
            let line = source.line(at: opPath)
            let name = isAny ? "ANY \(endpoint.path.rawValue)" : "\(endpoint.method.rawValue) \(endpoint.path.rawValue)"

            let (apiKey, authorizer) = try security.requirements(endpoint.security, name: name, line: line)

            var function: String?
            var upstream = docUpstream
            var timeout = docTimeout
            var throttle: GatewayConfig.Throttle?
            var validate = docValidate
            var maxBodyBytes: Int?
            var strictQuery = false
            var extNode: Node?
            var migration: MigrationConfig?
            var cors = docCORS
            if let node = nodeAt(source.root, opPath)?.mapping?["x-gateway-cors"] {
                cors = try CORSCompiler.policy(node, source: source, context: "x-gateway-cors of \(name)")
            }
            if let opNode = nodeAt(source.root, opPath), let node = opNode.mapping?["x-gateway"] {
                extNode = node
                let ext = try YAMLMap(node, in: source, context: "x-gateway of \(name)")
                try ext.requireOnly(Self.operationKeys)
                function = try ext.string("function")
                let opUpstream = try ext.string("upstream")
                if let u = opUpstream { upstream = u }
                if let t = try ext.duration("timeout") { timeout = t }
                if let t = try ext.map("throttle") { throttle = try GatewayConfig.throttle(t) }
                if let v = try ext.bool("validate") { validate = v }
                strictQuery = try ext.bool("strictQueryParameters") ?? false
                if let m = try ext.int("maxBodyBytes") {
                    guard m > 0 else { throw source.error(ext.node("maxBodyBytes"), "\(name): x-gateway.maxBodyBytes must be a positive integer") }
                    maxBodyBytes = m
                }
                if function != nil && opUpstream != nil {
                    throw source.error(node, "\(name): x-gateway names both a function and an upstream")
                }
                if let m = try ext.map("migration") { migration = try MigrationCompiler.migration(m, config: config) }
            }

            var action: RouteAction
            if let function {
                if let process = config.functions[function] {
                    action = .function(.init(name: function, timeout: timeout ?? process.timeout ?? defaultTimeout, process: process))
                } else {
                    guard functionNames.contains(function) else {
                        let known = functionNames.union(config.functions.keys).sorted().joined(separator: ", ")
                        throw source.error(extNode, "\(name): function '\(function)' is not registered: neither compiled in nor in \(config.file)'s functions (known: \(known))")
                    }
                    action = .function(.init(name: function, timeout: timeout ?? defaultTimeout))
                }
            } else if let upstreamName = upstream ?? config.defaultUpstream {
                guard let resolved = config.upstreams[upstreamName] else {
                    throw source.error(extNode, "\(name): upstream '\(upstreamName)' is not defined in \(config.file)")
                }
                action = .upstream(.init(upstream: resolved, timeout: timeout ?? resolved.timeout))
            } else {
                throw ConfigError(file: source.file, line: line,
                    "\(name) has no x-gateway function or upstream, and \(config.file) has no default upstream")
            }

            if let migration, let legacy = config.upstreams[migration.from] {
                if case .upstream(let candidate) = action, candidate.upstream.name == migration.from {
                    throw source.error(extNode, "\(name): the migration's candidate is upstream '\(migration.from)', the same as its `from`; name the new code with x-gateway.function or x-gateway.upstream")
                }
                action = .migration(.init(candidate: action, legacy: .init(upstream: legacy, timeout: timeout ?? legacy.timeout),
                                          config: migration))
            }

            let validator = validate
                ? try validation.validator(path: endpoint.path.rawValue, methodKey: methodKey, name: name, line: line,
                                           rejectUnknownQuery: strictQuery)
                : nil

            for base in APIDocument.basePaths(endpoint.servers) {
                let path = base + endpoint.path.rawValue
                out.append(CompiledOperation(
                    plan: OperationPlan(method: isAny ? nil : endpoint.method.rawValue, path: path,
                                        operationId: endpoint.operationId, action: action,
                                        throttle: throttle, apiKey: apiKey,
                                        authorizer: authorizer, validator: validator, maxBodyBytes: maxBodyBytes,
                                        cors: cors, document: source.file),
                    line: line))
            }
        }
        // The YAML decoder hands keys over in no fixed order; the table keeps the document's.
        return out.sorted { ($0.line ?? 0, $0.plan.path, $0.plan.method ?? "~") < ($1.line ?? 0, $1.plan.path, $1.plan.method ?? "~") }
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
