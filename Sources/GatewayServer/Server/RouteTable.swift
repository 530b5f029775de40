import GatewayCallouts
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayPolicies
import NIOCore
import Logging

/// A runtime bound for the data plane, once, when it is installed (Hummingbird's
/// `buildResponder()`): every operation's route with its filter chain and its action's
/// dispatcher, and the fallback route for what no operation matches. Nothing is looked up by
/// name per request. Immutable; a reload installs a new table.
final class RouteTable: Sendable {
    let runtime: GatewayRuntime
    /// By operation index (as the router returns them).
    let routes: [Route]
    /// Requests no operation matches: the default upstream, or 404/405.
    let fallback: Route

    var plan: GatewayPlan { runtime.plan }

    /// Every pool key the routes' upstream dispatchers use.
    var poolKeys: Set<PoolKey> {
        var keys: Set<PoolKey> = []
        for route in routes + [fallback] {
            if case .dispatch(let d) = route.action, let upstream = d as? UpstreamDispatcher { keys.formUnion(upstream.poolKeys) }
        }
        return keys
    }
    var limits: GatewayConfig.Limits { runtime.plan.config.limits }

    init(runtime: GatewayRuntime, policies: PolicyState, work: OutstandingWork, guards: [String: UpstreamGuard] = [:],
         migrations: MigrationRoutes? = nil, workers: FunctionWorkers? = nil, logger: Logger) throws(ConfigErrors) {
        let migrations = migrations ?? MigrationRoutes(logger: logger)
        self.runtime = runtime
        let plan = runtime.plan
        let config = plan.config
        var errors: [ConfigError] = []
        var gatewayFilters: [any RequestFilter] = []
        if let throttle = config.throttle {
            gatewayFilters.append(GatewayThrottleFilter(limiter: policies.limiter, throttle: throttle))
        }
        func upstreamDispatcher(_ binding: RouteAction.UpstreamBinding) -> UpstreamDispatcher {
            let tls = runtime.upstreamTLS[binding.upstream.name]
            return UpstreamDispatcher(upstream: binding.upstream, timeout: binding.timeout, tls: tls?.context,
                                      tlsSettings: tls?.settings ?? "", guard: guards[binding.upstream.name])
        }
        func dispatcher(for action: RouteAction, name: String) throws(ConfigError) -> any Dispatcher {
            switch action {
            case .function(let binding) where binding.process != nil:
                guard let workers, let process = binding.process else {
                    throw ConfigError(file: config.file, "function '\(binding.name)' runs as worker processes, which this server does not start")
                }
                return ProcessFunctionDispatcher(pool: workers.pool(for: process), timeout: TimeAmount(binding.timeout),
                                                 logger: logger, work: work)
            case .function(let binding):
                guard let function = runtime.functions[binding.name] else {
                    throw ConfigError(file: config.file, "function '\(binding.name)' is not registered")
                }
                return LocalFunctionDispatcher(name: binding.name, function: function, timeout: TimeAmount(binding.timeout),
                                               logger: logger, work: work)
            case .upstream(let binding):
                return upstreamDispatcher(binding)
            case .migration(let binding):
                return MigrationDispatcher(candidate: try dispatcher(for: binding.candidate, name: name),
                                           legacy: upstreamDispatcher(binding.legacy),
                                           route: migrations.route(name, config: binding.config),
                                           captureLimit: config.limits.maxBufferedBody)
            }
        }
        // Every defined process function gets its workers, bound by a route or not (`invoke`
        // and the next reload may use it).
        if let workers { _ = workers.prepare(config) }
        var routes: [Route] = []
        for operation in plan.operations {
            var filters = gatewayFilters
            if let requirement = operation.apiKey {
                filters.append(APIKeyFilter(requirement: requirement, policies: policies, plans: runtime.keyPlans))
            }
            if let requirement = operation.authorizer {
                guard let authorizer = runtime.authorizers[requirement.id] else {
                    errors.append(ConfigError(file: operation.document, "authorizer '\(requirement.id)' is not set up"))
                    continue
                }
                filters.append(AuthorizerFilter(authorizer: authorizer, requirement: requirement))
            }
            if operation.apiKey != nil || operation.throttle != nil {
                filters.append(AdmissionFilter(limiter: policies.limiter, shared: policies.shared, failure: config.stateFailure,
                                               routeKey: HashedName(operation.routeKey),
                                               operationThrottle: operation.throttle, operationId: operation.operationId))
            }
            let bodyLimit = operation.maxBodyBytes ?? config.limits.maxBufferedBody
            if let validator = operation.validator {
                filters.append(ValidationFilter(validator: validator, bodyLimit: bodyLimit))
            }
            do {
                let action = try dispatcher(for: operation.action, name: operation.routeName)
                if action.needsWholeBody {
                    // A function never sees a JSON body with a repeated key (validated bodies were
                    // checked by the validator's parser already).
                    filters.append(RepeatedKeyFilter(bodyLimit: bodyLimit))
                }
                routes.append(Route(operation: operation, filters: filters, action: .dispatch(action), bodyLimit: bodyLimit))
            } catch {
                errors.append(error)
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        self.routes = routes
        if let fallback = plan.defaultAction {
            do {
                self.fallback = Route(operation: nil, filters: gatewayFilters, action: .dispatch(try dispatcher(for: fallback, name: "default")),
                                      bodyLimit: config.limits.maxBufferedBody)
            } catch {
                throw ConfigErrors([error])
            }
        } else {
            self.fallback = Route(operation: nil, filters: gatewayFilters, action: .unmatched,
                                  bodyLimit: config.limits.maxBufferedBody)
        }
    }
}
