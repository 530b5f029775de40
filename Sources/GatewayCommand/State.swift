import ArgumentParser
import Foundation
import GatewayPolicies
import GatewayRedis
import GatewayStore

/// `gateway state copy`: moves API keys and quota counts between an SQLite file and Redis (either
/// way), for going from one instance to several or back.
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Work with the state store (SQLite file or Redis).",
        subcommands: [Copy.self])

    /// Opens `location` (a file path or redis:// URL); a Redis that does not answer is an error
    /// that names it.
    static func openStore(_ location: String) throws -> any StateBackend {
        let store = try StateBackends.open(location)
        if let redis = store as? RedisStateStore {
            do {
                try redis.ping()
            } catch {
                throw Unreachable(description: "cannot reach the state store \(redis.location): \(error)")
            }
        }
        return store
    }

    /// A store that does not answer (an error, not a usage mistake: no usage text after it).
    struct Unreachable: Error, CustomStringConvertible {
        var description: String
    }

    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy API keys and quota counts from one state store to another.",
            discussion: """
                Keys keep their ids, plans, digests, expiry, revocation and rotation; a key with the \
                same id in the target is replaced. Quota counts are raised to the source's (never lowered). \
                Buckets are not copied (they refill within seconds), nor migration stages.
                """)
        @Option(help: "The source: an SQLite file path or a redis:// URL.") var from: String
        @Option(help: "The target: an SQLite file path or a redis:// URL.") var to: String

        func run() throws {
            guard from != to else { throw ValidationError("--from and --to name the same store") }
            if !RedisConfiguration.isRedisURL(from), !FileManager.default.fileExists(atPath: from) {
                throw ValidationError("no state file at \(from)")
            }
            let source = try StateCommand.openStore(from)
            let target = try StateCommand.openStore(to)
            let keys = try source.keys()
            for key in keys { try target.importKey(key) }
            let quotas = try source.quotaUsages()
            try target.saveQuotas(quotas)
            print("copied \(keys.count) key\(keys.count == 1 ? "" : "s") and \(quotas.count) quota count\(quotas.count == 1 ? "" : "s") from \(source.location) to \(target.location)")
        }
    }
}
