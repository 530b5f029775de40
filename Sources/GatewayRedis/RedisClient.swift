import NIOCore
import NIOPosix
import NIOSSL

/// One Redis connection owned by one event loop, shared by everything on that loop: commands are
/// pipelined (written as they come, flushed once per loop tick, answered in order), each with its
/// own timeout. After a failure the client is down for a jittered backoff (50 ms doubling to 2 s),
/// during which commands fail at once with `RedisError.unavailable`; the first command after it
/// connects again. A connection says AUTH and SELECT (or HELLO 3) before anything else.
///
/// All state is touched on `eventLoop` only; `send` may be called from anywhere.
public final class RedisClient: @unchecked Sendable {
    public let eventLoop: any EventLoop
    public let configuration: RedisConfiguration
    private let tlsContext: NIOSSLContext?

    private enum State {
        case idle
        case connecting([RedisRequest])
        case ready(any Channel)
        case down(until: NIODeadline, reason: String)
        case shutdown
    }

    private var state: State = .idle
    private var backoff: TimeAmount
    private var flushScheduled = false

    /// Builds the client (and its TLS context for `rediss://`); connects on first use.
    public init(configuration: RedisConfiguration, eventLoop: any EventLoop) throws {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.backoff = configuration.minBackoff
        if configuration.tls {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let ca = configuration.caFile { tls.trustRoots = .file(ca) }
            tlsContext = try NIOSSLContext(configuration: tls)
        } else {
            tlsContext = nil
        }
    }

    /// Sends one command; an error reply fails the future with `RedisError.server`.
    public func send(_ command: RedisCommand) -> EventLoopFuture<RESPValue> {
        if eventLoop.inEventLoop { return sendOnLoop(command, timeout: configuration.timeout) }
        return eventLoop.flatSubmit { self.sendOnLoop(command, timeout: self.configuration.timeout) }
    }

    /// Sends one command with its own timeout (control-plane calls that read more).
    public func send(_ command: RedisCommand, timeout: TimeAmount) -> EventLoopFuture<RESPValue> {
        if eventLoop.inEventLoop { return sendOnLoop(command, timeout: timeout) }
        return eventLoop.flatSubmit { self.sendOnLoop(command, timeout: timeout) }
    }

    /// Runs `script` by its SHA-1, sending its source once when the server does not have it.
    public func eval(_ script: RedisScript, keys: [String], arguments: [String], timeout: TimeAmount? = nil) -> EventLoopFuture<RESPValue> {
        let timeout = timeout ?? configuration.timeout
        if eventLoop.inEventLoop { return evalOnLoop(script, keys: keys, arguments: arguments, timeout: timeout) }
        return eventLoop.flatSubmit { self.evalOnLoop(script, keys: keys, arguments: arguments, timeout: timeout) }
    }

    private func evalOnLoop(_ script: RedisScript, keys: [String], arguments: [String], timeout: TimeAmount) -> EventLoopFuture<RESPValue> {
        var command: [String] = []
        command.reserveCapacity(3 + keys.count + arguments.count)
        command.append("EVALSHA")
        command.append(script.sha1)
        command.append(String(keys.count))
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        let deadline = NIODeadline.now() + timeout
        let first = eventLoop.makePromise(of: RESPValue.self)
        dispatch(RedisRequest(command: RedisCommand(command), promise: first, deadline: deadline))
        let eventLoop = self.eventLoop
        let bound = NIOLoopBound(command, eventLoop: eventLoop)
        return first.futureResult.flatMapError { error in
            guard case RedisError.server(let message) = error, message.hasPrefix("NOSCRIPT") else {
                return eventLoop.makeFailedFuture(error)
            }
            var command = bound.value
            command[0] = "EVAL"
            command[1] = script.source
            let second = eventLoop.makePromise(of: RESPValue.self)
            self.dispatch(RedisRequest(command: RedisCommand(command), promise: second, deadline: deadline))
            return second.futureResult
        }
    }

    /// Closes the connection; later commands fail with `RedisError.shutdown`.
    public func close() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let previous = self.state
            self.state = .shutdown
            switch previous {
            case .ready(let channel): return channel.close().recover { _ in }
            case .connecting(let queue):
                for r in queue { r.promise.fail(RedisError.shutdown) }
                return self.eventLoop.makeSucceededVoidFuture()
            default: return self.eventLoop.makeSucceededVoidFuture()
            }
        }
    }

    private func sendOnLoop(_ command: RedisCommand, timeout: TimeAmount) -> EventLoopFuture<RESPValue> {
        let promise = eventLoop.makePromise(of: RESPValue.self)
        dispatch(RedisRequest(command: command, promise: promise, deadline: .now() + timeout))
        return promise.futureResult
    }

    private func dispatch(_ request: RedisRequest) {
        switch state {
        case .ready(let channel) where !channel.isActive:
            // Closed, and its close future has not run `closed` yet (NIO completes it a tick after
            // the channel goes inactive): down now, so that this command fails at once.
            closed(channel)
            dispatch(request)
        case .ready(let channel):
            channel.write(request, promise: nil)
            if !flushScheduled {
                flushScheduled = true
                eventLoop.execute {
                    self.flushScheduled = false
                    if case .ready(let channel) = self.state { channel.flush() }
                }
            }
        case .connecting(var queue):
            queue.append(request)
            state = .connecting(queue)
        case .idle:
            state = .connecting([request])
            connect()
        case .down(let until, let reason):
            if NIODeadline.now() >= until {
                state = .connecting([request])
                connect()
            } else {
                request.promise.fail(RedisError.unavailable(reason))
            }
        case .shutdown:
            request.promise.fail(RedisError.shutdown)
        }
    }

    private func connect() {
        sweepQueue(after: configuration.timeout)
        let tls = tlsContext
        let host = configuration.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelInitializer { channel in
                do {
                    if let tls {
                        let name = host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: name))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RedisCommandHandler())
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        bootstrap.connect(host: host, port: configuration.port).flatMap { channel in
            self.handshake(channel).map { channel }.flatMapError { error in
                channel.close(promise: nil)
                return self.eventLoop.makeFailedFuture(error)
            }
        }.whenComplete { result in
            switch result {
            case .success(let channel):
                guard case .connecting(let queue) = self.state else {
                    channel.close(promise: nil)
                    return
                }
                self.state = .ready(channel)
                self.backoff = self.configuration.minBackoff
                channel.closeFuture.whenComplete { _ in self.closed(channel) }
                for request in queue { channel.write(request, promise: nil) }
                channel.flush()
            case .failure(let error):
                self.markDown("\(error)")
            }
        }
    }

    /// Fails the commands waiting for the connection whose deadline has passed, `delay` from now
    /// and again while the connection is being made.
    private func sweepQueue(after delay: TimeAmount) {
        eventLoop.scheduleTask(in: delay) {
            guard case .connecting(let queue) = self.state else { return }
            let now = NIODeadline.now()
            var keep: [RedisRequest] = []
            for request in queue {
                if request.deadline <= now { request.promise.fail(RedisError.timeout) } else { keep.append(request) }
            }
            self.state = .connecting(keep)
            self.sweepQueue(after: .milliseconds(25))
        }
    }

    /// AUTH and SELECT (RESP2) or HELLO 3 with AUTH then SELECT, each checked.
    private func handshake(_ channel: any Channel) -> EventLoopFuture<Void> {
        var commands: [RedisCommand] = []
        if configuration.protocolVersion == 3 {
            var hello = ["HELLO", "3"]
            if let password = configuration.password { hello += ["AUTH", configuration.user ?? "default", password] }
            commands.append(RedisCommand(hello))
        } else if let password = configuration.password {
            commands.append(RedisCommand(configuration.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]))
        }
        if configuration.database != 0 { commands.append(RedisCommand("SELECT", String(configuration.database))) }
        guard !commands.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        let deadline = NIODeadline.now() + configuration.connectTimeout
        let replies = commands.map { command -> EventLoopFuture<RESPValue> in
            let promise = eventLoop.makePromise(of: RESPValue.self)
            channel.write(RedisRequest(command: command, promise: promise, deadline: deadline), promise: nil)
            let name = command.arguments[0]
            return promise.futureResult.flatMapErrorThrowing { error in
                if case RedisError.server(let message) = error { throw RedisError.server("\(name): \(message)") }
                throw error
            }
        }
        channel.flush()
        return EventLoopFuture.andAllSucceed(replies, on: eventLoop)
    }

    private func closed(_ channel: any Channel) {
        guard case .ready(let current) = state, current === channel else { return }
        markDown("connection closed")
    }

    private func markDown(_ reason: String) {
        if case .shutdown = state { return }
        let queued: [RedisRequest]
        if case .connecting(let queue) = state { queued = queue } else { queued = [] }
        let base = backoff.nanoseconds
        let delay = TimeAmount.nanoseconds(base / 2 + Int64.random(in: 0...max(1, base / 2)))
        state = .down(until: .now() + delay, reason: reason)
        backoff = .nanoseconds(min(base * 2, configuration.maxBackoff.nanoseconds))
        for request in queued { request.promise.fail(RedisError.unavailable(reason)) }
    }
}

extension RedisClient {
    /// Sends and waits (the CLI and the store's once-a-second work; never on an event loop).
    public func call(_ arguments: [String], timeout: TimeAmount = .seconds(2)) throws -> RESPValue {
        try send(RedisCommand(arguments), timeout: timeout).wait()
    }

    public func call(_ arguments: String..., timeout: TimeAmount = .seconds(2)) throws -> RESPValue {
        try call(arguments, timeout: timeout)
    }
}
