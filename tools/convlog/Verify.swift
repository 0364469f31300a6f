import ArgumentParser
import EventLog
import Foundation
import Projections

/// `convlog verify`: proves the log (and optionally the projections) are what was written.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the whole integrity chain, and with --projections that each projection equals a fresh fold of the log.",
        discussion: """
            Exit 0 when everything holds; 3 with the first difference named otherwise (the log or a \
            projection is not what was written); 4 when a projection was built with other parameters \
            or by another convlog version (stale, not tampered: rebuild it).

            With --store it reads every record of the shared log in PostgreSQL (into a temporary \
            mirror), checking each against the chain, then checks the copy as a data directory.

            Examples:
              convlog verify
              convlog verify --data-dir /var/lib/convlog --projections
              convlog verify --store postgres://convlog@db.internal/convlog
            """
    )

    @OptionGroup var log: LogOptions
    @Flag(help: "Also compare each projection with a fresh fold of the log (digests of every row).") var projections = false

    func run() throws {
        let views: ConversationViews
        do {
            views = try log.openReadOnly()
        } catch let failure as SharedChainFailure {
            print("chain: FAILED: \(failure)")
            throw ExitCode.integrityFailure
        }
        defer { views.store.close() }
        var progress = ProgressReporter(label: "verify", total: UInt64(try views.store.counts().events))
        let report = try views.store.verify { progress.update($0) }
        progress.finish()
        var intact = true
        if let failure = report.failure {
            print("chain: FAILED at \(failure)")
            intact = false
        } else {
            print("chain: ok, \(report.verifiedEvents) events, head \(report.head.sequence) \(report.head.hash)")
        }
        var stale: [String] = []
        if projections {
            for check in try views.store.verifyProjections() {
                if !check.fingerprintMatches {
                    // Built with other parameters or by another convlog version: not comparable, not tampering.
                    stale.append(check.name)
                    print("projection \(check.name): STALE: built with other parameters or by another convlog version; rebuild it (convlog rebuild --projection \(check.name), or restart convlogd)")
                } else if check.holds {
                    let lag = check.checkpoint < check.head ? " (applied through \(check.checkpoint); a running daemon applies the rest in batches)" : ""
                    print("projection \(check.name): ok, digest \(check.storedDigest)\(lag)")
                } else {
                    intact = false
                    var reasons: [String] = []
                    if check.storedDigest != check.freshDigest { reasons.append("stored digest \(check.storedDigest) != fresh fold \(check.freshDigest)") }
                    if check.checkpoint > check.head { reasons.append("checkpoint \(check.checkpoint) beyond the head \(check.head)") }
                    print("projection \(check.name): DIFFERS: \(reasons.joined(separator: "; "))")
                }
            }
        }
        if !intact { throw ExitCode.integrityFailure }
        if !stale.isEmpty { throw ExitCode.staleProjection }
    }
}
