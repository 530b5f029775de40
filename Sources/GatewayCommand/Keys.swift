import ArgumentParser
import Foundation
import GatewayCore
import GatewayPlan
import GatewayPolicies
import GatewayStore

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue and manage API keys (stored hashed in the state: SQLite file or Redis).",
        subcommands: [Create.self, List.self, Revoke.self, Rotate.self, Usage.self])

    /// The configuration and its state store.
    static func open(_ options: ConfigOption) throws -> (GatewayConfig, any StateBackend) {
        let config = try options.loadConfig()
        return (config, try StateCommand.openStore(config.state))
    }

    /// Prints a new key; its secret is shown this once.
    static func printNew(_ record: KeyRecord, _ secret: String, replacing: String? = nil) {
        print("id:      \(record.id)" + (replacing.map { " (replaces \($0))" } ?? ""))
        print("plan:    \(record.plan)")
        print("expires: \(Keys.date(record.expiresAt))")
        print("key:     \(secret)")
        print("\nThe key is shown only now; the gateway stores its SHA-256 digest.")
    }

    static func duration(_ text: String) throws -> Double {
        guard let d = ConfigDuration.parse(text) else {
            throw ValidationError("'\(text)' is not a duration like 90d, 12h, 30m")
        }
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func date(_ seconds: Double?) -> String {
        guard let seconds else { return "-" }
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key on a plan and print its secret, once.")
        @OptionGroup var options: ConfigOption
        @Option(help: "The usage plan (a name under plans: in the configuration).") var plan: String
        @Option(help: "A label for the key.") var name: String?
        @Option(help: "Lifetime, e.g. 90d; the key never expires when absent.") var expires: String?

        func run() throws {
            let (config, store) = try Keys.open(options)
            guard config.plans[plan] != nil else {
                throw ValidationError(StateStore.StoreError.unknownPlan(plan, known: config.plans.keys.sorted()).description)
            }
            let now = Date().timeIntervalSince1970
            let expiresAt = try expires.map { now + (try Keys.duration($0)) }
            let (record, secret) = try store.createKey(plan: plan, name: name, expiresAt: expiresAt, now: now)
            Keys.printNew(record, secret)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var options: ConfigOption

        func run() throws {
            let (_, store) = try Keys.open(options)
            let now = Date().timeIntervalSince1970
            let rows = [["ID", "NAME", "PLAN", "CREATED", "EXPIRES", "STATUS"]] + (try store.keys()).map {
                [$0.id, $0.name ?? "-", $0.plan, Keys.date($0.createdAt), Keys.date($0.expiresAt),
                 $0.status(at: now) + ($0.rotatedTo.map { " (successor \($0))" } ?? "")]
            }
            let widths = (0..<6).map { c in rows.map { $0[c].count }.max() ?? 0 }
            for row in rows {
                print(row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                    .joined(separator: "  "))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; a running gateway refuses it within 2 seconds.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The key id.") var id: String

        func run() throws {
            let (_, store) = try Keys.open(options)
            try store.revoke(id: id)
            print("revoked \(id)")
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a successor key on the same plan; the old key stays valid until the overlap ends.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The key id.") var id: String
        @Option(help: "How long the old key keeps working, e.g. 24h.") var overlap: String = "24h"

        func run() throws {
            let (_, store) = try Keys.open(options)
            let (record, secret) = try store.rotate(id: id, overlap: try Keys.duration(overlap))
            Keys.printNew(record, secret, replacing: "\(id), which stops working in \(overlap)")
        }
    }

    struct Usage: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the quota a key used in the current period.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The key id.") var id: String

        func run() throws {
            let (config, store) = try Keys.open(options)
            guard let key = try store.key(id: id) else { throw StateStore.StoreError.noSuchKey(id) }
            guard let quota = config.plans[key.plan]?.quota else {
                print("\(id): plan \(key.plan) has no quota")
                return
            }
            let usage = try store.quotaUsage(keyId: id, period: quota.period)
            let window = quota.period.window(containing: Date().timeIntervalSince1970)
            print("\(id): \(usage.used) of \(quota.limit) this \(quota.period.rawValue) (resets \(Keys.date(Double(window.end))))")
        }
    }
}
