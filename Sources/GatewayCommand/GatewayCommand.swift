import ArgumentParser

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "A TLS-terminating API gateway for OpenAPI routes, local functions and legacy backends.",
        subcommands: [Serve.self, Check.self, Certs.self, Invoke.self, Keys.self],
        defaultSubcommand: Serve.self)
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The gateway configuration; API documents are read from its folder.")
    var config: String = "routes/gateway.yaml"
}
