import Foundation

/// The events the writer committed to the log but has not yet applied to the projections (the
/// stream index included), kept in memory so that appends and reads can overlay them without
/// scanning the log.
///
/// The writer adds each committed batch before it answers the batch's appends (so a reader always
/// sees its own writes), and empties the tail once a materialization has applied it. A reader asks
/// for the events after the checkpoint of its snapshot up to its snapshot's head; when the tail
/// cannot answer exactly that (the snapshot is older than the last materialization, or newer than
/// the tail), it says so and the reader reads those events from the log instead.
final class UnmaterializedTail: @unchecked Sendable {
    // All state is guarded by `lock`.
    private let lock = NSLock()
    /// Whether this process's writer keeps the tail (false for read-only stores: another process writes).
    private let isKept: Bool
    /// Every event after `base` through `end` is held here.
    private var base: UInt64
    private var end: UInt64
    private var ordered: [RecordedEvent] = []
    private var bySession: [String: [RecordedEvent]] = [:]
    /// Per session, whether its last lifecycle event held is a deletion (true) or a creation
    /// (false). Kept while the session has held events; once they are applied the index knows.
    private var lifecycle: [String: Bool] = [:]
    /// When the oldest held event was added.
    private var oldestAdded: ContinuousClock.Instant?

    /// A tail that holds nothing beyond `head`, the last sequence every projection has applied.
    init(materializedThrough head: UInt64, kept: Bool) {
        base = head
        end = head
        isKept = kept
    }

    /// Adds a committed batch; its records directly follow the ones held.
    func append(_ records: [RecordedEvent]) {
        guard let first = records.first else { return }
        lock.withLock {
            precondition(first.sequence == end + 1, "the tail is contiguous")
            if ordered.isEmpty { oldestAdded = .now }
            for record in records {
                bySession[record.sessionID, default: []].append(record)
                switch record.event {
                case .sessionDeleted: lifecycle[record.sessionID] = true
                case .sessionCreated: lifecycle[record.sessionID] = false
                default: break
                }
            }
            ordered += records
            end = records[records.count - 1].sequence
        }
    }

    /// The held events after `checkpoint` through `head` (of one session, or all when nil), in log
    /// order; nil when the tail cannot tell exactly (the caller reads the log).
    func events(of sessionID: String?, after checkpoint: UInt64, through head: UInt64) -> [RecordedEvent]? {
        lock.withLock {
            guard isKept, checkpoint >= base, head <= end else { return nil }
            guard head > checkpoint else { return [] }
            let held = sessionID.map { bySession[$0] ?? [] } ?? ordered
            return held.filter { $0.sequence > checkpoint && $0.sequence <= head }
        }
    }

    /// The newest version of a session among the held events (writer only).
    func latestVersion(of sessionID: String) -> UInt64? {
        lock.withLock { bySession[sessionID]?.last?.sessionVersion }
    }

    /// What the held events say of a message id of a session (writer only).
    enum HeldMessage {
        /// The session's current incarnation holds it here.
        case found(EventPosition)
        /// Not since the session was last deleted (which the tail holds): older entries do not count.
        case absentSinceDeletion
        /// The tail does not know: ask the index.
        case notHeld
    }

    /// Where a held message of a session is, as far as the tail knows (writer only).
    func message(_ messageID: String, in sessionID: String) -> HeldMessage {
        lock.withLock {
            for record in (bySession[sessionID] ?? []).reversed() {
                switch record.event {
                case .sessionDeleted: return .absentSinceDeletion
                case .messageAdded(let message) where message.messageID == messageID:
                    return .found(EventPosition(sequence: record.sequence, sessionID: sessionID, sessionVersion: record.sessionVersion, timestamp: record.timestamp))
                default: continue
                }
            }
            return .notHeld
        }
    }

    /// Whether the session's last lifecycle event among the held ones is a deletion (true) or a
    /// creation (false); nil when the tail holds neither (writer only).
    func isDeleted(_ sessionID: String) -> Bool? {
        lock.withLock { lifecycle[sessionID] }
    }

    /// Forgets the events through `sequence`, which every projection has now applied.
    func dropThrough(_ sequence: UInt64) {
        lock.withLock {
            guard sequence > base else { return }
            base = min(sequence, end)
            ordered.removeAll { $0.sequence <= base }
            if ordered.isEmpty {
                bySession.removeAll(keepingCapacity: true)
                lifecycle.removeAll(keepingCapacity: true)
                oldestAdded = nil
            } else {
                for (session, records) in bySession {
                    let kept = records.filter { $0.sequence > base }
                    bySession[session] = kept.isEmpty ? nil : kept
                    if kept.isEmpty { lifecycle[session] = nil }
                }
            }
        }
    }

    /// How many events are held, and for how long the oldest has been.
    var load: (count: Int, age: Duration) {
        lock.withLock { (ordered.count, oldestAdded.map { ContinuousClock.now - $0 } ?? .zero) }
    }
}
