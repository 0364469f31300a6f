/// Erasure: the payloads of a deleted session's earlier events are removed from the log.
///
/// The chain commits to each payload through its digest (record format 2), so a record stored
/// without its payload still verifies. When a ``SessionDeleted`` commits, the writer notes the
/// session in `meta` (`erase.<session>`: the deletion's version and the next version to erase);
/// after each materialization it rewrites a bounded batch of those records without their payloads,
/// until none is left. LMDB does not wipe the pages the old records occupied: their bytes leave the
/// data file when it is compacted (`convlog compact`).
extension LogSchema {
    static let erasurePrefix = Array("erase.".utf8)

    static func erasureKey(_ sessionID: String) -> [UInt8] { erasurePrefix + Array(sessionID.utf8) }

    /// Notes that `sessionID` was deleted at `version`: its events before it are to be erased.
    func noteErasure(of sessionID: String, before version: UInt64, txn: borrowing LMDBTransaction) throws {
        try txn.put(meta, key: Self.erasureKey(sessionID), value: Self.bigEndianBytes(version) + Self.bigEndianBytes(1))
    }
}

extension EventStore {
    /// Erases up to `limit` records of deleted sessions, in one write transaction. Only versions
    /// the stream index holds are erased (the writer materializes first); the rest wait.
    /// - Returns: whether erasures remain.
    @discardableResult
    static func erasePending(schema: LogSchema, environment: LMDBEnvironment, limit: Int = 2_000) throws -> Bool {
        try environment.writeGrowingMap { txn in
            let pending = try txn.withCursor(schema.meta) { cursor in
                var pending: [(key: [UInt8], deletion: UInt64, next: UInt64)] = []
                var entry = try cursor.seek(atOrAfter: LogSchema.erasurePrefix)
                while let current = entry, current.key.starts(with: LogSchema.erasurePrefix), current.value.count == 16 {
                    pending.append((Array(current.key), LogSchema.readUInt64(current.value), LogSchema.readUInt64(current.value, at: 8)))
                    entry = try cursor.next()
                }
                return pending
            }
            var budget = limit
            var remaining = false
            for (key, deletion, next) in pending {
                let sessionID = String(decoding: key.dropFirst(LogSchema.erasurePrefix.count), as: UTF8.self)
                var version = next
                while version < deletion, budget > 0 {
                    guard let sequence = try txn.get(schema.streams, key: LogSchema.streamKey(sessionID, version: version)).map(Array.init) else { break }
                    if let record = try txn.get(schema.events, key: sequence), let erased = try EventCodec.erasing(record) {
                        try txn.put(schema.events, key: sequence, value: erased)
                    }
                    version += 1
                    budget -= 1
                }
                if version >= deletion {
                    try txn.delete(schema.meta, key: key)
                } else {
                    try txn.put(schema.meta, key: key, value: LogSchema.bigEndianBytes(deletion) + LogSchema.bigEndianBytes(version))
                    remaining = true
                }
            }
            return remaining
        }
    }

    /// Erases every pending record now (tools and tests; the writer does it in batches).
    public func erasePendingDeletions() throws {
        try materializeProjections()
        while try Self.erasePending(schema: schema, environment: environment) {}
    }

    /// How many deleted sessions still have records to erase.
    public func pendingErasures() throws -> Int {
        try pendingErasureVersions().count
    }
}

extension EventStore {
    /// The sessions whose records are not all erased yet, with their deletion's version: their
    /// events before it are deleted (exports and other readers of the raw log leave them out).
    public func pendingErasureVersions() throws -> [String: UInt64] {
        try environment.read { txn in
            try txn.withCursor(schema.meta) { cursor in
                var pending: [String: UInt64] = [:]
                var entry = try cursor.seek(atOrAfter: LogSchema.erasurePrefix)
                while let current = entry, current.key.starts(with: LogSchema.erasurePrefix), current.value.count == 16 {
                    pending[String(decoding: current.key.dropFirst(LogSchema.erasurePrefix.count), as: UTF8.self)] = LogSchema.readUInt64(current.value)
                    entry = try cursor.next()
                }
                return pending
            }
        }
    }
}
