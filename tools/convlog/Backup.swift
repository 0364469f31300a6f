import ArgumentParser
import EventLog
import Foundation

/// `convlog backup`: a consistent copy of the log taken while the daemon runs.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the log and its projections, consistently, while the daemon keeps serving writes.",
        discussion: """
            The copy is one read snapshot of the data directory (LMDB's compacting copy: free \
            pages are left out); appends go on meanwhile and are not in it. DEST must not exist \
            or be an empty directory. `convlogd --data-dir DEST` starts on the copy and \
            `convlog verify --data-dir DEST --projections` checks it. A backup taken before a \
            session was deleted still holds that session: erase old backups by your retention rules.

            Example: convlog backup /var/backups/convlog-$(date +%F)
            """
    )

    @OptionGroup var log: LogOptions
    @Argument(help: "The directory to copy into.") var destination: String

    func run() throws {
        try log.refuseStore("backup copies a data directory; back a shared log up with PostgreSQL's own tools (pg_dump -t 'convlog_*', or pg_basebackup)")
        let started = ContinuousClock.now
        let report = try LogBackup.backup(from: log.directory, to: URL(fileURLWithPath: destination, isDirectory: true))
        let elapsed = ContinuousClock.now - started
        print(String(
            format: "backed up %@ to %@: through sequence %llu, %d bytes, in %.2f s",
            log.directory.path, destination, report.head.sequence, report.bytes,
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        ))
    }
}
