import ArgumentParser
import EventLog
import Foundation
import PostgresLog
import Projections

/// `convlog migrate`: copies a data directory's log into PostgreSQL, chain intact.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy an event log from a data directory into PostgreSQL, byte for byte, with its chain intact.",
        discussion: """
            Creates the convlog tables when the database has none, then copies every record in \
            commits of 1,000, checking each against the chain first. The database must be empty \
            or hold an earlier, interrupted copy of the same log: running it again resumes it. \
            Stop convlogd first (what it appends after the copy would be left behind), then start \
            the daemons with --store URL; the old data directory is already a valid mirror of the copy.

            The password comes from --store-password-file or CONVLOG_STORE_PASSWORD, never the URL.

            Example:
              convlog migrate --from /var/lib/convlog --to postgres://convlog@db.internal/convlog
            """
    )

    @Option(name: .customLong("from"), help: ArgumentHelp("The data directory to copy.", valueName: "dir")) var source: String
    @Option(name: .customLong("to"), help: ArgumentHelp("The PostgreSQL database: postgres://USER@HOST:PORT/DB.", valueName: "url")) var destination: String
    @Option(name: .customLong("store-password-file"), help: ArgumentHelp("A file holding the PostgreSQL password (else CONVLOG_STORE_PASSWORD, if set).", valueName: "path"))
    var storePasswordFile: String?

    func run() throws {
        var options = try LogOptions.parse(["--data-dir", source])
        let sourceViews = try options.openReadOnly()
        defer { sourceViews.store.close() }
        options = try LogOptions.parse(["--store", destination] + (storePasswordFile.map { ["--store-password-file", $0] } ?? []))
        guard let location = try options.sharedLocation() else { throw CLIError("--to: not a postgres:// URL") }
        let total = try sourceViews.store.head().sequence
        do {
            let shared = try PostgresSharedLog(location)
            defer { shared.close() }
            var progress = ProgressReporter(label: "migrate", total: total)
            let head = try shared.copy(from: sourceViews.store) { progress.update($0) }
            progress.finish()
            print("migrated \(source) to \(location): \(head.sequence) events, head \(head.hash)")
        } catch let error as SharedLogError {
            throw CLIError("\(location): \(error.message)")
        }
    }
}
