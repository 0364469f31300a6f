import EventLog

/// The tables of the `checkpoints` projection.
public enum CheckpointTable: Int, CaseIterable, Sendable {
    /// thread ‖ 0 ‖ namespace ‖ 0 ‖ checkpoint id → sequence of its ``CheckpointPut``.
    case checkpoints
    /// thread ‖ 0 ‖ namespace ‖ 0 ‖ channel ‖ 0 ‖ version → sequence of the ``CheckpointPut`` holding the value ‖ its index (UInt32).
    case blobs
    /// thread ‖ 0 ‖ namespace ‖ 0 ‖ checkpoint id ‖ 0 ‖ task id ‖ 0 ‖ index (Int64, sign bit flipped) →
    /// sequence of the ``WritesPut`` ‖ the write's index in it (UInt32).
    case writes
    /// thread → the newest checkpoint id deleted with the thread (the fence).
    case fences
}

/// One change of a projection row: a value to store, or nil to delete the key.
struct RowChange {
    var table: CheckpointTable
    var key: [UInt8]
    var value: [UInt8]?
}

/// The rules of the `checkpoints` projection, written once for both its forms: applied to the
/// LMDB tables by the writer, and folded in memory for rebuilds and verification. Each event
/// gives a list of row changes computed from the rows before it.
enum CheckpointRules {
    /// The row changes `record` makes. `read` gives a row's value, `scan` every row whose key starts with a prefix.
    static func changes(
        for record: RecordedEvent,
        read: (CheckpointTable, [UInt8]) throws -> [UInt8]?,
        scan: (CheckpointTable, [UInt8]) throws -> [ProjectionRow]
    ) throws -> [RowChange] {
        let thread = record.sessionID
        var changes: [RowChange] = []
        switch record.event {
        case .checkpointPut(let put):
            let place = CheckpointKeys.namespacePrefix(thread, put.namespace)
            changes.append(RowChange(table: .checkpoints, key: place + Array(put.checkpointID.utf8), value: LogSchema.bigEndianBytes(record.sequence)))
            for (index, blob) in put.blobs.enumerated() {
                let key = CheckpointKeys.blob(thread, put.namespace, channel: blob.channel, version: blob.version)
                // A channel's value at a version never changes: the first one stored stays.
                guard try read(.blobs, key) == nil else { continue }
                changes.append(RowChange(table: .blobs, key: key, value: CheckpointKeys.reference(record.sequence, index)))
            }
        case .writesPut(let put):
            for (index, write) in put.writes.enumerated() {
                let key = CheckpointKeys.write(thread, put.namespace, put.checkpointID, taskID: put.taskID, index: write.index)
                // Ordinary writes: the first writer wins. Special channels (negative indices) are replaced.
                if write.index >= 0, try read(.writes, key) != nil { continue }
                changes.append(RowChange(table: .writes, key: key, value: CheckpointKeys.reference(record.sequence, index)))
            }
        case .sessionDeleted(let deleted):
            for table in [CheckpointTable.checkpoints, .blobs, .writes] {
                for row in try scan(table, CheckpointKeys.threadPrefix(thread)) { changes.append(RowChange(table: table, key: row.key, value: nil)) }
            }
            // The fence only rises: a deletion of an emptied thread keeps the older fence.
            let stored = try read(.fences, Array(thread.utf8))
            if let fence = deleted.fence.map({ Array($0.utf8) }), stored.map({ LogSchema.precedes($0, fence) }) ?? true {
                changes.append(RowChange(table: .fences, key: Array(thread.utf8), value: fence))
            }
        case .checkpointsRemoved(let removed):
            for checkpoint in removed.checkpoints {
                let key = CheckpointKeys.namespacePrefix(thread, checkpoint.namespace) + Array(checkpoint.checkpointID.utf8)
                changes.append(RowChange(table: .checkpoints, key: key, value: nil))
                for row in try scan(.writes, key + [0]) { changes.append(RowChange(table: .writes, key: row.key, value: nil)) }
            }
        case .sessionCreated, .messageAdded, .contextUpdated, .retentionSet, .unrecognized, .erased:
            break
        }
        return changes
    }
}

/// The keys and values of the `checkpoints` projection's tables. Identifiers never hold a 0x00
/// byte (the service refuses control characters), so 0x00 separates them.
public enum CheckpointKeys {
    static func threadPrefix(_ thread: String) -> [UInt8] { Array(thread.utf8) + [0] }

    static func namespacePrefix(_ thread: String, _ namespace: String) -> [UInt8] {
        threadPrefix(thread) + Array(namespace.utf8) + [0]
    }

    static func blob(_ thread: String, _ namespace: String, channel: String, version: String) -> [UInt8] {
        namespacePrefix(thread, namespace) + Array(channel.utf8) + [0] + Array(version.utf8)
    }

    static func writesPrefix(_ thread: String, _ namespace: String, _ checkpointID: String) -> [UInt8] {
        namespacePrefix(thread, namespace) + Array(checkpointID.utf8) + [0]
    }

    static func write(_ thread: String, _ namespace: String, _ checkpointID: String, taskID: String, index: Int64) -> [UInt8] {
        // The sign bit flipped: negative indices sort before the others, as numbers do.
        writesPrefix(thread, namespace, checkpointID) + Array(taskID.utf8) + [0] + LogSchema.bigEndianBytes(UInt64(bitPattern: index) ^ (1 << 63))
    }

    /// The checkpoint id of a `checkpoints` or `writes` key: its third 0x00-separated part.
    static func checkpointID(inKey key: [UInt8]) -> [UInt8]? {
        let parts = key.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
        return parts.count >= 3 ? Array(parts[2]) : nil
    }

    /// A row's pointer into the log: the record's sequence and an index within it.
    static func reference(_ sequence: UInt64, _ index: Int) -> [UInt8] {
        LogSchema.bigEndianBytes(sequence) + withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) }
    }

    /// Reads a ``reference(_:_:)``.
    static func readReference(_ bytes: UnsafeRawBufferPointer) -> (sequence: UInt64, index: Int) {
        let index = UInt32(bytes[8]) << 24 | UInt32(bytes[9]) << 16 | UInt32(bytes[10]) << 8 | UInt32(bytes[11])
        return (LogSchema.readUInt64(bytes), Int(index))
    }
}
