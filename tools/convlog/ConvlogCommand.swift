import ArgumentParser

/// `convlog`: the operator's tool for a convlog event log.
@main
struct ConvlogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convlog",
        abstract: "Read, audit and maintain a convlog event log.",
        discussion: """
            The offline commands (replay, verify, rebuild, stats) open the log directly and work
            while the daemon runs. Exit codes: 0 success, 1 error, 2 usage, 3 integrity failure.
            """,
        version: "0.1.0",
        subcommands: [Replay.self, Verify.self, Rebuild.self, Stats.self, Eval.self]
    )
}
