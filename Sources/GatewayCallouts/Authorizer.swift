import AsyncHTTPClient
import Foundation
import GatewayAuthorizers
import GatewayCore
import GatewayFunctions
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One authorizer of a running gateway: its cache (behind a lock, shared by every event loop)
/// and the callout it makes on a miss — an HTTP service, a local authorizer function, or the
/// in-process JWT verifier. A thin shell around the pure `AuthorizerCache`.
public final class Authorizer: Sendable {
    public typealias Outcome = Result<AuthorizationOutcome, AuthorizerFailure>

    /// A lookup's result: answered from the cache, or a future completed on the caller's loop.
    public enum Start {
        case cached(AuthorizationOutcome)
        case pending(EventLoopFuture<Outcome>)
    }

    public let config: AuthorizerConfig
    private let cache: NIOLockedValueBox<AuthorizerCache<AuthorizationOutcome, EventLoopPromise<Outcome>>>
    private let callout: Callout
    private let logger: Logger

    enum Callout: Sendable {
        case http(url: String, client: HTTPClient)
        case function(any AuthorizerFunction)
        case jwt(JWTVerifier)
    }

    init(config: AuthorizerConfig, callout: Callout, logger: Logger) {
        self.config = config
        self.callout = callout
        self.logger = logger
        self.cache = NIOLockedValueBox(AuthorizerCache(capacity: config.cacheSize))
    }

    public var stats: AuthorizerCache<AuthorizationOutcome, EventLoopPromise<Outcome>>.Stats {
        cache.withLockedValue { $0.stats }
    }

    /// Answers from the cache, joins a callout in flight for the same key, or starts one.
    /// `event` is built only when a callout is made. `now` is monotonic nanoseconds.
    /// - Parameter requestId: read only when the authorizer is called (a cache hit makes no string).
    public func authorize(key: String, requestId: @autoclosure () -> String, on loop: any EventLoop, now: UInt64,
                          event: () -> JSONValue) -> Start {
        guard config.ttl > .zero else {
            return .pending(call(event(), requestId: requestId(), on: loop))
        }
        // The promise a waiting request resumes on is only made when it has to wait.
        var waiter: EventLoopPromise<Outcome>?
        let lookup = cache.withLockedValue { cache in
            cache.lookup(key, now: now) {
                let promise = loop.makePromise(of: Outcome.self)
                waiter = promise
                return promise
            }
        }
        switch lookup {
        case .hit(let outcome):
            return .cached(outcome)
        case .wait:
            return .pending(waiter!.futureResult)
        case .miss:
            let promise = loop.makePromise(of: Outcome.self)
            call(event(), requestId: requestId(), on: loop).whenComplete { [self] result in
                let outcome: Outcome
                switch result {
                case .success(let o): outcome = o
                case .failure(let e): outcome = .failure(AuthorizerFailure("\(e)"))
                }
                let finished = NIODeadline.now().uptimeNanoseconds
                let waiters = cache.withLockedValue {
                    $0.complete(key, value: try? outcome.get(), ttl: ttl(for: outcome, now: finished), now: finished)
                }
                promise.succeed(outcome)
                for waiter in waiters { waiter.succeed(outcome) }
            }
            return .pending(promise.futureResult)
        }
    }

    /// How long an outcome is cached, in nanoseconds.
    private func ttl(for outcome: Outcome, now: UInt64) -> UInt64 {
        switch outcome {
        case .failure: return 0
        case .success(.unauthorized): return 0
        case .success(.verdict(let verdict)):
            return Self.nanoseconds(verdict.deniesEverything ? config.denyTTL : config.ttl)
        case .success(.token(let claims)):
            // Never past the token's expiry; the claims are checked on every request anyway.
            let wall = Date().timeIntervalSince1970
            let left = max(0, (claims.expiry ?? wall) - wall)
            return min(Self.nanoseconds(config.ttl), UInt64(left * 1e9))
        }
    }

    static func nanoseconds(_ d: Duration) -> UInt64 {
        let c = d.components
        return UInt64(max(0, c.seconds)) * 1_000_000_000 + UInt64(max(0, c.attoseconds / 1_000_000_000))
    }

    /// Makes the callout with the authorizer's timeout. The future completes on `loop`.
    private func call(_ event: JSONValue, requestId: String, on loop: any EventLoop) -> EventLoopFuture<Outcome> {
        let promise = loop.makePromise(of: Outcome.self)
        let done = NIOLockedValueBox(false)
        let finish: @Sendable (Outcome) -> Void = { outcome in
            let first = done.withLockedValue { wasDone in
                defer { wasDone = true }
                return !wasDone
            }
            if first { promise.succeed(outcome) }
        }
        let timeout: Duration
        switch config.kind {
        case .callout(let c): timeout = c.timeout
        case .jwt: timeout = .seconds(10)
        }
        let callout = self.callout
        let logger = self.logger
        let id = config.id
        let task = Task {
            let outcome: Outcome
            do {
                outcome = try await Self.perform(callout, event: event, requestId: requestId, timeout: timeout, logger: logger)
            } catch let failure as AuthorizerFailure {
                outcome = .failure(failure)
            } catch {
                outcome = .failure(AuthorizerFailure("\(error)"))
            }
            finish(outcome)
        }
        loop.scheduleTask(in: .nanoseconds(Int64(Self.nanoseconds(timeout)))) {
            task.cancel()
            finish(.failure(AuthorizerFailure("no answer within \(ConfigDuration.describe(timeout))")))
        }
        return promise.futureResult.map { outcome in
            if case .failure(let failure) = outcome {
                logger.error("authorizer failed", metadata: [
                    "authorizer": "\(id)", "request_id": "\(requestId)", "reason": "\(failure.description)",
                ])
            }
            return outcome
        }
    }

    private static func perform(_ callout: Callout, event: JSONValue, requestId: String, timeout: Duration,
                                logger: Logger) async throws -> Outcome {
        switch callout {
        case .http(let url, let client):
            return try await HTTPAuthorizerCall.call(url: url, event: event, requestId: requestId,
                                                     timeout: timeout, client: client)
        case .function(let function):
            var functionLogger = logger
            functionLogger[metadataKey: "request_id"] = "\(requestId)"
            let context = FunctionContext(requestId: requestId, functionName: "authorizer", logger: functionLogger)
            let answer = try await function.authorize(event, context: context)
            do {
                return .success(.verdict(try AuthorizerVerdict.parse(answer)))
            } catch {
                return .failure(AuthorizerFailure("malformed answer: \(error.description)"))
            }
        case .jwt(let verifier):
            guard case .string(let token) = event else { return .failure(AuthorizerFailure("no token")) }
            return .success(await verifier.verify(token))
        }
    }

    /// Drops every cached verdict.
    public func clear() {
        cache.withLockedValue { $0.removeAll() }
    }
}
