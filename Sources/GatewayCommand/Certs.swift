import ArgumentParser
import Foundation
import GatewayCertificates
import GatewayPlan

struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Certificate helpers.", subcommands: [Dev.self])

    struct Dev: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a local development CA and a server certificate at the paths tls.certificate and tls.key name.")

        @OptionGroup var options: ConfigOption

        func run() throws {
            let config = try options.loadConfig()
            guard let tls = config.tls else {
                FileHandle.standardError.write(Data("error: \(options.config) has no tls.certificate / tls.key\n".utf8))
                throw ExitCode(1)
            }
            let written = try DevelopmentCA.write(certificatePath: tls.certificate, keyPath: tls.key)
            print(DevCertificateNotice.text(written))
        }
    }
}

enum DevCertificateNotice {
    static func text(_ written: DevelopmentCA.Written) -> String {
        """
        created a development certificate for localhost, 127.0.0.1 and ::1:
          certificate: \(written.certificate)
          key:         \(written.key) (mode 0600; never commit it)
          CA:          \(written.caCertificate) (key \(written.caKey))
        to trust it: curl --cacert \(written.caCertificate) https://localhost:PORT/...
          or system-wide on Debian: sudo cp \(written.caCertificate) /usr/local/share/ca-certificates/gateway-dev-ca.crt && sudo update-ca-certificates
        """
    }
}
