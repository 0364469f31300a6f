import Foundation

/// The named databases of an event-log environment and the layout of their keys.
///
/// | database | key | value |
/// |---|---|---|
/// | `events` | sequence (UInt64 BE) | record (``EventCodec``) |
/// | `streams` | session id ‖ 0x00 ‖ session version (UInt64 BE) | sequence (UInt64 BE) |
/// | `streams` | session id ‖ 0x01 ‖ message id | sequence (UInt64 BE) |
/// | `streams` | session id ‖ 0x02 | session version (UInt64 BE) |
/// | `streams` | 0x00 | number of sessions (UInt64 BE) |
/// | `meta` | name (ASCII) | value |
///
/// A session's index entries share one B-tree and sort next to each other, so an append touches
/// few pages (every page a commit dirties is written and synced). Identifiers contain no byte
/// below 0x20, which keeps the tags unambiguous.
package struct LogSchema: Sendable {
    package let events: LMDBDatabase
    package let streams: LMDBDatabase
    package let meta: LMDBDatabase

    /// The name of the records' database.
    package static let eventsName = "events"
    static let formatVersionKey = Array("formatVersion".utf8)
    /// The key of the number of sessions (UInt64 BE) in `streams`: no session id sorts before it
    /// (identifiers have no byte below 0x20).
    static let sessionCountKey: [UInt8] = [0]

    /// Opens the databases, creating them (and stamping the format version) when `create` is set.
    /// - Throws: ``EventStoreError/Code/notAnEventLog`` or ``EventStoreError/Code/unsupportedFormat``.
    init(in txn: borrowing LMDBTransaction, create: Bool) throws {
        do {
            meta = try txn.openDatabase(named: "meta", create: create)
            events = try txn.openDatabase(named: Self.eventsName, create: create)
            streams = try txn.openDatabase(named: "streams", create: create)
        } catch let error as LMDBError where error.isNotFound {
            throw EventStoreError(.notAnEventLog, "the LMDB environment holds no convlog event log")
        }
        guard let stamp = try txn.get(meta, key: Self.formatVersionKey) else {
            guard create else { throw EventStoreError(.notAnEventLog, "the environment has no format version stamp") }
            try txn.put(meta, key: Self.formatVersionKey, value: [EventCodec.formatVersion])
            return
        }
        guard stamp.count == 1, stamp[0] >= 1 else {
            throw EventStoreError(.notAnEventLog, "the format version stamp is malformed")
        }
        guard stamp[0] <= EventCodec.formatVersion else {
            throw EventStoreError(
                .unsupportedFormat,
                "the log has format version \(stamp[0]); this build reads up to \(EventCodec.formatVersion)"
            )
        }
        // This build appends records of its format: older builds must refuse the log by its stamp.
        if create, stamp[0] < EventCodec.formatVersion { try txn.put(meta, key: Self.formatVersionKey, value: [EventCodec.formatVersion]) }
    }

    package static func sequenceKey(_ sequence: UInt64) -> [UInt8] { bigEndianBytes(sequence) }

    /// What a `streams` key holds after its session id.
    enum StreamTag: UInt8 {
        /// An event, by session version (UInt64 BE).
        case version = 0
        /// A message, by message id.
        case message = 1
        /// The session's head version.
        case head = 2
        /// Set while the session is deleted (its last lifecycle event is a ``SessionDeleted``): the deletion's version.
        case deleted = 3
    }

    static func streamKey(_ sessionID: String, version: UInt64) -> [UInt8] {
        key(sessionID, tag: StreamTag.version.rawValue, extraCapacity: 8) { $0.appendBigEndian(version) }
    }

    static func messageKey(_ sessionID: String, messageID: String) -> [UInt8] {
        key(sessionID, tag: StreamTag.message.rawValue, extraCapacity: messageID.utf8.count) { $0 += messageID.utf8 }
    }

    static func deletedKey(_ sessionID: String) -> [UInt8] { key(sessionID, tag: StreamTag.deleted.rawValue) }

    /// The number of sessions deleted and not started again.
    static let deletedCountKey: [UInt8] = [1]

    static func headKey(_ sessionID: String) -> [UInt8] { key(sessionID, tag: StreamTag.head.rawValue) }

    /// `text` ‖ `tag` ‖ what `rest` appends (at most `extraCapacity` bytes), in one allocation:
    /// keys are made for every event a projection folds.
    package static func key(_ text: String, tag: UInt8, extraCapacity: Int = 0, _ rest: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(text.utf8.count + 1 + extraCapacity)
        appendKey(text, tag: tag, to: &key, rest)
        return key
    }

    /// Appends the key `text` ‖ `tag` ‖ what `rest` appends to `bytes` (see ``key(_:tag:extraCapacity:_:)``).
    package static func appendKey(_ text: String, tag: UInt8, to bytes: inout [UInt8], _ rest: (inout [UInt8]) -> Void = { _ in }) {
        bytes += text.utf8
        bytes.append(tag)
        rest(&bytes)
    }

    /// Whether keys beginning with `lhs` sort before keys beginning with `rhs` (the byte order of
    /// their UTF-8, as ``precedes(_:_:)``): sessions, or messages of a session, in key order.
    package static func precedesInUTF8(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Byte order of keys, as LMDB's default comparison (memcmp, then length).
    package static func precedes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        lhs.withUnsafeBytes { left in rhs.withUnsafeBytes { right in order(left, right) < 0 } }
    }

    /// How two keys compare in LMDB's default order (bytes, then length): negative when `lhs`
    /// comes first, zero when equal, positive when `rhs` comes first.
    static func order(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Int {
        let common = min(lhs.count, rhs.count)
        let order = common == 0 ? 0 : memcmp(lhs.baseAddress!, rhs.baseAddress!, common)
        return order != 0 ? Int(order) : lhs.count - rhs.count
    }

    package static func bigEndianBytes(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    package static func readUInt64(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 8]))
        }
        return UInt64(bigEndian: value)
    }
}

extension [UInt8] {
    /// Appends `value` as 8 big-endian bytes.
    package mutating func appendBigEndian(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
