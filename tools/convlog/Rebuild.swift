import ArgumentParser
import EventLog
import Foundation
import PostgresLog

/// `convlog rebuild`: refolds projections from the log.
struct Rebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild projections from the log and swap them in, in one transaction.",
        discussion: """
            Safe while the daemon runs: it folds a snapshot of the log while the daemon keeps \
            appending, then swaps the new tables in with one short write transaction (readers see \
            the old tables until then) and applies the events appended meanwhile. It rewrites only \
            the rows that differ from the fold (all of them after a --window change) and says how \
            many did: on sound projections, none. \
            The window's size is the daemon's setting: while a daemon serves the log, a different \
            --window is refused (restart convlogd with --window N; it rebuilds the window on start).

            With --store postgres://… it rebuilds the database's convlog_sessions table from \
            convlog_events (each daemon's read models live in its --data-dir: rebuild them there).

            Examples:
              convlog rebuild
              convlog rebuild --projection window --window 100
            """
    )

    @OptionGroup var log: LogOptions
    @Option(help: "streams, sessions, window, checkpoints, retention, or all.") var projection = "all"
    @Option(help: "Messages the window keeps per session (default: as stored, 50 for a new log).") var window: Int?

    func validate() throws {
        guard ["all", "streams", "sessions", "window", "checkpoints", "retention"].contains(projection) else {
            throw ValidationError("--projection must be streams, sessions, window, checkpoints, retention or all")
        }
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
    }

    func run() throws {
        if let location = try log.sharedLocation() {
            // The daemons' read models live in their mirrors (each rebuilds its own on start, or with
            // --data-dir); the database's own projection is the sessions table.
            do {
                let shared = try PostgresSharedLog(location)
                defer { shared.close() }
                print("rebuilt convlog_sessions in \(location): \(try shared.rebuildSessionsTable()) sessions")
            } catch let error as SharedLogError {
                throw CLIError("\(location): \(error.message)")
            }
            return
        }
        if let window, let pid = log.runningDaemonPID() {
            let served = try log.openReadOnly()
            let capacity = served.window.capacity
            served.store.close()
            guard capacity == window else {
                throw CLIError(
                    "convlogd (pid \(pid)) serves \(log.directory.path) with a window of \(capacity) messages; the window is the daemon's setting: restart convlogd with --window \(window) (it rebuilds the window when it starts)"
                )
            }
        }
        let views = try log.openWritable(windowCapacity: window)
        defer { views.store.close() }
        let names = projection == "all" ? views.store.projectorNames : [projection]
        var progress = ProgressReporter(label: "rebuild", total: UInt64(try views.store.counts().events))
        let summary = try views.store.rebuild(names) { progress.update($0) }
        progress.update(summary.eventsFolded)
        progress.finish()
        print(String(
            format: "rebuilt %@: %llu events in %.2f s (%.0f events/s); %d rows rewritten, %d deleted",
            names.joined(separator: ", "), summary.eventsFolded, progress.elapsedSeconds, progress.rate(summary.eventsFolded),
            summary.rowsWritten, summary.rowsDeleted
        ))
    }
}
