import Crypto
import Foundation
import GatewayCallouts
import GatewayCore
import GatewayFunctions
import GatewayPlan
import Logging
import NIOCore
import NIOSSL

/// What the data plane reads per request: the compiled plan plus what was built from it once
/// (TLS client contexts for `https://` upstreams). Immutable; a reload swaps in a new one. A class:
/// each request takes one reference to it.
public final class GatewayRuntime: Sendable {
    public let plan: GatewayPlan
    public let functions: FunctionRegistry
    /// The client TLS context of each upstream with `https://` targets, and what it was made
    /// from: pooled connections are kept per settings, so a reload that changes a CA file never
    /// reuses a connection verified with the old one.
    let upstreamTLS: [String: UpstreamTLS]

    struct UpstreamTLS: Sendable {
        let context: NIOSSLContext
        let settings: String
    }
    /// Each plan as keyed requests use it, by name (with its `RateLimit-Policy` value).
    let keyPlans: [HashedName: KeyPlan]
    /// The plan's authorizers, each with its cache.
    public let authorizers: AuthorizerSet
    /// SHA-256 (hex) of the configuration file and every API document, as read when it was built.
    public let digest: String
    /// When it was built (milliseconds since 1970).
    public let loadedAt: Int64

    /// - Parameter previous: the runtime this one replaces on a reload: its authorizers (and their
    ///   caches) are kept where their configuration did not change.
    public init(plan: GatewayPlan, functions: FunctionRegistry, logger: Logger = Logger(label: "gateway"),
                replacing previous: GatewayRuntime? = nil) throws {
        self.plan = plan
        self.functions = functions
        var hash = SHA256()
        for file in [plan.config.file] + plan.documents {
            hash.update(data: Data(file.utf8))
            hash.update(data: (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data())
        }
        self.digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
        self.loadedAt = WallClock.nowMilliseconds()
        do {
            self.authorizers = try AuthorizerSet(configs: plan.authorizers, functions: functions, logger: logger,
                                                 reusing: previous?.authorizers)
        } catch {
            throw ConfigErrors([ConfigError(file: plan.config.file, "cannot set up authorizer \(error.description)")])
        }
        var tls: [String: UpstreamTLS] = [:]
        for (name, upstream) in plan.config.upstreams where upstream.targets.contains(where: \.tls) {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.applicationProtocols = ["http/1.1"]
            var settings = "system-roots"
            if let ca = upstream.caFile {
                configuration.trustRoots = .file(ca)
                let contents = (try? Data(contentsOf: URL(fileURLWithPath: ca))) ?? Data()
                settings = "ca:\(ca):\(contents.count):\(contents.hashValue)"
            }
            do {
                tls[name] = UpstreamTLS(context: try NIOSSLContext(configuration: configuration), settings: settings)
            } catch {
                throw ConfigErrors([ConfigError(file: plan.config.file, "upstreams.\(name): cannot set up TLS: \(error)")])
            }
        }
        self.upstreamTLS = tls
        self.keyPlans = plan.config.plans.reduce(into: [:]) { out, entry in
            out[HashedName(entry.key)] = KeyPlan(name: entry.key, config: entry.value)
        }
    }
}
