import ArgumentParser
import Foundation
import GatewayCore
import GatewayFunctions
import Logging

struct Invoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one local function (or authorizer function) on an event file and print its answer.")

    @Argument(help: "The function's registered name, e.g. flights.create or airlines.authorize.")
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
