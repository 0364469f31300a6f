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
        if record.sessionVersion == 1 { try add(1, to: LogSchema.sessionCountKey, txn: txn) }
        switch record.event {
        case .sessionDeleted:
            // The deleted messages' ids are free again: a new conversation may use them.
            for key in try txn.keys(startingWith: LogSchema.messageKey(record.sessionID, messageID: ""), in: schema.streams) {
                try txn.delete(schema.streams, key: key)
            }
            if try txn.get(schema.streams, key: LogSchema.deletedKey(record.sessionID)) == nil { try add(1, to: LogSchema.deletedCountKey, txn: txn) }
            try txn.put(schema.streams, key: LogSchema.deletedKey(record.sessionID), value: LogSchema.bigEndianBytes(record.sessionVersion))
        case .sessionCreated:
            if try txn.delete(schema.streams, key: LogSchema.deletedKey(record.sessionID)) { try add(-1, to: LogSchema.deletedCountKey, txn: txn) }
        default:
            break
        }
    }

    private func add(_ delta: Int64, to counter: [UInt8], txn: borrowing LMDBTransaction) throws {
        let count = try txn.get(schema.streams, key: counter).map { LogSchema.readUInt64($0) } ?? 0
        let updated = UInt64(Int64(count) + delta)
        if updated == 0 {
            try txn.delete(schema.streams, key: counter)
        } else {
            try txn.put(schema.streams, key: counter, value: LogSchema.bigEndianBytes(updated))
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

    /// The whole index, folded in memory: per session, its events' sequences by version and its
    /// messages' sequences by id; the rows are made in key order at the end.
    struct Fold: ProjectionFold {
        typealias Stream = (sequences: [UInt64], messages: [String: UInt64], deletedAt: UInt64?)
        var streams: [String: Stream] = [:]

        mutating func add(_ record: RecordedEvent) {
            Self.add(record, to: &streams[record.sessionID, default: ([], [:], nil)])
        }

        private static func add(_ record: RecordedEvent, to stream: inout Stream) {
            stream.sequences.append(record.sequence)
            switch record.event {
            case .messageAdded(let message): stream.messages[message.messageID] = record.sequence
            case .sessionDeleted:
                stream.messages = [:]
                stream.deletedAt = record.sessionVersion
            case .sessionCreated: stream.deletedAt = nil
            default: break
            }
        }

        func rows() -> [PackedRows] {
            var rows = PackedRows()
            if !streams.isEmpty {
                rows.append(key: { $0 += LogSchema.sessionCountKey }, value: { $0.appendBigEndian(UInt64(streams.count)) })
            }
            let deleted = streams.values.filter { $0.deletedAt != nil }.count
            if deleted > 0 { rows.append(key: { $0 += LogSchema.deletedCountKey }, value: { $0.appendBigEndian(UInt64(deleted)) }) }
            // A session's keys are its id then a tag (0x00 versions, 0x01 message ids, 0x02 head, 0x03 deleted):
            // sessions in byte order of their ids, then each session's rows in tag order.
            for sessionID in streams.keys.sorted(by: LogSchema.precedesInUTF8) {
                let stream = streams[sessionID]!
                /// Appends the row session id ‖ `tag` ‖ what `rest` appends → `value` (UInt64 BE).
                func append(_ tag: LogSchema.StreamTag, _ value: UInt64, _ rest: (inout [UInt8]) -> Void = { _ in }) {
                    rows.append(key: { LogSchema.appendKey(sessionID, tag: tag.rawValue, to: &$0, rest) }, value: { $0.appendBigEndian(value) })
                }
                for (index, sequence) in stream.sequences.enumerated() {
                    append(.version, sequence) { $0.appendBigEndian(UInt64(index + 1)) }
                }
                for (messageID, sequence) in stream.messages.sorted(by: { LogSchema.precedesInUTF8($0.key, $1.key) }) {
                    append(.message, sequence) { $0 += messageID.utf8 }
                }
                append(.head, UInt64(stream.sequences.count))
                if let deletedAt = stream.deletedAt { append(.deleted, deletedAt) }
            }
            return [rows]
        }
    }
}
