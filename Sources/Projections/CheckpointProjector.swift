import EventLog

/// The `checkpoints` projection: LangGraph checkpoints by thread, namespace and id, channel values
/// by channel and version, pending writes by checkpoint, task and index, and the fences of deleted
/// threads. Rows point into the log (sequence and index), so every value is stored once, in the log.
///
/// It applies on commit (``LogProjector/appliesOnCommit``): the writer folds each checkpoint event
/// in the transaction that appends it, so the fence of a deleted thread is checked against exactly
/// what was committed before, and reads need no overlay of unapplied events.
public struct CheckpointProjector: LogProjector {
    public let name = "checkpoints"
    let tablesByKind: [LMDBDatabase]

    public var tables: [LMDBDatabase] { tablesByKind }
    /// The row layout version.
    public var fingerprint: [UInt8] { [1] }
    public var appliesOnCommit: Bool { true }

    public func concerns(_ event: Event) -> Bool {
        switch event {
        case .checkpointPut, .writesPut, .checkpointsRemoved, .sessionDeleted: true
        case .sessionCreated, .messageAdded, .contextUpdated, .retentionSet, .unrecognized, .erased: false
        }
    }

    /// Opens its tables (creating them in a write transaction).
    public init(txn: borrowing LMDBTransaction) throws {
        let names = ["projection.checkpoints", "projection.checkpointBlobs", "projection.checkpointWrites", "projection.threadFences"]
        var tables: [LMDBDatabase] = []
        for name in names { tables.append(try txn.openDatabase(named: name, create: txn.isWritable)) }
        tablesByKind = tables
    }

    func table(_ kind: CheckpointTable) -> LMDBDatabase { tablesByKind[kind.rawValue] }

    public func apply(_ record: RecordedEvent, in txn: borrowing LMDBTransaction) throws {
        let changes = try CheckpointRules.changes(
            for: record,
            read: { kind, key in try txn.get(table(kind), key: key).map { Array($0) } },
            scan: { kind, prefix in try rows(of: kind, prefix: prefix, txn: txn) }
        )
        for change in changes {
            if let value = change.value {
                try txn.put(table(change.table), key: change.key, value: value)
            } else {
                _ = try txn.delete(table(change.table), key: change.key)
            }
        }
    }

    public func makeFold() -> any ProjectionFold { Fold() }

    /// The projection folded in memory: the same rules over dictionaries.
    struct Fold: ProjectionFold {
        var tables: [[[UInt8]: [UInt8]]] = Array(repeating: [:], count: CheckpointTable.allCases.count)

        mutating func add(_ record: RecordedEvent) {
            let changes = changes(for: record)
            for change in changes { tables[change.table.rawValue][change.key] = change.value }
        }

        /// The rules over the tables as they are (no copy: nothing is changed while they read).
        private func changes(for record: RecordedEvent) -> [RowChange] {
            let snapshot = tables
            // The rules only throw when a read throws, and these reads cannot.
            return try! CheckpointRules.changes(
                for: record,
                read: { kind, key in snapshot[kind.rawValue][key] },
                scan: { kind, prefix in
                    snapshot[kind.rawValue].filter { $0.key.starts(with: prefix) }.map { ProjectionRow(key: $0.key, value: $0.value) }
                }
            )
        }

        func rows() -> [PackedRows] {
            tables.map { table in PackedRows(sorting: table.map { ProjectionRow(key: $0.key, value: $0.value) }) }
        }
    }

    // MARK: Reads

    /// Every row of `kind` whose key starts with `prefix`, in key order.
    func rows(of kind: CheckpointTable, prefix: [UInt8], txn: borrowing LMDBTransaction) throws -> [ProjectionRow] {
        try txn.withCursor(table(kind)) { cursor in
            var rows: [ProjectionRow] = []
            // LMDB refuses an empty key: an empty prefix starts at the first row.
            var entry = prefix.isEmpty ? try cursor.first() : try cursor.seek(atOrAfter: prefix)
            while let current = entry, current.key.starts(with: prefix) {
                rows.append(ProjectionRow(key: Array(current.key), value: Array(current.value)))
                entry = try cursor.next()
            }
            return rows
        }
    }

    /// Where a stored checkpoint is.
    public struct Location: Sendable, Hashable {
        public var threadID: String
        public var namespace: String
        public var checkpointID: String
        /// The sequence of its ``CheckpointPut``.
        public var sequence: UInt64
    }

    /// The checkpoint `checkpointID` of the thread's namespace, or its newest when nil.
    public func checkpoint(thread: String, namespace: String, id checkpointID: String?, txn: borrowing LMDBTransaction) throws -> Location? {
        let prefix = CheckpointKeys.namespacePrefix(thread, namespace)
        if let checkpointID {
            return try txn.get(table(.checkpoints), key: prefix + Array(checkpointID.utf8)).map {
                Location(threadID: thread, namespace: namespace, checkpointID: checkpointID, sequence: LogSchema.readUInt64($0))
            }
        }
        // The newest id is the last key of the namespace (UTF-8 never holds 0xFF).
        return try txn.withCursor(table(.checkpoints)) { cursor in
            guard let last = try cursor.seek(before: prefix + [0xFF]), last.key.starts(with: prefix) else { return nil }
            let id = String(decoding: last.key.dropFirst(prefix.count), as: UTF8.self)
            return Location(threadID: thread, namespace: namespace, checkpointID: id, sequence: LogSchema.readUInt64(last.value))
        }
    }

    /// The stored checkpoints of a thread (every thread when nil), of one namespace (all when nil), in key order.
    public func checkpoints(thread: String?, namespace: String?, txn: borrowing LMDBTransaction) throws -> [Location] {
        let prefix = thread.map { thread in namespace.map { CheckpointKeys.namespacePrefix(thread, $0) } ?? CheckpointKeys.threadPrefix(thread) } ?? []
        return try rows(of: .checkpoints, prefix: prefix, txn: txn).compactMap { row in
            let parts = row.key.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            let rowNamespace = String(decoding: parts[1], as: UTF8.self)
            guard namespace == nil || namespace == rowNamespace else { return nil }
            return row.value.withUnsafeBytes { value in
                Location(
                    threadID: String(decoding: parts[0], as: UTF8.self),
                    namespace: rowNamespace,
                    checkpointID: String(decoding: parts[2], as: UTF8.self),
                    sequence: LogSchema.readUInt64(value)
                )
            }
        }
    }

    /// Whether the thread has pending writes (possibly for checkpoints not stored).
    public func hasWrites(thread: String, txn: borrowing LMDBTransaction) throws -> Bool {
        let prefix = CheckpointKeys.threadPrefix(thread)
        return try txn.withCursor(table(.writes)) { cursor in try cursor.seek(atOrAfter: prefix)?.key.starts(with: prefix) ?? false }
    }

    /// Where a channel's value at a version is: the sequence of its ``CheckpointPut`` and its index among the blobs.
    public func blob(thread: String, namespace: String, channel: String, version: String, txn: borrowing LMDBTransaction) throws -> (sequence: UInt64, index: Int)? {
        try txn.get(table(.blobs), key: CheckpointKeys.blob(thread, namespace, channel: channel, version: version)).map(CheckpointKeys.readReference)
    }

    /// Where the pending writes of a checkpoint are: each ``WritesPut``'s sequence and the write's index in it.
    public func writes(thread: String, namespace: String, checkpointID: String, txn: borrowing LMDBTransaction) throws -> [(sequence: UInt64, index: Int)] {
        try rows(of: .writes, prefix: CheckpointKeys.writesPrefix(thread, namespace, checkpointID), txn: txn).map { row in
            row.value.withUnsafeBytes(CheckpointKeys.readReference)
        }
    }

    /// The newest checkpoint id the thread holds, among its checkpoints and its pending writes
    /// (which may name checkpoints not stored): the fence its deletion sets.
    public func newestCheckpointID(thread: String, txn: borrowing LMDBTransaction) throws -> String? {
        var newest: [UInt8]?
        for kind in [CheckpointTable.checkpoints, .writes] {
            for row in try rows(of: kind, prefix: CheckpointKeys.threadPrefix(thread), txn: txn) {
                if let id = CheckpointKeys.checkpointID(inKey: row.key), newest.map({ LogSchema.precedes($0, id) }) ?? true { newest = id }
            }
        }
        return newest.map { String(decoding: $0, as: UTF8.self) }
    }

    /// A precondition for a thread's deletion: refused when its newest checkpoint id is no longer
    /// `expected` (a write landed since it was read), so the fence the deletion carries is exact.
    public func newestCheckpointUnchanged(thread: String, expected: String?) -> some AppendPrecondition {
        NewestCheckpointUnchanged(projector: self, threadID: thread, expected: expected)
    }

    /// A precondition for writes of a thread: refused when the thread was deleted with a
    /// checkpoint id at or above any of `checkpointIDs` (a late write of the deleted conversation).
    public func fence(thread: String, checkpointIDs: [String]) -> some AppendPrecondition {
        ThreadFence(fences: table(.fences), threadID: thread, checkpointIDs: checkpointIDs)
    }
}

/// Refuses writes to a deleted thread for checkpoints at or below its fence.
struct ThreadFence: AppendPrecondition {
    let fences: LMDBDatabase
    let threadID: String
    let checkpointIDs: [String]

    func refusal(in txn: borrowing LMDBTransaction) throws -> EventStoreError? {
        guard let stored = try txn.get(fences, key: Array(threadID.utf8)) else { return nil }
        let fence = Array(stored)
        guard let late = checkpointIDs.first(where: { !LogSchema.precedes(fence, Array($0.utf8)) }) else { return nil }
        return EventStoreError(
            .preconditionFailed,
            "thread \(threadID) was deleted up to checkpoint \(String(decoding: fence, as: UTF8.self)); "
                + "a write for checkpoint \(late) is a late write of the deleted thread and is refused",
            sessionID: threadID
        )
    }
}

/// Refuses a deletion whose fence went stale (see ``CheckpointProjector/newestCheckpointUnchanged(thread:expected:)``).
struct NewestCheckpointUnchanged: AppendPrecondition {
    let projector: CheckpointProjector
    let threadID: String
    let expected: String?

    func refusal(in txn: borrowing LMDBTransaction) throws -> EventStoreError? {
        guard try projector.newestCheckpointID(thread: threadID, txn: txn) != expected else { return nil }
        return EventStoreError(.preconditionFailed, "thread \(threadID) changed while it was being deleted", sessionID: threadID)
    }
}
