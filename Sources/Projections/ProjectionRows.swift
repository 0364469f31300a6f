import Foundation
import EventLog

/// The byte layout of the projection tables' keys and rows (documented in `schema/event-log.md`).
enum ProjectionRows {
    static let rowVersion: UInt8 = 1

    // MARK: Keys

    static func sessionKey(_ sessionID: String) -> [UInt8] { Array(sessionID.utf8) }

    /// `lastUpdated` ‖ session id: the sessions in update order.
    static func updateKey(_ state: SessionState) -> [UInt8] {
        LogSchema.bigEndianBytes(UInt64(bitPattern: state.lastUpdated)) + Array(state.sessionID.utf8)
    }

    /// user id ‖ 0x00 ‖ `lastUpdated` ‖ session id: one user's sessions in update order.
    static func userKey(_ userID: String, _ state: SessionState) -> [UInt8] {
        userPrefix(userID) + updateKey(state)
    }

    static func userPrefix(_ userID: String) -> [UInt8] { Array(userID.utf8) + [0] }

    /// session id ‖ 0x00 ‖ message ordinal (1-based over the whole session).
    static func windowKey(_ sessionID: String, ordinal: UInt64) -> [UInt8] {
        windowPrefix(sessionID) + LogSchema.bigEndianBytes(ordinal)
    }

    static func windowPrefix(_ sessionID: String) -> [UInt8] { Array(sessionID.utf8) + [0] }

    // MARK: Session rows

    static func encode(_ state: SessionState) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(rowVersion)
        writer.writeMedium(state.sessionID.utf8)
        writer.write(bigEndian: state.createdAt)
        writer.write(bigEndian: state.lastUpdated)
        writer.write(state.userID == nil ? 0 : 1)
        if let userID = state.userID { writer.writeMedium(userID.utf8) }
        writer.writeLong(JSONValue.object(state.metadata).canonicalBytes)
        writer.write(bigEndian: state.messageCount)
        writer.write(bigEndian: state.version)
        writer.write(bigEndian: state.lastSequence)
        writer.writeLong(JSONValue.object(state.context).canonicalBytes)
        writer.write(state.lastTopic == nil ? 0 : 1)
        if let topic = state.lastTopic { writer.writeLong(topic.canonicalBytes) }
        return writer.bytes
    }

    static func decodeSession(_ bytes: UnsafeRawBufferPointer) throws -> SessionState {
        var reader = ByteReader(bytes)
        let version = try reader.readByte()
        guard version == rowVersion else { throw RecordDecodingError.unsupportedFormatVersion(version) }
        let sessionID = try reader.readString(try reader.readMedium(), name: "sessionId")
        let createdAt = try reader.read(bigEndian: Int64.self)
        let lastUpdated = try reader.read(bigEndian: Int64.self)
        let userID = try reader.readByte() == 0 ? nil : try reader.readString(try reader.readMedium(), name: "userId")
        let metadata = try JSONValue(parsing: try reader.readLong()).objectValue ?? [:]
        let messageCount = try reader.read(bigEndian: UInt64.self)
        let sessionVersion = try reader.read(bigEndian: UInt64.self)
        let lastSequence = try reader.read(bigEndian: UInt64.self)
        let context = try JSONValue(parsing: try reader.readLong()).objectValue ?? [:]
        let lastTopic = try reader.readByte() == 0 ? nil : try JSONValue(parsing: try reader.readLong())
        return SessionState(
            sessionID: sessionID,
            createdAt: createdAt,
            lastUpdated: lastUpdated,
            userID: userID,
            metadata: metadata,
            messageCount: messageCount,
            version: sessionVersion,
            lastSequence: lastSequence,
            context: context,
            lastTopic: lastTopic
        )
    }

    // MARK: Window rows

    static func encode(_ entry: WindowMessage) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(rowVersion)
        writer.write(bigEndian: entry.sequence)
        writer.write(bigEndian: entry.sessionVersion)
        writer.write(bigEndian: entry.timestamp)
        writer.bytes += EventCodec.encodePayload(.messageAdded(entry.message))
        return writer.bytes
    }

    static func decodeWindowMessage(_ bytes: UnsafeRawBufferPointer) throws -> WindowMessage {
        var reader = ByteReader(bytes)
        let version = try reader.readByte()
        guard version == rowVersion else { throw RecordDecodingError.unsupportedFormatVersion(version) }
        let sequence = try reader.read(bigEndian: UInt64.self)
        let sessionVersion = try reader.read(bigEndian: UInt64.self)
        let timestamp = try reader.read(bigEndian: Int64.self)
        let payload = try reader.readBytes(count: reader.remaining)
        guard case .messageAdded(let message) = try EventCodec.decodePayload(type: EventType.messageAdded, payload) else {
            throw RecordDecodingError.invalidCode(field: "window row", value: 0)
        }
        return WindowMessage(sequence: sequence, sessionVersion: sessionVersion, timestamp: timestamp, message: message)
    }

    /// Rows sorted by key bytes, as LMDB orders them.
    static func sorted(_ rows: [ProjectionRow]) -> [ProjectionRow] {
        rows.sorted { precedes($0.key, $1.key) }
    }

    /// Byte order of keys, as LMDB's default comparison (memcmp, then length).
    static func precedes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in
                let common = min(left.count, right.count)
                let order = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
                return order != 0 ? order < 0 : left.count < right.count
            }
        }
    }
}
