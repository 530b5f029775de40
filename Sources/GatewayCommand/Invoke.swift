import ArgumentParser
import Foundation
import GatewayCore
import GatewayFunctions
import GatewayPlan
import GatewayServer
import Logging
import NIOCore
import NIOPosix

struct Invoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one function on an event file and print its answer: a compiled-in function or authorizer, or a process function of gateway.yaml (one worker, started and stopped, through the Lambda Runtime API).")

    @OptionGroup var options: ConfigOption

    @Argument(help: "The function's name, e.g. flights.create, airlines.authorize, or a name under functions: in gateway.yaml.")
    var name: String

    @Option(name: .long, help: "A JSON file holding the event (payload format 2.0, or an authorizer's TOKEN/REQUEST event).")
    var event: String

    func run() async throws {
        let registry = BuiltinFunctions.registry()
        if let authorizer = registry.authorizer(name) {
            try await runAuthorizer(authorizer)
            return
        }
        guard let function = registry[name] else {
            if FileManager.default.fileExists(atPath: options.config) {
                let config = try options.loadConfig()
                if let process = config.functions[name] {
                    try await runProcess(process)
                    return
                }
            }
            let known = registry.names.union(registry.authorizerNames).sorted().joined(separator: ", ")
            FileHandle.standardError.write(Data("error: no function named '\(name)' (registered: \(known))\n".utf8))
            throw ExitCode(1)
        }
        guard let data = FileManager.default.contents(atPath: event) else {
            FileHandle.standardError.write(Data("error: cannot read \(event)\n".utf8))
            throw ExitCode(1)
        }
        let decoded: FunctionEvent
        do {
            decoded = try JSONDecoder().decode(FunctionEvent.self, from: data)
        } catch {
            FileHandle.standardError.write(Data("error: \(event) is not an HTTP API 2.0 event: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let logger = Logger(label: "gateway.invoke")
        let context = FunctionContext(requestId: decoded.requestContext.requestId, functionName: name, logger: logger)
        do {
            let response = try await function.handle(decoded, context: context).response
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(response), as: UTF8.self))
        } catch {
            FileHandle.standardError.write(Data("error: the function threw: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Starts one worker of a process function, sends it the event file unchanged, prints its
    /// answer (pretty JSON when it is JSON) and stops the worker. The worker's output goes to stderr.
    private func runProcess(_ config: ProcessFunctionConfig) async throws {
        guard let data = FileManager.default.contents(atPath: event) else {
            FileHandle.standardError.write(Data("error: cannot read \(event)\n".utf8))
            throw ExitCode(1)
        }
        guard (try? JSONValue.parse(data)) != nil else {
            FileHandle.standardError.write(Data("error: \(event) is not JSON\n".utf8))
            throw ExitCode(1)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        var one = config
        one.workers = 1
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = ProcessFunctionPool(config: one, loop: group.next(), logger: Logger(label: "gateway.invoke"))
        let answer: ProcessFunctionPool.Answer = await withCheckedContinuation { continuation in
            pool.settled().whenComplete { _ in
                pool.invoke(requestId: "invoke-\(UInt32.random(in: 0...UInt32.max))", event: ByteBuffer(bytes: data),
                            timeout: TimeAmount(config.timeout ?? .seconds(29))) { continuation.resume(returning: $0) }
            }
        }
        _ = try? await pool.stop().get()
        try? await group.shutdownGracefully()
        switch answer {
        case .response(let bytes):
            let text = String(buffer: bytes)
            if let value = try? JSONValue.parse(Data(text.utf8)) {
                let pretty = try JSONSerialization.jsonObject(with: value.serialized(), options: [.fragmentsAllowed])
                let out = try JSONSerialization.data(withJSONObject: pretty, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
                print(String(decoding: out, as: UTF8.self))
            } else {
                print(text)
            }
        case .handlerError(let type, let body):
            FileHandle.standardError.write(Data("error: the handler failed (\(type)): \(String(buffer: body))\n".utf8))
            throw ExitCode(1)
        case .timedOut:
            FileHandle.standardError.write(Data("error: the function timed out\n".utf8))
            throw ExitCode(1)
        case .crashed:
            FileHandle.standardError.write(Data("error: the worker exited during the invocation\n".utf8))
            throw ExitCode(1)
        case .queueFull, .unavailable:
            FileHandle.standardError.write(Data("error: the worker did not start (see the log above)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Runs an authorizer function on its event and prints its answer as it would be read.
    private func runAuthorizer(_ authorizer: any AuthorizerFunction) async throws {
        guard let data = FileManager.default.contents(atPath: event) else {
            FileHandle.standardError.write(Data("error: cannot read \(event)\n".utf8))
            throw ExitCode(1)
        }
        let decoded: JSONValue
        do {
            decoded = try JSONValue.parse(data)
        } catch {
            FileHandle.standardError.write(Data("error: \(event) is not JSON: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let context = FunctionContext(requestId: "invoke", functionName: name, logger: Logger(label: "gateway.invoke"))
        do {
            let answer = try await authorizer.authorize(decoded, context: context)
            print(String(decoding: answer.serialized(), as: UTF8.self))
        } catch {
            FileHandle.standardError.write(Data("error: the authorizer threw: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
