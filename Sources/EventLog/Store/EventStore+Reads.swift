/// The last record of the log: the head of the integrity chain.
public struct ChainHead: Sendable, Hashable {
    /// The sequence of the last record (0 for an empty log).
    public var sequence: UInt64
    /// Its hash (``EventHash/genesis`` for an empty log).
    public var hash: EventHash

    public init(sequence: UInt64, hash: EventHash) {
        self.sequence = sequence
        self.hash = hash
    }
}

/// The order in which a session's events are read.
public enum ReadDirection: Sendable {
    case forward, backward
}

extension EventStore {
    /// Up to `limit` records from global sequence `start` on, in log order.
    public func events(from start: UInt64 = 1, limit: Int = .max) throws -> [RecordedEvent] {
        try environment.read { txn in
            try txn.withCursor(schema.events) { cursor in
                var records: [RecordedEvent] = []
                var entry = try cursor.seek(atOrAfter: LogSchema.sequenceKey(start))
                while let current = entry, records.count < limit {
                    records.append(try EventCodec.decodeRecord(current.value))
                    entry = try cursor.next()
                }
                return records
            }
        }
    }

    /// Up to `limit` records after sequence `after`, in log order, as their stored bytes (to copy
    /// the log elsewhere byte for byte, as `convlog migrate` does).
    public func storedRecords(after: UInt64, limit: Int) throws -> [[UInt8]] {
        try environment.read { txn in
            try txn.withCursor(schema.events) { cursor in
                var records: [[UInt8]] = []
                var entry = try cursor.seek(atOrAfter: LogSchema.sequenceKey(after + 1))
                while let current = entry, records.count < limit {
                    records.append(Array(current.value))
                    entry = try cursor.next()
                }
                return records
            }
        }
    }

    /// Calls `body` with each record from global sequence `start` on, in log order, until it
    /// returns false. Reads in snapshots of `chunk` records, so a long walk never holds up the writer.
    public func visitEvents(from start: UInt64 = 1, chunk: Int = 50_000, _ body: (RecordedEvent) throws -> Bool) throws {
        var next = start
        while true {
            var stop = false
            let visited = try environment.read { txn in
                try txn.withCursor(schema.events) { cursor in
                    var count = 0
                    var entry = try cursor.seek(atOrAfter: LogSchema.sequenceKey(next))
                    while let current = entry, count < chunk {
                        let record = try EventCodec.decodeRecord(current.value)
                        count += 1
                        next = record.sequence + 1
                        guard try body(record) else {
                            stop = true
                            break
                        }
                        entry = try cursor.next()
                    }
                    return count
                }
            }
            if stop || visited < chunk { return }
        }
    }

    /// Up to `limit` events of one session, from version `start` (forward: the first; backward:
    /// the latest, when nil), in the given direction. Empty for an unknown session.
    public func events(
        inSession sessionID: String,
        from start: UInt64? = nil,
        direction: ReadDirection = .forward,
        limit: Int = .max
    ) throws -> [RecordedEvent] {
        var records: [RecordedEvent] = []
        guard limit > 0 else { return records }
        try visitEvents(inSession: sessionID, from: start, direction: direction) { record in
            records.append(record)
            return records.count < limit
        }
        return records
    }

    /// Calls `body` with the events of one session, from version `start` (forward: the first;
    /// backward: the latest, when nil), in the given direction, in one snapshot, until `body`
    /// returns false.
    public func visitEvents(
        inSession sessionID: String,
        from start: UInt64? = nil,
        direction: ReadDirection = .forward,
        _ body: (RecordedEvent) throws -> Bool
    ) throws {
        try environment.read { txn in
            // The index holds the session's events through its checkpoint; the newer ones are in the tail.
            let newer = try unmaterialized(of: sessionID, after: checkpoint(of: index, txn: txn), txn: txn)
            if direction == .backward {
                for record in newer.reversed() where start.map({ record.sessionVersion <= $0 }) ?? true {
                    guard try body(record) else { return }
                }
            }
            let indexed = try txn.withCursor(schema.streams) { cursor -> Bool in
                let prefix = Array(sessionID.utf8) + [0]
                var entry: LMDBEntry?
                switch direction {
                case .forward:
                    entry = try cursor.seek(atOrAfter: LogSchema.streamKey(sessionID, version: start ?? 1))
                case .backward:
                    // Seek just past the first wanted version (no session reaches version UInt64.max), then step back.
                    let pastStart = start.map { $0 < .max ? $0 + 1 : .max } ?? .max
                    entry = try cursor.seek(before: LogSchema.streamKey(sessionID, version: pastStart))
                }
                while let current = entry, current.key.starts(with: prefix) {
                    guard let record = try txn.get(schema.events, key: Array(current.value)) else { return false }
                    guard try body(try EventCodec.decodeRecord(record)) else { return false }
                    entry = direction == .forward ? try cursor.next() : try cursor.previous()
                }
                return true
            }
            guard indexed, direction == .forward else { return }
            for record in newer where start.map({ record.sessionVersion >= $0 }) ?? true {
                guard try body(record) else { return }
            }
        }
    }

    /// The events of the log (of one session, or all when nil) after `checkpoint` in `txn`'s
    /// snapshot, in log order: what a projection whose checkpoint that is has not applied yet.
    /// From the writer's tail when it holds exactly those, else read from the log.
    package func unmaterialized(of sessionID: String?, after checkpoint: UInt64, txn: borrowing LMDBTransaction) throws -> [RecordedEvent] {
        let head = try headSequence(txn: txn)
        if let held = tail.events(of: sessionID, after: checkpoint, through: head) { return held }
        var records: [RecordedEvent] = []
        try txn.withCursor(schema.events) { cursor in
            var entry = try cursor.seek(atOrAfter: LogSchema.sequenceKey(checkpoint + 1))
            while let current = entry {
                let record = try EventCodec.decodeRecord(current.value)
                if sessionID == nil || record.sessionID == sessionID { records.append(record) }
                entry = try cursor.next()
            }
        }
        return records
    }

    /// The last sequence `projector` has applied, in `txn`'s snapshot.
    package func checkpoint(of projector: any LogProjector, txn: borrowing LMDBTransaction) throws -> UInt64 {
        try schema.checkpoint(of: projector, txn: txn)
    }

    /// The stream index (the first projector).
    var index: any LogProjector { projectors[0] }

    /// The record at `sequence`, or nil when there is none.
    public func event(at sequence: UInt64) throws -> RecordedEvent? {
        try environment.read { txn in
            try txn.get(schema.events, key: LogSchema.sequenceKey(sequence)).map { try EventCodec.decodeRecord($0) }
        }
    }

    /// The session's current version (its number of events), or nil when it has none.
    public func version(ofSession sessionID: String) throws -> UInt64? {
        try environment.read { txn in try version(ofSession: sessionID, txn: txn) }
    }

    /// The session's version in `txn`'s snapshot, or nil when it has no event.
    package func version(ofSession sessionID: String, txn: borrowing LMDBTransaction) throws -> UInt64? {
        if let newest = try unmaterialized(of: sessionID, after: checkpoint(of: index, txn: txn), txn: txn).last { return newest.sessionVersion }
        return try txn.get(schema.streams, key: LogSchema.headKey(sessionID)).map { LogSchema.readUInt64($0) }
    }

    /// The last record's sequence and hash.
    public func head() throws -> ChainHead {
        try environment.read { txn in try Self.head(schema: schema, txn: txn) }
    }

    /// The last record's sequence and hash in `txn`.
    static func head(schema: LogSchema, txn: borrowing LMDBTransaction) throws -> ChainHead {
        try txn.withCursor(schema.events) { cursor in
            guard let last = try cursor.last() else { return ChainHead(sequence: 0, hash: .genesis) }
            let link = try ChainLink(last.value)
            return ChainHead(sequence: LogSchema.readUInt64(last.key), hash: link.storedHash)
        }
    }

    /// How many events and sessions the log holds.
    public func counts() throws -> (events: Int, sessions: Int) {
        try environment.read { txn in
            let indexed = try txn.get(schema.streams, key: LogSchema.sessionCountKey).map { Int(LogSchema.readUInt64($0)) } ?? 0
            let started = try unmaterialized(of: nil, after: checkpoint(of: index, txn: txn), txn: txn).filter { $0.sessionVersion == 1 }.count
            return (try txn.entryCount(of: schema.events), indexed + started)
        }
    }
}

extension EventStore {
    /// The record at `sequence` in `txn`'s snapshot, or nil when there is none.
    package func record(at sequence: UInt64, txn: borrowing LMDBTransaction) throws -> RecordedEvent? {
        try txn.get(schema.events, key: LogSchema.sequenceKey(sequence)).map { try EventCodec.decodeRecord($0) }
    }

    /// A session's version (0 when it has no event) and the records of those of `messageIDs` it
    /// holds, by message id, in `txn`'s snapshot.
    package func storedMessages(
        _ messageIDs: some Sequence<String>,
        in sessionID: String,
        txn: borrowing LMDBTransaction
    ) throws -> (version: UInt64, messages: [String: RecordedEvent]) {
        let newer = try unmaterialized(of: sessionID, after: checkpoint(of: index, txn: txn), txn: txn)
        var version = newer.last?.sessionVersion ?? 0
        if version == 0, let head = try txn.get(schema.streams, key: LogSchema.headKey(sessionID)) { version = LogSchema.readUInt64(head) }
        var newerMessages: [String: RecordedEvent] = [:]
        var deletedSinceIndex = false
        for record in newer {
            switch record.event {
            case .messageAdded(let message): newerMessages[message.messageID] = record
            case .sessionDeleted:
                newerMessages = [:]
                deletedSinceIndex = true
            default: break
            }
        }
        var found: [String: RecordedEvent] = [:]
        for messageID in messageIDs {
            if let record = newerMessages[messageID] {
                found[messageID] = record
            } else if !deletedSinceIndex, let sequence = try txn.get(schema.streams, key: LogSchema.messageKey(sessionID, messageID: messageID)),
                let record = try record(at: LogSchema.readUInt64(sequence), txn: txn)
            {
                found[messageID] = record
            }
        }
        return (version, found)
    }

    /// The records of a session at `versions`, by version, in `txn`'s snapshot (absent versions are left out).
    package func records(
        inSession sessionID: String,
        versions: some Sequence<UInt64>,
        txn: borrowing LMDBTransaction
    ) throws -> [UInt64: RecordedEvent] {
        let newer = try unmaterialized(of: sessionID, after: checkpoint(of: index, txn: txn), txn: txn)
        let firstNewer = newer.first?.sessionVersion ?? .max
        let newerByVersion = Dictionary(newer.map { ($0.sessionVersion, $0) }) { first, _ in first }
        var found: [UInt64: RecordedEvent] = [:]
        for version in versions where found[version] == nil {
            if version >= firstNewer {
                found[version] = newerByVersion[version]
            } else if let sequence = try txn.get(schema.streams, key: LogSchema.streamKey(sessionID, version: version)),
                let record = try record(at: LogSchema.readUInt64(sequence), txn: txn)
            {
                found[version] = record
            }
        }
        return found
    }
}

extension EventStore {
    /// The first of `messages` (message id and session version) the session does not hold as
    /// such, in `txn`'s snapshot; nil when it holds them all. Reads only the stream index (and the
    /// tail): no record is decoded.
    package func firstUnheld(
        _ messages: [(messageID: String, version: UInt64)],
        in sessionID: String,
        txn: borrowing LMDBTransaction
    ) throws -> (messageID: String, version: UInt64)? {
        guard !messages.isEmpty else { return nil }
        let newer = try unmaterialized(of: sessionID, after: checkpoint(of: index, txn: txn), txn: txn)
        var newerMessages: [String: UInt64] = [:]
        var deletedSinceIndex = false
        for record in newer {
            switch record.event {
            case .messageAdded(let message): newerMessages[message.messageID] = record.sessionVersion
            case .sessionDeleted:
                newerMessages = [:]
                deletedSinceIndex = true
            default: break
            }
        }
        for message in messages {
            if let version = newerMessages[message.messageID] {
                if version == message.version { continue }
                return message
            }
            if deletedSinceIndex { return message }
            guard let bySequence = try txn.get(schema.streams, key: LogSchema.messageKey(sessionID, messageID: message.messageID)),
                let byVersion = try txn.get(schema.streams, key: LogSchema.streamKey(sessionID, version: message.version)),
                LogSchema.readUInt64(bySequence) == LogSchema.readUInt64(byVersion)
            else { return message }
        }
        return nil
    }
}

extension EventStore {
    /// Whether the session's current incarnation is deleted (its last lifecycle event is a
    /// ``SessionDeleted``), in `txn`'s snapshot.
    package func isDeleted(session sessionID: String, txn: borrowing LMDBTransaction) throws -> Bool {
        let newer = try unmaterialized(of: sessionID, after: checkpoint(of: index, txn: txn), txn: txn)
        for record in newer.reversed() {
            switch record.event {
            case .sessionDeleted: return true
            case .sessionCreated: return false
            default: continue
            }
        }
        return try txn.get(schema.streams, key: LogSchema.deletedKey(sessionID)) != nil
    }

    /// How many sessions are deleted (and not started again), as the stream index and the tail say.
    public func deletedSessionCount() throws -> Int {
        try environment.read { txn in
            var count = try txn.get(schema.streams, key: LogSchema.deletedCountKey).map { Int(LogSchema.readUInt64($0)) } ?? 0
            var seen: Set<String> = []
            for record in try unmaterialized(of: nil, after: checkpoint(of: index, txn: txn), txn: txn).reversed() where !seen.contains(record.sessionID) {
                switch record.event {
                case .sessionDeleted, .sessionCreated:
                    seen.insert(record.sessionID)
                    let indexed = try txn.get(schema.streams, key: LogSchema.deletedKey(record.sessionID)) != nil
                    let now = if case .sessionDeleted = record.event { true } else { false }
                    count += (now ? 1 : 0) - (indexed ? 1 : 0)
                default:
                    continue
                }
            }
            return count
        }
    }
}
