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
        var head = try head()
        try checkPrefix(head, of: source)
        while true {
            let stored = try source.storedRecords(after: head.sequence, limit: chunk)
            guard !stored.isEmpty else { return head }
            var verifier = ChainVerifier(after: head)
            for bytes in stored {
                guard verifier.check(next: bytes) != nil else { throw SharedLogError("the source log does not verify: \(verifier.failure.map(String.init(describing:)) ?? "unreadable record"); nothing after it was copied") }
            }
            guard let placement = try append(try stored.map(SharedRecord.init(storedBytes:)), builtOn: head, onlyThere: true) else {
                throw SharedLogError("another writer appended to the database during the copy: stop every convlogd using it, then run migrate again")
            }
            guard placement.last == verifier.head else {
                throw SharedLogError("the database chained records \(head.sequence + 1)–\(placement.last.sequence) otherwise than the source log")
            }
            head = verifier.head
            progress(head.sequence)
        }
    }

    /// Refuses a shared log that is not empty and does not end on one of `source`'s records.
    private func checkPrefix(_ head: ChainHead, of source: EventStore) throws {
        guard head.sequence > 0 else { return }
        guard let record = try source.storedRecords(after: head.sequence - 1, limit: 1).first,
            let copied = try? SharedRecord(storedBytes: record), copied.event.hash == head.hash
        else {
            throw SharedLogError("the database already holds another convlog log (head \(head.sequence) is not a record of the source log): migrate into an empty database")
        }
    }

    /// Rebuilds the `convlog_sessions` table from `convlog_events` in one transaction that holds
    /// appends off meanwhile. Returns the number of sessions.
    public func rebuildSessionsTable() throws -> Int {
        try run("rebuilding convlog_sessions") { connection in
            _ = try connection.answer("BEGIN", logger: logger)
            do {
                _ = try connection.answer("LOCK TABLE convlog_events IN SHARE MODE", logger: logger)
                _ = try connection.answer("DELETE FROM convlog_sessions", logger: logger)
                let inserted = try connection.answer(
                    """
                    INSERT INTO convlog_sessions (session_id, version, updated_at, deleted)
                    SELECT last.session_id, last.session_version, last.recorded_at, coalesce((
                        SELECT l.type = \(EventType.sessionDeleted) FROM convlog_events l
                        WHERE l.session_id = last.session_id AND l.type IN (\(EventType.sessionCreated), \(EventType.sessionDeleted))
                        ORDER BY l.session_version DESC LIMIT 1), false)
                    FROM (SELECT DISTINCT ON (session_id) session_id, session_version, recorded_at
                          FROM convlog_events ORDER BY session_id, session_version DESC) last
                    """,
                    logger: logger
                )
                _ = try connection.answer("COMMIT", logger: logger)
                return inserted.metadata.rows ?? 0
            } catch {
                _ = try? connection.answer("ROLLBACK", logger: logger)
                throw error
            }
        }
    }
}
