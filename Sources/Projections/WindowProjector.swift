import EventLog

/// The `window` projection: the last ``capacity`` messages of every session, keyed so that reading
/// the last k costs k reads, whatever the session's length or the log's size. A row holds the
/// message's global sequence: the message itself is read from the log, so it is stored once.
public struct WindowProjector: LogProjector {
    public let name = "window"
    /// The most messages kept per session. Changing it needs `convlog rebuild --projection window`.
    public let capacity: Int
    let window: LMDBDatabase
    /// The log's records, which the rows point into.
    let events: LMDBDatabase

    public var tables: [LMDBDatabase] { [window] }
    /// The row format version and the capacity.
    public var fingerprint: [UInt8] { [ProjectionRows.rowVersion] + LogSchema.bigEndianBytes(UInt64(capacity)) }

    /// Opens its table (creating it in a write transaction).
    public init(capacity: Int, txn: borrowing LMDBTransaction) throws {
        precondition(capacity >= 1, "a window keeps at least one message")
        self.capacity = capacity
        window = try txn.openDatabase(named: "projection.window", create: txn.isWritable)
        events = try txn.openDatabase(named: LogSchema.eventsName, create: false)
    }

    /// The capacity a stored window projection was built with, from its fingerprint.
    public static func capacity(fromFingerprint fingerprint: [UInt8]?) -> Int? {
        guard let fingerprint, fingerprint.count == 9, fingerprint[0] == ProjectionRows.rowVersion else { return nil }
        return fingerprint.withUnsafeBytes { Int(exactly: LogSchema.readUInt64($0, at: 1)) }
    }

    public func apply(_ record: RecordedEvent, in txn: borrowing LMDBTransaction) throws {
        if case .sessionDeleted = record.event {
            for key in try txn.keys(startingWith: ProjectionRows.windowPrefix(record.sessionID), in: window) { try txn.delete(window, key: key) }
            return
        }
        guard let entry = WindowMessage(record) else { return }
        let ordinal = try lastOrdinal(of: record.sessionID, txn: txn) + 1
        try txn.put(window, key: ProjectionRows.windowKey(record.sessionID, ordinal: ordinal), value: ProjectionRows.windowRow(entry.sequence))
        if ordinal > UInt64(capacity) {
            try txn.delete(window, key: ProjectionRows.windowKey(record.sessionID, ordinal: ordinal - UInt64(capacity)))
        }
    }

    public func makeFold() -> any ProjectionFold { Fold(capacity: capacity) }

    /// Every session's window, folded in memory: per session, the sequences of its last
    /// ``capacity`` messages and how many it had in all; rows are made in key order at the end.
    struct Fold: ProjectionFold {
        let capacity: Int
        var windows: [String: (sequences: [UInt64], total: UInt64)] = [:]

        mutating func add(_ record: RecordedEvent) {
            switch record.event {
            case .sessionDeleted: windows[record.sessionID] = nil
            case .messageAdded: Self.add(record.sequence, to: &windows[record.sessionID, default: ([], 0)], capacity: capacity)
            default: break
            }
        }

        private static func add(_ sequence: UInt64, to window: inout (sequences: [UInt64], total: UInt64), capacity: Int) {
            window.sequences.append(sequence)
            window.total += 1
            if window.sequences.count >= 2 * capacity { window.sequences.removeFirst(capacity) }  // amortized: trim in halves
        }

        func rows() -> [PackedRows] {
            var rows = PackedRows()
            // Keys are session id ‖ 0x00 ‖ ordinal: sessions in byte order, ordinals ascending.
            for sessionID in windows.keys.sorted(by: LogSchema.precedesInUTF8) {
                let window = windows[sessionID]!
                let kept = window.sequences.suffix(capacity)
                let firstOrdinal = window.total - UInt64(kept.count) + 1
                for (offset, sequence) in kept.enumerated() {
                    rows.append(
                        key: { ProjectionRows.appendWindowKey(sessionID, ordinal: firstOrdinal + UInt64(offset), to: &$0) },
                        value: { ProjectionRows.appendWindowRow(sequence, to: &$0) }
                    )
                }
            }
            return [rows]
        }
    }

    /// The last `count` messages of a session (at most ``capacity``), oldest first.
    /// (The stored rows only: ``ConversationViews`` overlays the messages not applied yet.)
    func recent(_ sessionID: String, count: Int, txn: borrowing LMDBTransaction) throws -> [WindowMessage] {
        let prefix = ProjectionRows.windowPrefix(sessionID)
        return try txn.withCursor(window) { cursor in
            var entry = try cursor.seek(before: ProjectionRows.windowKey(sessionID, ordinal: .max))
            var messages: [WindowMessage] = []
            while let current = entry, current.key.starts(with: prefix), messages.count < count {
                guard current.value.count == 8, let stored = try txn.get(events, key: Array(current.value)),
                    let message = WindowMessage(try EventCodec.decodeRecord(stored))
                else { throw RecordDecodingError.invalidCode(field: "window row", value: 0) }
                messages.append(message)
                entry = try cursor.previous()
            }
            return messages.reversed()
        }
    }

    private func lastOrdinal(of sessionID: String, txn: borrowing LMDBTransaction) throws -> UInt64 {
        let prefix = ProjectionRows.windowPrefix(sessionID)
        return try txn.withCursor(window) { cursor in
            guard let last = try cursor.seek(before: ProjectionRows.windowKey(sessionID, ordinal: .max)), last.key.starts(with: prefix), last.key.count == prefix.count + 8 else { return 0 }
            return LogSchema.readUInt64(last.key, at: prefix.count)
        }
    }
}
