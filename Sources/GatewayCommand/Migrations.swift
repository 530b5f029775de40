import ArgumentParser
import Foundation
import GatewayMigration
import GatewayPlan
import GatewayStore

/// `gateway migrations …`: the routes under migration, their evidence, and moving them. Changes go
/// to the state store; a running gateway picks them up within 2 seconds.
struct Migrations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show and move routes under migration (x-gateway.migration).",
        subcommands: [List.self, Show.self, Promote.self, Rollback.self, Set.self, Ignore.self])

    /// One migrating route as the configuration declares it.
    struct Declared {
        var name: String
        var route: String
        var config: MigrationConfig
    }

    /// The migrating routes of the configuration, and its state store.
    static func open(_ options: ConfigOption) throws -> ([Declared], any StateBackend) {
        let plan: GatewayPlan
        do {
            plan = try BuiltinFunctions.compiler(BuiltinFunctions.registry()).compile(configPath: options.config)
        } catch {
            printErrors(error)
            throw ExitCode(1)
        }
        var declared: [Declared] = []
        var seen: Swift.Set<String> = []
        for operation in plan.operations {
            guard case .migration(let m) = operation.action, seen.insert(operation.routeName).inserted else { continue }
            declared.append(Declared(name: operation.routeName, route: operation.routeKey, config: m.config))
        }
        return (declared, try StateCommand.openStore(plan.config.state))
    }

    /// `OPERATION`: an operationId or `"METHOD /path"`.
    static func find(_ operation: String, in declared: [Declared]) throws -> Declared {
        if let d = declared.first(where: { $0.name == operation || $0.route == operation }) { return d }
        let known = declared.map(\.name).joined(separator: ", ")
        throw ValidationError("'\(operation)' is not a route under migration (\(declared.isEmpty ? "none" : known))")
    }

    /// What the CLI prints of one route (`--json`: these field names are stable).
    struct Summary: Encodable {
        var operation: String
        var route: String
        var stage: MigrationConfig.Stage
        var weight: Int
        var counts: MigrationController.Counts
        var transitions: [MigrationState.Transition]
        /// From the gateway's latest report (absent when no gateway has written one).
        var figures: MigrationWindow.Figures?
        var differences: [Difference]?
        var noise: [String]?
        var samples: [MismatchReport.Sample]?
        var reportTime: Int64?
        var thresholds: Thresholds?

        struct Difference: Encodable {
            var pointer: String
            var requests: Int
            var percent: Double
        }

        struct Thresholds: Encodable {
            var errorRate: Double
            var latency: Double
            var window: String
            var minRequests: Int
            var steps: [Int]
            var sticky: String
        }
    }

    static func summary(_ d: Declared, store: any StateBackend, detailed: Bool) throws -> Summary {
        let stored = try store.migration(d.name)
        let state = stored?.state ?? MigrationState(config: d.config, now: 0)
        let report = try store.migrationReport(d.name).flatMap { try? JSONDecoder().decode(MigrationSnapshot.self, from: Data($0.json.utf8)) }
        var s = Summary(operation: d.name, route: d.route, stage: state.stage, weight: state.weight,
                        counts: report?.counts ?? .init(), transitions: try store.migrationTransitions(d.name))
        if detailed {
            s.figures = report?.figures
            s.differences = report?.report.summary.map { .init(pointer: $0.pointer, requests: $0.requests, percent: ($0.percent * 10).rounded() / 10) }
            s.noise = report?.report.noise.sorted()
            s.samples = report?.report.samples
            s.reportTime = try store.migrationReport(d.name)?.updated
            let r = d.config.rollback
            s.thresholds = .init(errorRate: r.errorRate, latency: r.latency, window: "\(MigrationWindow.milliseconds(r.window) / 1000)s",
                                 minRequests: r.minRequests, steps: d.config.canary.steps, sticky: "\(d.config.canary.sticky)")
        }
        return s
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func table(_ rows: [[String]]) {
        guard let first = rows.first else { return }
        let widths = (0..<first.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
    }

    static func time(_ ms: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func stageText(_ stage: MigrationConfig.Stage, _ weight: Int) -> String {
        stage == .canary ? "canary \(weight)%" : stage.rawValue
    }

    /// Applies `change` to the stored state (or the configured start) and writes it with its transition.
    static func change(_ d: Declared, store: any StateBackend,
                       _ change: (inout MigrationState, Int64) -> MigrationState.Transition?) throws -> MigrationState.Transition? {
        for _ in 0..<5 {
            let stored = try store.migration(d.name)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var state = stored?.state ?? MigrationState(config: d.config, now: now)
            guard let t = change(&state, now) else { return nil }
            if try store.saveMigration(d.name, state: state, transitions: [t], expected: stored?.version) != nil { return t }
        }
        throw ValidationError("the route kept changing under the command; try again")
    }

    static func printTransition(_ d: Declared, _ t: MigrationState.Transition?, json: Bool) throws {
        if json {
            try printJSON(t.map { [$0] } ?? [])
        } else if let t {
            print("\(d.name): \(stageText(t.from, t.fromWeight)) → \(stageText(t.to, t.toWeight)) (\(t.reason))")
            print("a running gateway picks this up within 2 seconds")
        } else {
            print("\(d.name): no change")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every route under migration with its stage and counts.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (declared, store) = try Migrations.open(options)
            let summaries = try declared.map { try Migrations.summary($0, store: store, detailed: false) }
            if json { return try Migrations.printJSON(summaries) }
            var rows = [["OPERATION", "ROUTE", "STAGE", "LEGACY", "CANDIDATE", "SHADOWED", "MATCHED", "MISMATCHED", "ERRORS", "FALLBACKS"]]
            for s in summaries {
                let c = s.counts
                rows.append([s.operation, s.route, Migrations.stageText(s.stage, s.weight), "\(c.legacy)", "\(c.candidate)",
                             "\(c.shadowed)", "\(c.matched)", "\(c.mismatched)", "\(c.candidateErrors)", "\(c.fallbacks)"])
            }
            Migrations.table(rows)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One route: stage, thresholds, latencies, where the candidate's answers differ, samples, transitions.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The operationId, or \"METHOD /path\".") var operation: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (declared, store) = try Migrations.open(options)
            let d = try Migrations.find(operation, in: declared)
            let s = try Migrations.summary(d, store: store, detailed: true)
            if json { return try Migrations.printJSON(s) }
            print("\(s.operation) (\(s.route)): \(Migrations.stageText(s.stage, s.weight)), from upstream \(d.config.from)")
            if let t = s.thresholds {
                print("rollback: error rate over \(t.errorRate)% or p99 over \(t.latency)x legacy's, in \(t.window), at least \(t.minRequests) requests"
                      + (t.steps.isEmpty ? "" : "; steps \(t.steps.map { "\($0)%" }.joined(separator: ", "))") + "; sticky \(t.sticky)")
            }
            let c = s.counts
            print("counts: legacy \(c.legacy), candidate \(c.candidate), shadowed \(c.shadowed) (dropped \(c.dropped)), matched \(c.matched), mismatched \(c.mismatched), candidate errors \(c.candidateErrors), fallbacks \(c.fallbacks)")
            if let f = s.figures {
                func ms(_ v: Int64?) -> String { v.map { String(format: "%.2f ms", Double($0) / 1000) } ?? "-" }
                print("last window: candidate \(f.candidateRequests) answers, \(String(format: "%.1f", f.candidateErrorRate))% errors, p50 \(ms(f.candidateP50)), p99 \(ms(f.candidateP99)); legacy \(f.legacyRequests) answers, p50 \(ms(f.legacyP50)), p99 \(ms(f.legacyP99))")
            }
            if let reportTime = s.reportTime { print("report written by the gateway at \(Migrations.time(reportTime))") }
            if let differences = s.differences, !differences.isEmpty {
                print("\nwhere the candidate differs (share of compared requests):")
                Migrations.table([["POINTER", "REQUESTS", "PERCENT"]] + differences.map { [$0.pointer, "\($0.requests)", "\($0.percent)%"] })
            }
            if let noise = s.noise, !noise.isEmpty { print("\nignored as noise: \(noise.joined(separator: ", "))") }
            if let samples = s.samples, !samples.isEmpty {
                print("\nlatest mismatches:")
                for sample in samples.suffix(5) {
                    print("  \(Migrations.time(sample.time)) \(sample.method) \(sample.path) (request \(sample.requestId))")
                    for d in sample.differences.prefix(5) { print("    \(d.pointer): legacy \(d.legacy), candidate \(d.candidate)") }
                }
            }
            if !s.transitions.isEmpty {
                print("\ntransitions:")
                for t in s.transitions.suffix(10) {
                    print("  \(Migrations.time(t.time)) \(Migrations.stageText(t.from, t.fromWeight)) → \(Migrations.stageText(t.to, t.toWeight)) by \(t.by.rawValue): \(t.reason)")
                }
            }
        }
    }

    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One stage or canary step forward: legacy → shadow → canary → … → primary.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The operationId, or \"METHOD /path\".") var operation: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (declared, store) = try Migrations.open(options)
            let d = try Migrations.find(operation, in: declared)
            let t = try Migrations.change(d, store: store) { state, now in
                state.promote(config: d.config.canary, reason: "promoted", by: .cli, now: now)
            }
            try Migrations.printTransition(d, t, json: json)
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Back to shadow (or legacy): legacy answers everything.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The operationId, or \"METHOD /path\".") var operation: String
        @Option(help: "legacy or shadow.") var to: String = "shadow"
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard let stage = MigrationConfig.Stage(rawValue: to), stage <= .shadow else {
                throw ValidationError("--to must be legacy or shadow")
            }
            let (declared, store) = try Migrations.open(options)
            let d = try Migrations.find(operation, in: declared)
            let t = try Migrations.change(d, store: store) { state, now in
                state.set(stage, reason: "rolled back", by: .cli, now: now)
            }
            try Migrations.printTransition(d, t, json: json)
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a route at a stage (and canary weight).")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The operationId, or \"METHOD /path\".") var operation: String
        @Option(help: "legacy, shadow, canary or primary.") var stage: String
        @Option(help: "Percent answered by the candidate in canary (0-100).") var weight: Int?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard let stage = MigrationConfig.Stage(rawValue: stage) else {
                throw ValidationError("--stage must be legacy, shadow, canary or primary")
            }
            if let weight, !(0...100).contains(weight) { throw ValidationError("--weight must be from 0 to 100") }
            if weight != nil && stage != .canary { throw ValidationError("--weight goes with --stage canary") }
            let (declared, store) = try Migrations.open(options)
            let d = try Migrations.find(operation, in: declared)
            let t = try Migrations.change(d, store: store) { state, now in
                state.set(stage, weight: weight ?? d.config.canary.weight, reason: "set", by: .cli, now: now)
            }
            try Migrations.printTransition(d, t, json: json)
        }
    }

    struct Ignore: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a pointer as noise for a route from now on (kept in the state store).")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The operationId, or \"METHOD /path\".") var operation: String
        @Argument(help: "A body JSON pointer (* for any one segment), or header.NAME.") var pointer: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard PointerPattern(pointer) != nil else {
                throw ValidationError("'\(pointer)' is neither a JSON pointer like /items/*/etag nor header.NAME")
            }
            let (declared, store) = try Migrations.open(options)
            let d = try Migrations.find(operation, in: declared)
            try store.addMigrationIgnore(d.name, pointer: pointer)
            if json {
                try Migrations.printJSON(["operation": d.name, "ignored": pointer])
            } else {
                print("\(d.name): \(pointer) is ignored from now on")
            }
        }
    }
}
