import EventLog
import Foundation

/// The read side of convlog: sessions and their recent messages, from the projections, and the
/// same as of any point of the log (time travel).
///
/// ```swift
/// let views = try ConversationViews.open(directory: dataDir)
/// let context = try views.context(of: "s1", window: 5)
/// ```
public struct ConversationViews: Sendable {
    /// The log the views are kept from.
    public let store: EventStore
    /// The `sessions` projection.
    public let sessions: SessionsProjector
    /// The `window` projection.
    public let window: WindowProjector
    /// The `checkpoints` projection (LangGraph threads).
    public let checkpoints: CheckpointProjector
    /// The `retention` projection (sessions with their own time to live).
    public let retention: RetentionProjector

    /// Opens the event log in `directory` with the `sessions` and `window` projections, bringing
    /// them up to date with the log (and rebuilding the window when its capacity changed).
    /// - Parameter windowCapacity: messages kept per session by the window projection; nil keeps
    ///   the capacity the stored window was built with (or the default for a new log).
    public static func open(
        directory: URL,
        configuration: EventStore.Configuration = .init(),
        windowCapacity: Int? = nil
    ) throws -> ConversationViews {
        let store = try EventStore(directory: directory, configuration: configuration) { txn, fingerprints in
            let capacity = windowCapacity
                ?? WindowProjector.capacity(fromFingerprint: fingerprints["window"])
                ?? RecentWindow.defaultCapacity
            return [
                try SessionsProjector(txn: txn), try WindowProjector(capacity: capacity, txn: txn), try CheckpointProjector(txn: txn),
                try RetentionProjector(txn: txn),
            ]
        }
        guard let sessions = store.projectors.lazy.compactMap({ $0 as? SessionsProjector }).first,
            let window = store.projectors.lazy.compactMap({ $0 as? WindowProjector }).first,
            let checkpoints = store.projectors.lazy.compactMap({ $0 as? CheckpointProjector }).first,
            let retention = store.projectors.lazy.compactMap({ $0 as? RetentionProjector }).first
        else { preconditionFailure("the factory above makes every projector") }
        return ConversationViews(store: store, sessions: sessions, window: window, checkpoints: checkpoints, retention: retention)
    }

    /// A session's state, or nil when it does not exist.
    public func session(_ sessionID: String) throws -> SessionState? {
        try store.environment.read { txn in try state(of: sessionID, txn: txn) }
    }

    /// A session's state and its last `count` messages (oldest first), from one snapshot; nil when
    /// the session does not exist. `count` beyond the window's capacity is capped at it.
    public func context(of sessionID: String, window count: Int) throws -> (state: SessionState, messages: [WindowMessage])? {
        try store.environment.read { txn in
            guard let state = try state(of: sessionID, txn: txn) else { return nil }
            return (state, try recent(sessionID, count: min(count, window.capacity), txn: txn))
        }
    }

    /// Sessions by last update, newest first, optionally only one user's.
    public func listSessions(userID: String? = nil, limit: Int, after cursor: SessionCursor? = nil) throws -> SessionPage {
        try store.environment.read { txn in
            // Sessions with events the projection has not applied are newer than every indexed
            // update (timestamps never decrease along the log): their index entries are stale.
            let newer = try store.unmaterialized(of: nil, after: store.checkpoint(of: sessions, txn: txn), txn: txn)
            var touched: [SessionState] = []
            for sessionID in Set(newer.map(\.sessionID)) {
                guard let state = try state(of: sessionID, txn: txn), userID == nil || state.userID == userID else { continue }
                guard cursor.map({ LogSchema.precedes(ProjectionRows.updateKey(state), $0.key) }) ?? true else { continue }
                touched.append(state)
            }
            let indexed = try sessions.list(userID: userID, limit: limit, after: cursor, excluding: Set(newer.map(\.sessionID)), txn: txn)
            // Merge the two newest-first lists.
            let merged = (touched + indexed.sessions).sorted { LogSchema.precedes(ProjectionRows.updateKey($1), ProjectionRows.updateKey($0)) }
            let page = Array(merged.prefix(limit))
            let hasMore = merged.count > limit || indexed.nextCursor != nil
            return SessionPage(sessions: page, nextCursor: hasMore ? page.last.map { SessionCursor(key: ProjectionRows.updateKey($0)) } : nil)
        }
    }

    /// A session's own time to live in seconds (set at creation), or nil: the projection's row
    /// with the events it has not applied yet folded in.
    public func ttlSeconds(of sessionID: String) throws -> UInt64? {
        try store.environment.read { txn in
            var row = try txn.get(retention.retention, key: Array(sessionID.utf8)).flatMap(RetentionProjector.Row.init)
            for record in try store.unmaterialized(of: sessionID, after: store.checkpoint(of: retention, txn: txn), txn: txn) {
                row = RetentionProjector.next(row, record)
            }
            return row?.ttlSeconds
        }
    }

    /// Sessions that may have expired by `now` (UTC ms): those with their own TTL past it, and,
    /// with a default retention, those without one last updated more than it ago; at most `limit`
    /// of each. From the stored rows, which lag: check each with ``session(_:)`` and ``ttlSeconds(of:)``.
    public func expiryCandidates(now: Int64, defaultRetentionSeconds: UInt64?, limit: Int) throws -> [String] {
        try store.environment.read { txn in
            var candidates = try retention.expired(before: now, limit: limit, txn: txn)
            if let defaultRetentionSeconds {
                let bound = now - Int64(clamping: defaultRetentionSeconds) * 1_000
                // Sessions with a TTL of their own follow it, not the default (skipped while scanning, so they never crowd out the others).
                candidates += try sessions.updated(before: bound, limit: limit, txn: txn) { try retention.ttlSeconds(of: $0, txn: txn) == nil }
            }
            return candidates
        }
    }

    /// The session's state in `txn`: the projection's row with the events it has not applied yet
    /// folded in.
    private func state(of sessionID: String, txn: borrowing LMDBTransaction) throws -> SessionState? {
        var state = try sessions.state(of: sessionID, txn: txn)
        for record in try store.unmaterialized(of: sessionID, after: store.checkpoint(of: sessions, txn: txn), txn: txn) {
            state = SessionState.next(state, record)
        }
        return state
    }

    /// The last `count` messages of a session in `txn` (oldest first): the window's rows, then the
    /// messages it has not applied yet.
    private func recent(_ sessionID: String, count: Int, txn: borrowing LMDBTransaction) throws -> [WindowMessage] {
        let unapplied = try store.unmaterialized(of: sessionID, after: store.checkpoint(of: window, txn: txn), txn: txn)
        // A deletion among them ends the session's earlier messages, the window's rows included.
        let deletion = unapplied.lastIndex { if case .sessionDeleted = $0.event { true } else { false } }
        let newer = unapplied[(deletion.map { $0 + 1 } ?? 0)...].compactMap(WindowMessage.init)
        guard newer.count < count, deletion == nil else { return Array(newer.suffix(count)) }
        return try window.recent(sessionID, count: count - newer.count, txn: txn) + newer
    }

    /// The session's state as it was once the log held events up to `sequence`; nil when the
    /// session had no event by then.
    public func session(_ sessionID: String, asOf sequence: UInt64) throws -> SessionState? {
        var state: SessionState?
        try store.visitEvents(inSession: sessionID) { record in
            guard record.sequence <= sequence else { return false }
            state = SessionState.next(state, record)
            return true
        }
        return state
    }

    /// The session's last `count` messages (oldest first) as they were once the log held events up
    /// to `sequence`. Not capped by the window's capacity: it reads the log itself.
    public func messages(of sessionID: String, count: Int, asOf sequence: UInt64) throws -> [WindowMessage] {
        var messages: [WindowMessage] = []
        guard count > 0 else { return messages }
        try store.visitEvents(inSession: sessionID, direction: .backward) { record in
            guard record.sequence <= sequence else { return true }
            if case .sessionDeleted = record.event { return false }  // the messages before it are gone
            if let entry = WindowMessage(record) { messages.append(entry) }
            return messages.count < count
        }
        return messages.reversed()
    }
}
