import Foundation

/// Appends prepared requests inside one write transaction, keeping the chain, the indexes and the
/// session heads in step.
///
/// Each request is checked completely (idempotency, then expected versions) before anything of it
/// is written, so a request refused for a domain reason leaves the transaction as it found it and
/// the other requests of the batch still commit.
struct LogAppender {
    private let schema: LogSchema
    private let projectors: [any LogProjector]
    /// The sequence of the last record, appended by this appender or before.
    private(set) var lastSequence: UInt64
    /// Sessions this appender started.
    private var newSessions: UInt64 = 0
    private var lastHash: EventHash
    private let timestamp: Int64

    /// Reads the chain's tail; events of this transaction get the time `now`, or the tail's time if
    /// the clock went back, so timestamps never decrease along the log.
    init(schema: LogSchema, projectors: [any LogProjector], txn: borrowing LMDBTransaction, now: Int64) throws {
        self.schema = schema
        self.projectors = projectors
        let tail = try txn.withCursor(schema.events) { cursor -> (UInt64, EventHash, Int64)? in
            guard let last = try cursor.last() else { return nil }
            let link = try ChainLink(last.value)
            guard let sequence = link.sequence, let timestamp = link.timestamp else {
                throw RecordDecodingError.truncated(at: last.value.count)
            }
            return (sequence, link.storedHash, timestamp)
        }
        lastSequence = tail?.0 ?? 0
        lastHash = tail?.1 ?? .genesis
        timestamp = max(now, tail?.2 ?? now)
    }

    /// Records in `meta` what the batch changed: the projectors' checkpoints (they hold everything
    /// up to ``lastSequence``) and the number of sessions.
    func finish(txn: borrowing LMDBTransaction) throws {
        for projector in projectors { try schema.setCheckpoint(lastSequence, of: projector, txn: txn) }
        if newSessions > 0 {
            let count = try txn.get(schema.meta, key: LogSchema.sessionCountKey).map { LogSchema.readUInt64($0) } ?? 0
            try txn.put(schema.meta, key: LogSchema.sessionCountKey, value: LogSchema.bigEndianBytes(count + newSessions))
        }
    }

    /// Applies one request. Domain refusals are returned; storage failures are thrown (the caller
    /// aborts the transaction).
    mutating func apply(_ request: PreparedAppend, txn: borrowing LMDBTransaction) throws -> Result<AppendResult, EventStoreError> {
        if let originals = try storedOriginals(of: request, txn: txn) {
            return .success(AppendResult(positions: originals, isDuplicate: true))
        }
        // Every stream is checked before anything is written: (its start version, its entries).
        var plans: [(UInt64, [PreparedAppend.Entry])] = []
        for stream in request.streams {
            let current = try currentVersion(of: stream.sessionID, txn: txn)
            var entries = stream.entries
            switch (current, stream.whenMissing) {
            case (0, .refuse):
                return .failure(EventStoreError(.sessionNotFound, "session \(stream.sessionID) does not exist", sessionID: stream.sessionID))
            case (0, .create(let creation)):
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
                let sequenceKey = LogSchema.sequenceKey(sequence)
                let (record, hash) = EventCodec.encodeRecord(
                    sequence: sequence,
                    sessionID: stream.sessionID,
                    sessionVersion: version,
                    timestamp: timestamp,
                    type: entry.type,
                    payload: entry.payload,
                    previousHash: lastHash
                )
                try txn.put(schema.events, key: sequenceKey, value: record, append: true)
                try txn.put(schema.streams, key: LogSchema.streamKey(stream.sessionID, version: version), value: sequenceKey)
                if let messageID = entry.messageID {
                    try txn.put(schema.streams, key: LogSchema.messageKey(stream.sessionID, messageID: messageID), value: sequenceKey)
                }
                if !projectors.isEmpty {
                    let recorded = RecordedEvent(
                        formatVersion: EventCodec.formatVersion,
                        sequence: sequence,
                        sessionID: stream.sessionID,
                        sessionVersion: version,
                        timestamp: timestamp,
                        event: entry.event,
                        previousHash: lastHash,
                        hash: hash
                    )
                    for projector in projectors { try projector.apply(recorded, in: txn) }
                }
                lastSequence = sequence
                lastHash = hash
                positions.append(EventPosition(sequence: sequence, sessionID: stream.sessionID, sessionVersion: version, timestamp: timestamp))
            }
            try txn.put(schema.streams, key: LogSchema.headKey(stream.sessionID), value: LogSchema.bigEndianBytes(version))
            if startVersion == 0 { newSessions += 1 }
        }
        return .success(AppendResult(positions: positions, isDuplicate: false))
    }

    private func currentVersion(of sessionID: String, txn: borrowing LMDBTransaction) throws -> UInt64 {
        guard let head = try txn.get(schema.streams, key: LogSchema.headKey(sessionID)) else { return 0 }
        return LogSchema.readUInt64(head)
    }

    /// The stored positions of the request's messages whose ids are already in their session, or
    /// nil when none is.
    private func storedOriginals(of request: PreparedAppend, txn: borrowing LMDBTransaction) throws -> [EventPosition]? {
        var originals: [EventPosition] = []
        for stream in request.streams {
            for case let messageID? in stream.entries.map(\.messageID) {
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
