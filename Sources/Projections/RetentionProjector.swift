import EventLog

/// The `retention` projection: the sessions that expire (created with a time to live), and when.
///
/// `projection.retention` maps a session to its TTL (seconds) and its last write (UTC ms);
/// `projection.expiry` lists them by expiry time (last write + TTL), so the sweeper finds the
/// expired ones by reading the first keys. Sessions without their own TTL are not here: the
/// daemon's default retention applies to them through the `sessions` projection's update index.
public struct RetentionProjector: LogProjector {
    public let name = "retention"
    let retention: LMDBDatabase
    let expiry: LMDBDatabase

    public var tables: [LMDBDatabase] { [retention, expiry] }
    /// The row format version.
    public var fingerprint: [UInt8] { [1] }

    /// Opens its tables (creating them in a write transaction).
    public init(txn: borrowing LMDBTransaction) throws {
        retention = try txn.openDatabase(named: "projection.retention", create: txn.isWritable)
        expiry = try txn.openDatabase(named: "projection.expiry", create: txn.isWritable)
    }

    /// A session's time to live and last write.
    struct Row: Hashable {
        var ttlSeconds: UInt64
        var lastWrite: Int64

        var expiresAt: Int64 { lastWrite &+ Int64(clamping: ttlSeconds) &* 1_000 }

        var bytes: [UInt8] { LogSchema.bigEndianBytes(ttlSeconds) + LogSchema.bigEndianBytes(UInt64(bitPattern: lastWrite)) }

        init(ttlSeconds: UInt64, lastWrite: Int64) {
            self.ttlSeconds = ttlSeconds
            self.lastWrite = lastWrite
        }

        init?(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count == 16 else { return nil }
            ttlSeconds = LogSchema.readUInt64(bytes)
            lastWrite = Int64(bitPattern: LogSchema.readUInt64(bytes, at: 8))
        }

        static func expiryKey(_ sessionID: String, at expiresAt: Int64) -> [UInt8] {
            LogSchema.bigEndianBytes(UInt64(bitPattern: max(0, expiresAt))) + Array(sessionID.utf8)
        }
    }

    /// The row after `record`, given the row before it: the fold, for both forms.
    static func next(_ row: Row?, _ record: RecordedEvent) -> Row? {
        switch record.event {
        case .sessionDeleted, .erased: return nil
        case .retentionSet(let retention): return Row(ttlSeconds: retention.ttlSeconds, lastWrite: record.timestamp)
        default: return row.map { Row(ttlSeconds: $0.ttlSeconds, lastWrite: record.timestamp) }
        }
    }

    /// ``next(_:_:)`` in place, for the fold: most events only move an existing row's last
    /// write, and sessions without a row (most of them) need no write at all.
    static func fold(_ record: RecordedEvent, into rows: inout [String: Row]) {
        switch record.event {
        case .sessionDeleted, .erased, .retentionSet: rows[record.sessionID] = next(rows[record.sessionID], record)
        default: if !rows.isEmpty { rows[record.sessionID]?.lastWrite = record.timestamp }
        }
    }

    public func apply(_ record: RecordedEvent, in txn: borrowing LMDBTransaction) throws {
        let key = Array(record.sessionID.utf8)
        let old = try txn.get(retention, key: key).flatMap(Row.init)
        let new = Self.next(old, record)
        guard new != old else { return }
        if let old { try txn.delete(expiry, key: Row.expiryKey(record.sessionID, at: old.expiresAt)) }
        if let new {
            try txn.put(retention, key: key, value: new.bytes)
            try txn.put(expiry, key: Row.expiryKey(record.sessionID, at: new.expiresAt), value: [])
        } else {
            try txn.delete(retention, key: key)
        }
    }

    public func makeFold() -> any ProjectionFold { Fold() }

    struct Fold: ProjectionFold {
        var sessions: [String: Row] = [:]

        mutating func add(_ record: RecordedEvent) {
            RetentionProjector.fold(record, into: &sessions)
        }

        func rows() -> [PackedRows] {
            let retention = sessions.map { ProjectionRow(key: Array($0.key.utf8), value: $0.value.bytes) }
            let expiry = sessions.map { ProjectionRow(key: Row.expiryKey($0.key, at: $0.value.expiresAt), value: []) }
            return [retention, expiry].map(PackedRows.init(sorting:))
        }
    }

    /// A session's own time to live (stored rows only), or nil.
    func ttlSeconds(of sessionID: String, txn: borrowing LMDBTransaction) throws -> UInt64? {
        try txn.get(retention, key: Array(sessionID.utf8)).flatMap(Row.init)?.ttlSeconds
    }

    /// Sessions with their own TTL that expired before `now` (UTC ms), earliest first, at most `limit`.
    func expired(before now: Int64, limit: Int, txn: borrowing LMDBTransaction) throws -> [String] {
        try ProjectionRows.sessions(timedBefore: now, in: expiry, limit: limit, txn: txn)
    }
}
