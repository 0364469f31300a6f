import ArgumentParser
import EventLog
import Foundation

/// `convlog stats`: what the log holds.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print counts of events, sessions and event types, sizes, and the chain head.",
        discussion: "Example: convlog stats --data-dir /var/lib/convlog"
    )

    @OptionGroup var log: LogOptions

    func run() throws {
        let views = try log.openReadOnly()
        defer { views.store.close() }
        let counts = try views.store.counts()
        var perType: [String: Int] = [:]
        try views.store.visitEvents { record in
            perType[record.event.typeName, default: 0] += 1
            return true
        }
        let head = try views.store.head()
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: log.directory.appendingPathComponent("data.mdb").path)[.size] as? Int) ?? 0
        print("events:      \(counts.events)")
        let deleted = try views.store.deletedSessionCount()
        print("sessions:    \(counts.sessions - deleted) live, \(deleted) deleted")
        for type in perType.keys.sorted() { print("  \(type): \(perType[type]!)") }
        print("file size:   \(fileSize) bytes")
        let use = try views.store.storageUse()
        print("in use:      \(use.liveBytes) bytes; reclaimable by `convlog compact`: \(use.reclaimableBytes) bytes (free pages, old contents not wiped)")
        print("erasures:    \(try views.store.pendingErasures()) deleted sessions still to erase")
        print("map size:    \(views.store.environment.mapSize) bytes")
        print("window:      \(views.window.capacity) messages per session")
        print("chain head:  \(head.sequence) \(head.hash)")
    }
}
