import ArgumentParser
import GatewayPlan

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "A TLS-terminating API gateway for OpenAPI routes, local functions and legacy backends.",
        subcommands: [Serve.self, Check.self, Certs.self, Invoke.self, Keys.self, Migrations.self, StateCommand.self],
        defaultSubcommand: Serve.self)
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The gateway configuration; API documents are read from its folder.")
    var config: String = "routes/gateway.yaml"

    /// `gateway.yaml`, or exit 1 after printing its problem with file and line.
    func loadConfig() throws -> GatewayConfig {
        do {
            return try GatewayConfig.load(path: config)
        } catch {
            printErrors(ConfigErrors([error]))
            throw ExitCode(1)
        }
    }
}
