import ArgumentParser
import Foundation
import GatewayPlan
import GatewayServer

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and compile the configuration and every API document; print the route table.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let plan: GatewayPlan
        do {
            let functions = BuiltinFunctions.registry()
            plan = try BuiltinFunctions.compiler(functions).compile(configPath: options.config)
            if let tls = plan.config.tls, plan.config.https != nil {
                if FileManager.default.fileExists(atPath: tls.certificate) || FileManager.default.fileExists(atPath: tls.key) {
                    try GatewayServer.checkTLSFiles(tls, configFile: plan.config.file)
                } else {
                    print("note: \(tls.certificate) and \(tls.key) do not exist; `gateway serve` creates development ones")
                }
            }
            _ = try GatewayRuntime(plan: plan, functions: functions)
        } catch let errors as ConfigErrors {
            printErrors(errors)
            throw ExitCode(1)
        }
        print(plan.routeTable())
        print("\nok: \(plan.operations.count) operation(s) from \(plan.documents.count) document(s)")
    }
}

func printErrors(_ errors: ConfigErrors) {
    for error in errors.errors {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    }
}
