/// The `streams` index: each session's events by version, its message ids, its head version, and
/// the number of sessions, all derived from the log.
///
/// It is a projection like any other: the writer commits only records on the acknowledgement path
/// and materializes this index (and the other projections) from the log in batches, so a durable
/// commit dirties the log's last page instead of a page per session. Appends and reads overlay
/// the events it has not applied yet (``UnmaterializedTail``). `convlog rebuild --projection
/// streams` rebuilds it and `convlog verify --projections` checks it.
struct StreamIndex: LogProjector {
    let name = "streams"
    let schema: LogSchema

    var tables: [LMDBDatabase] { [schema.streams] }
    /// The layout of the keys in ``LogSchema``, version 1.
    var fingerprint: [UInt8] { [1] }

    func apply(_ record: RecordedEvent, in txn: borrowing LMDBTransaction) throws {
        for row in Self.rows(for: record) { try txn.put(schema.streams, key: row.key, value: row.value) }
        if record.sessionVersion == 1 {
            let count = try txn.get(schema.streams, key: LogSchema.sessionCountKey).map { LogSchema.readUInt64($0) } ?? 0
            try txn.put(schema.streams, key: LogSchema.sessionCountKey, value: LogSchema.bigEndianBytes(count + 1))
        }
    }

    func makeFold() -> any ProjectionFold { Fold() }

    /// The entries one event adds: its version, its message id (for a message), the session's head.
    static func rows(for record: RecordedEvent) -> [ProjectionRow] {
        let sequenceKey = LogSchema.sequenceKey(record.sequence)
        var rows = [
            ProjectionRow(key: LogSchema.streamKey(record.sessionID, version: record.sessionVersion), value: sequenceKey),
            ProjectionRow(key: LogSchema.headKey(record.sessionID), value: LogSchema.bigEndianBytes(record.sessionVersion)),
        ]
        if case .messageAdded(let message) = record.event {
            rows.append(ProjectionRow(key: LogSchema.messageKey(record.sessionID, messageID: message.messageID), value: sequenceKey))
        }
        return rows
    }

    /// The whole index, folded in memory.
    struct Fold: ProjectionFold {
        var rowsByKey: [[UInt8]: [UInt8]] = [:]
        var sessions: UInt64 = 0

        mutating func add(_ record: RecordedEvent) {
            for row in StreamIndex.rows(for: record) { rowsByKey[row.key] = row.value }
            if record.sessionVersion == 1 { sessions += 1 }
        }

        func rows() -> [[ProjectionRow]] {
            var rows = rowsByKey.map { ProjectionRow(key: $0.key, value: $0.value) }
            if sessions > 0 { rows.append(ProjectionRow(key: LogSchema.sessionCountKey, value: LogSchema.bigEndianBytes(sessions))) }
            return [rows.sorted { LogSchema.precedes($0.key, $1.key) }]
        }
    }
}
