import EventLog
import PostgresNIO

/// What the operator tools do on the shared log itself: copy a local log into it, rebuild its
/// projection table.
extension PostgresSharedLog {
    /// Copies `source`'s records that the shared log lacks into it, byte for byte, in commits of
    /// `chunk` records, checking each against the chain. The shared log must be empty or hold a
    /// prefix of `source` (an earlier, interrupted copy): copying again resumes it.
    /// - Parameter progress: called after each commit with the shared log's new head sequence.
    /// - Returns: the shared log's head after the copy.
    /// - Throws: ``SharedLogError`` when the database holds another log, or a record of `source`
    ///   does not verify.
    public func copy(from source: EventStore, chunk: Int = 1_000, progress: (UInt64) -> Void = { _ in }) throws -> ChainHead {
        var checkedPrefix = false
        while true {
            let unit = try begin(appending: true)
            defer { unit.end() }
            if !checkedPrefix {
                try checkPrefix(unit.head, of: source)
                checkedPrefix = true
            }
            let stored = try source.storedRecords(after: unit.head.sequence, limit: chunk)
            guard !stored.isEmpty else { return unit.head }
            var verifier = ChainVerifier(after: unit.head)
            for bytes in stored {
                let held = bytes.withUnsafeBytes { record in
                    LogSchema.sequenceKey(verifier.head.sequence + 1).withUnsafeBytes { verifier.check(key: $0, record: record) != nil }
                }
                guard held else { throw SharedLogError("the source log does not verify: \(verifier.failure.map(String.init(describing:)) ?? "unreadable record"); nothing after it was copied") }
            }
            try unit.commit(appending: try stored.map(SharedRecord.init(storedBytes:)))
            progress(verifier.head.sequence)
        }
    }

    /// Refuses a shared log that is not empty and does not end on one of `source`'s records.
    private func checkPrefix(_ head: ChainHead, of source: EventStore) throws {
        guard head.sequence > 0 else { return }
        let sourceHead = try source.head()
        guard head.sequence <= sourceHead.sequence,
            let record = try source.storedRecords(after: head.sequence - 1, limit: 1).first,
            let copied = try? SharedRecord(storedBytes: record), copied.event.hash == head.hash
        else {
            throw SharedLogError("the database already holds another convlog log (head \(head.sequence) is not a record of the source log): migrate into an empty database")
        }
    }

    /// Rebuilds the `convlog_sessions` table from `convlog_events`, under the append lock (no
    /// daemon appends meanwhile). Returns the number of sessions.
    public func rebuildSessionsTable() throws -> Int {
        let unit = try begin(appending: true)
        defer { unit.end() }
        guard let unit = unit as? PostgresLogUnit else { preconditionFailure("a PostgresSharedLog makes PostgresLogUnits") }
        return try unit.rebuildSessionsTable()
    }
}
