import Foundation
import EventLog
import JSON

/// The byte layout of the projection tables' keys and rows (documented in `schema/event-log.md`).
enum ProjectionRows {
    /// The version of the row layouts below (1: window rows held a copy of the message; session
    /// rows had the fixed-width fields after the variable ones).
    static let rowVersion: UInt8 = 2

    // MARK: Keys

    static func sessionKey(_ sessionID: String) -> [UInt8] { Array(sessionID.utf8) }

    /// `lastUpdated` ‖ session id: the sessions in update order.
    static func updateKey(_ state: SessionState) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(8 + state.sessionID.utf8.count)
        key.appendBigEndian(UInt64(bitPattern: state.lastUpdated))
        key += state.sessionID.utf8
        return key
    }

    /// user id ‖ 0x00 ‖ `lastUpdated` ‖ session id: one user's sessions in update order.
    static func userKey(_ userID: String, _ state: SessionState) -> [UInt8] {
        LogSchema.key(userID, tag: 0, extraCapacity: 8 + state.sessionID.utf8.count) {
            $0.appendBigEndian(UInt64(bitPattern: state.lastUpdated))
            $0 += state.sessionID.utf8
        }
    }

    static func userPrefix(_ userID: String) -> [UInt8] { LogSchema.key(userID, tag: 0) }

    /// session id ‖ 0x00 ‖ message ordinal (1-based over the whole session).
    static func windowKey(_ sessionID: String, ordinal: UInt64) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(sessionID.utf8.count + 9)
        appendWindowKey(sessionID, ordinal: ordinal, to: &key)
        return key
    }

    /// Appends ``windowKey(_:ordinal:)`` to `bytes`.
    static func appendWindowKey(_ sessionID: String, ordinal: UInt64, to bytes: inout [UInt8]) {
        LogSchema.appendKey(sessionID, tag: 0, to: &bytes) { $0.appendBigEndian(ordinal) }
    }

    static func windowPrefix(_ sessionID: String) -> [UInt8] { LogSchema.key(sessionID, tag: 0) }

    // MARK: Session rows

    /// The session row's fixed-width fields come first (createdAt at 1, then these), so that an
    /// event that changes only them (a message) patches the stored bytes without decoding the JSON parts.
    enum SessionRowOffset {
        static let lastUpdated = 9
        static let messageCount = 17
        static let version = 25
        static let lastSequence = 33
        /// Where the variable part (session id, user id, metadata, context) starts.
        static let variable = 41
    }

    static func encode(_ state: SessionState) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(rowVersion)
        writer.write(bigEndian: state.createdAt)
        writer.write(bigEndian: state.lastUpdated)
        writer.write(bigEndian: state.messageCount)
        writer.write(bigEndian: state.version)
        writer.write(bigEndian: state.lastSequence)
        writer.writeMedium(state.sessionID.utf8)
        writer.write(state.userID == nil ? 0 : 1)
        if let userID = state.userID { writer.writeMedium(userID.utf8) }
        writer.writeLong(JSONValue.object(state.metadata).canonicalBytes)
        writer.writeLong(JSONValue.object(state.context).canonicalBytes)
        return writer.bytes
    }

    static func decodeSession(_ bytes: UnsafeRawBufferPointer) throws -> SessionState {
        var reader = try sessionRowReader(bytes)
        let createdAt = try reader.read(bigEndian: Int64.self)
        let lastUpdated = try reader.read(bigEndian: Int64.self)
        let messageCount = try reader.read(bigEndian: UInt64.self)
        let sessionVersion = try reader.read(bigEndian: UInt64.self)
        let lastSequence = try reader.read(bigEndian: UInt64.self)
        let sessionID = try reader.readString(try reader.readMedium(), name: "sessionId")
        let userID = try reader.readByte() == 0 ? nil : try reader.readString(try reader.readMedium(), name: "userId")
        let metadata = try JSONValue(parsing: try reader.readLong()).objectValue ?? [:]
        let context = try JSONValue(parsing: try reader.readLong()).objectValue ?? [:]
        return SessionState(
            sessionID: sessionID,
            createdAt: createdAt,
            lastUpdated: lastUpdated,
            userID: userID,
            metadata: metadata,
            messageCount: messageCount,
            version: sessionVersion,
            lastSequence: lastSequence,
            context: context
        )
    }

    /// The fields of a stored session row that its index keys are made of, read without its JSON.
    struct SessionRowKeys {
        var lastUpdated: Int64
        var userID: [UInt8]?
        var sessionID: [UInt8]

        init(_ bytes: UnsafeRawBufferPointer) throws {
            var reader = try sessionRowReader(bytes)
            _ = try reader.readBytes(count: SessionRowOffset.lastUpdated - 1)
            lastUpdated = try reader.read(bigEndian: Int64.self)
            _ = try reader.readBytes(count: SessionRowOffset.variable - SessionRowOffset.lastUpdated - 8)
            sessionID = Array(try reader.readMedium())
            userID = try reader.readByte() == 0 ? nil : Array(try reader.readMedium())
        }

        /// The key of the row in `projection.sessionsByUpdate`.
        var updateKey: [UInt8] { LogSchema.bigEndianBytes(UInt64(bitPattern: lastUpdated)) + sessionID }
    }

    /// A copy of a stored session row with its fixed-width fields set as `record` leaves them:
    /// the fold of an event that changes nothing else (``SessionState/changesOnlyCounters(_:)``).
    static func patchedSessionRow(_ bytes: UnsafeRawBufferPointer, after record: RecordedEvent) throws -> [UInt8] {
        _ = try sessionRowReader(bytes)
        guard bytes.count > SessionRowOffset.variable else { throw RecordDecodingError.truncated(at: bytes.count) }
        var row = Array(bytes)
        func set<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.bigEndian) { row.replaceSubrange(offset..<offset + 8, with: $0) }
        }
        if case .messageAdded = record.event {
            set(LogSchema.readUInt64(bytes, at: SessionRowOffset.messageCount) + 1, at: SessionRowOffset.messageCount)
        }
        set(record.timestamp, at: SessionRowOffset.lastUpdated)
        set(record.sessionVersion, at: SessionRowOffset.version)
        set(record.sequence, at: SessionRowOffset.lastSequence)
        return row
    }

    /// A reader past the row version byte, which it checks.
    private static func sessionRowReader(_ bytes: UnsafeRawBufferPointer) throws -> ByteReader {
        var reader = ByteReader(bytes)
        let version = try reader.readByte()
        guard version == rowVersion else { throw RecordDecodingError.unsupportedFormatVersion(version) }
        return reader
    }

    // MARK: Window rows

    /// A window row: the global sequence of the message's record in the log (UInt64 big-endian).
    /// The message itself is read from the log, so it is stored once.
    static func windowRow(_ sequence: UInt64) -> [UInt8] {
        var row: [UInt8] = []
        appendWindowRow(sequence, to: &row)
        return row
    }

    /// Appends ``windowRow(_:)`` to `bytes`.
    static func appendWindowRow(_ sequence: UInt64, to bytes: inout [UInt8]) { bytes.appendBigEndian(sequence) }

    /// The session ids of an index whose keys are a time (UTC ms, UInt64) ‖ session id: those
    /// with a time before `bound` that `include` accepts, earliest first, at most `limit`.
    static func sessions(
        timedBefore bound: Int64,
        in index: LMDBDatabase,
        limit: Int,
        txn: borrowing LMDBTransaction,
        where include: (String) throws -> Bool = { _ in true }
    ) throws -> [String] {
        try txn.withCursor(index) { cursor in
            var sessions: [String] = []
            var entry = try cursor.first()
            while let current = entry, sessions.count < limit, current.key.count > 8, Int64(bitPattern: LogSchema.readUInt64(current.key)) < bound {
                let sessionID = String(decoding: current.key.dropFirst(8), as: UTF8.self)
                if try include(sessionID) { sessions.append(sessionID) }
                entry = try cursor.next()
            }
            return sessions
        }
    }
}
