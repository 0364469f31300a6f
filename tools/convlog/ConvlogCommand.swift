import ArgumentParser
import ConvLogRPC

/// `convlog`: the operator's tool for a convlog event log.
@main
struct ConvlogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convlog",
        abstract: "Read, audit and maintain a convlog event log.",
        discussion: """
            The offline commands (replay, verify, rebuild, stats, export) open the log directly and work \
            while the daemon runs; with --store postgres://… they read the shared log in PostgreSQL. The client verbs (create, add, context, analyze, sessions, delete, tail) talk \
            to convlogd over its socket and print JSON. Exit codes: 0 success, 1 error, 64 usage, \
            3 integrity failure.
            """,
        version: ConvLogVersion.current,
        subcommands: [
            Replay.self, Verify.self, Rebuild.self, Compact.self, Backup.self, Export.self, Stats.self, Migrate.self, Eval.self,
            Create.self, Add.self, Context.self, Analyze.self, Sessions.self, Delete.self, Tail.self,
        ]
    )
}
