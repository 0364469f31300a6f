import Foundation

/// Appends prepared requests inside one write transaction, keeping the integrity chain.
///
/// Only records are written: the stream index and the other projections are materialized from
/// the log later, in batches. So the session heads and message ids this appender checks come from
/// the requests it already took in this transaction, then the ``UnmaterializedTail``, then the
/// stream index.
///
/// Each request is checked completely (idempotency, then expected versions) before anything of it
/// is written, so a request refused for a domain reason leaves the transaction as it found it and
/// the other requests of the batch still commit.
struct LogAppender {
    private let schema: LogSchema
    private let tail: UnmaterializedTail
    /// The sequence of the last record, appended by this appender or before.
    private(set) var lastSequence: UInt64
    private var lastHash: EventHash
    /// The last record, appended by this appender or before.
    var head: ChainHead { ChainHead(sequence: lastSequence, hash: lastHash) }
    private let timestamp: Int64
    /// The records appended in this transaction, in order.
    private(set) var appended: [RecordedEvent] = []
    /// The stored bytes of each of ``appended``.
    private(set) var appendedBytes: [[UInt8]] = []
    /// Sessions this transaction appended to: their head version, and their new messages' positions.
    private var heads: [String: UInt64] = [:]
    private var messages: [String: [String: EventPosition]] = [:]
    /// Sessions whose last lifecycle event in this transaction is a deletion (true) or a creation (false).
    private var deletedNow: [String: Bool] = [:]
    /// Sessions deleted in this transaction: their older message ids no longer count.
    private var deletedInTransaction: Set<String> = []

    /// Reads the chain's tail; events of this transaction get the time `now`, or the tail's time if
    /// the clock went back, so timestamps never decrease along the log.
    init(schema: LogSchema, tail: UnmaterializedTail, txn: borrowing LMDBTransaction, now: Int64) throws {
        self.schema = schema
        self.tail = tail
        let last = try txn.withCursor(schema.events) { cursor -> (UInt64, EventHash, Int64)? in
            guard let last = try cursor.last() else { return nil }
            let link = try ChainLink(last.value)
            guard let sequence = link.sequence, let timestamp = link.timestamp else {
                throw RecordDecodingError.truncated(at: last.value.count)
            }
            return (sequence, link.storedHash, timestamp)
        }
        lastSequence = last?.0 ?? 0
        lastHash = last?.1 ?? .genesis
        timestamp = max(now, last?.2 ?? now)
    }

    /// Applies one request. Domain refusals are returned; storage failures are thrown (the caller
    /// aborts the transaction).
    mutating func apply(_ request: PreparedAppend, txn: borrowing LMDBTransaction) throws -> Result<AppendResult, EventStoreError> {
        if let refusal = try request.precondition?.refusal(in: txn) { return .failure(refusal) }
        if request.answersStoredMessageIDsAsRetry, let originals = try storedOriginals(of: request, txn: txn) {
            return .success(AppendResult(positions: originals, isDuplicate: true))
        }
        // Every stream is checked before anything is written: (its start version, its entries).
        var plans: [(UInt64, [PreparedAppend.Entry])] = []
        for stream in request.streams {
            let current = try currentVersion(of: stream.sessionID, txn: txn)
            // A deleted session is missing for `refuse` and `create` (which starts it afresh).
            let missing = try current == 0 || isDeleted(stream.sessionID, txn: txn)
            var entries = stream.entries
            switch (missing, stream.whenMissing) {
            case (true, .refuse):
                let what = current == 0 ? "does not exist" : "was deleted"
                return .failure(EventStoreError(.sessionNotFound, "session \(stream.sessionID) \(what)", sessionID: stream.sessionID))
            case (true, .create(let creation)):
                entries = creation + entries
            default:
                if let expected = stream.expectedVersion, expected != current {
                    return .failure(.conflict(sessionID: stream.sessionID, expected: expected, actual: current))
                }
            }
            plans.append((current, entries))
        }
        var positions: [EventPosition] = []
        for (stream, (startVersion, entries)) in zip(request.streams, plans) {
            var version = startVersion
            for entry in entries {
                version += 1
                let sequence = lastSequence + 1
                let (record, hash) = EventCodec.encodeRecord(
                    sequence: sequence,
                    sessionID: stream.sessionID,
                    sessionVersion: version,
                    timestamp: timestamp,
                    type: entry.type,
                    payload: entry.payload,
                    previousHash: lastHash
                )
                try txn.put(schema.events, key: LogSchema.sequenceKey(sequence), value: record, append: true)
                let position = EventPosition(sequence: sequence, sessionID: stream.sessionID, sessionVersion: version, timestamp: timestamp)
                if let messageID = entry.messageID { messages[stream.sessionID, default: [:]][messageID] = position }
                switch entry.event {
                case .sessionDeleted:
                    deletedNow[stream.sessionID] = true
                    deletedInTransaction.insert(stream.sessionID)
                    messages[stream.sessionID] = nil
                case .sessionCreated:
                    deletedNow[stream.sessionID] = false
                default:
                    break
                }
                appended.append(
                    RecordedEvent(
                        formatVersion: record[0],
                        sequence: sequence,
                        sessionID: stream.sessionID,
                        sessionVersion: version,
                        timestamp: timestamp,
                        event: entry.event,
                        previousHash: lastHash,
                        hash: hash
                    )
                )
                appendedBytes.append(record)
                lastSequence = sequence
                lastHash = hash
                positions.append(position)
            }
            heads[stream.sessionID] = version
        }
        return .success(AppendResult(positions: positions, isDuplicate: false))
    }

    /// The session's version: as this transaction left it, else as the log holds it.
    private func currentVersion(of sessionID: String, txn: borrowing LMDBTransaction) throws -> UInt64 {
        if let version = heads[sessionID] ?? tail.latestVersion(of: sessionID) { return version }
        guard let head = try txn.get(schema.streams, key: LogSchema.headKey(sessionID)) else { return 0 }
        return LogSchema.readUInt64(head)
    }

    /// Whether the session's current incarnation is deleted: as this transaction, the tail, or the index says.
    private func isDeleted(_ sessionID: String, txn: borrowing LMDBTransaction) throws -> Bool {
        if let deleted = deletedNow[sessionID] ?? tail.isDeleted(sessionID) { return deleted }
        return try txn.get(schema.streams, key: LogSchema.deletedKey(sessionID)) != nil
    }

    /// The stored positions of the request's messages whose ids are already in their session, or
    /// nil when none is.
    private func storedOriginals(of request: PreparedAppend, txn: borrowing LMDBTransaction) throws -> [EventPosition]? {
        var originals: [EventPosition] = []
        for stream in request.streams {
            for case let messageID? in stream.entries.map(\.messageID) {
                if let position = messages[stream.sessionID]?[messageID] {
                    originals.append(position)
                    continue
                }
                guard !deletedInTransaction.contains(stream.sessionID) else { continue }
                switch tail.message(messageID, in: stream.sessionID) {
                case .found(let position):
                    originals.append(position)
                    continue
                case .absentSinceDeletion:
                    continue
                case .notHeld:
                    break
                }
                let key = LogSchema.messageKey(stream.sessionID, messageID: messageID)
                guard let sequenceBytes = try txn.get(schema.streams, key: key) else { continue }
                let sequenceKey = Array(sequenceBytes)
                guard let recordBytes = try txn.get(schema.events, key: sequenceKey) else { continue }
                let record = try EventCodec.decodeRecord(recordBytes)
                originals.append(
                    EventPosition(
                        sequence: record.sequence,
                        sessionID: record.sessionID,
                        sessionVersion: record.sessionVersion,
                        timestamp: record.timestamp
                    )
                )
            }
        }
        return originals.isEmpty ? nil : originals
    }

    /// Milliseconds since 1970 by the wall clock.
    static func wallClockMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
