import ArgumentParser
import EventLog
import Foundation

/// `convlog compact`: rewrites the data file with only what the log holds now.
struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Finish erasing deleted sessions and rewrite the data file without the old bytes.",
        discussion: """
            LMDB reuses freed pages but does not wipe them: after `convlog delete` (or retention), \
            the erased payloads' bytes stay in data.mdb until compaction. This command finishes \
            pending erasures, copies every table entry by entry into a fresh file, and swaps it in. \
            Stop convlogd first (it refuses while the daemon holds the log); `convlog verify` passes \
            on the result and the daemon starts on it.

            What remains of a deleted session, by design: its id, the type, time, position and \
            payload length and SHA-256 of each of its events (the chain), the SessionDeleted event \
            with its reason, and, for a LangGraph thread, the newest checkpoint id (its fence).

            Example: convlog compact --data-dir /var/lib/convlog
            """
    )

    @OptionGroup var log: LogOptions

    func run() throws {
        try log.refuseStore("compact rewrites a data directory; in PostgreSQL erased payloads are deleted rows: VACUUM convlog_payloads reclaims them")
        if let pid = log.runningDaemonPID() {
            throw CLIError("convlogd (pid \(pid)) holds \(log.directory.path): stop it before compacting (the file is replaced)")
        }
        let started = ContinuousClock.now
        let report = try LogCompaction.compact(directory: log.directory) { copied in
            FileHandle.standardError.write(Data("compact: \(copied) entries copied\n".utf8))
        }
        let elapsed = ContinuousClock.now - started
        print(String(
            format: "compacted %@: %d → %d bytes (%d entries) in %.2f s",
            log.directory.path, report.bytesBefore, report.bytesAfter, report.entries,
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        ))
    }
}
