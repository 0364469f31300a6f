import JSON
/// The binary form of records in the log (documented in `schema/event-log.md`).
///
/// A record is its canonical bytes followed by `prevHash` (32 bytes) and `hash` (32 bytes):
///
/// | field | encoding |
/// |---|---|
/// | format version | UInt8 (1) |
/// | sequence | UInt64 big-endian |
/// | session version | UInt64 big-endian |
/// | timestamp | Int64 big-endian, UTC ms |
/// | type | UInt8 length + ASCII |
/// | session id | UInt16 length + UTF-8 |
/// | payload | UInt32 length + bytes (per type, below) |
public enum EventCodec {
    /// The record format this build writes, and the newest it reads.
    public static let formatVersion: UInt8 = 1
    /// Bytes after the canonical part: `prevHash` and `hash`.
    static let trailerSize = 64

    // MARK: Records

    /// Encodes a record around an already encoded payload (``encodePayload(_:)``); returns its stored bytes and hash.
    static func encodeRecord(
        sequence: UInt64,
        sessionID: String,
        sessionVersion: UInt64,
        timestamp: Int64,
        type: String,
        payload: [UInt8],
        previousHash: EventHash
    ) -> (bytes: [UInt8], hash: EventHash) {
        var writer = ByteWriter(capacity: 48 + sessionID.utf8.count + payload.count + trailerSize)
        writer.write(formatVersion)
        writer.write(bigEndian: sequence)
        writer.write(bigEndian: sessionVersion)
        writer.write(bigEndian: timestamp)
        writer.writeShort(type.utf8)
        writer.writeMedium(sessionID.utf8)
        writer.writeLong(payload)
        let hash = writer.bytes.withUnsafeBytes { EventHash.chaining(previousHash, $0) }
        writer.bytes += previousHash.bytes
        writer.bytes += hash.bytes
        return (writer.bytes, hash)
    }

    /// Decodes stored record bytes. Does not check the hash: see ``ChainLink``.
    package static func decodeRecord(_ bytes: UnsafeRawBufferPointer) throws(RecordDecodingError) -> RecordedEvent {
        let link = try ChainLink(bytes)
        var reader = ByteReader(link.canonical)
        let version = try reader.readByte()
        guard version >= 1, version <= formatVersion else { throw .unsupportedFormatVersion(version) }
        let sequence = try reader.read(bigEndian: UInt64.self)
        let sessionVersion = try reader.read(bigEndian: UInt64.self)
        let timestamp = try reader.read(bigEndian: Int64.self)
        let type = try reader.readString(try reader.readShort(), name: "type")
        let sessionID = try reader.readString(try reader.readMedium(), name: "sessionId")
        let payload = try reader.readLong()
        guard reader.remaining == 0 else { throw .trailingBytes(count: reader.remaining) }
        return RecordedEvent(
            formatVersion: version,
            sequence: sequence,
            sessionID: sessionID,
            sessionVersion: sessionVersion,
            timestamp: timestamp,
            event: try decodePayload(type: type, payload),
            previousHash: link.previousHash,
            hash: link.storedHash
        )
    }

    // MARK: Payloads

    private enum RoleCode {
        static let codes: [MessageRole: UInt8] = [.user: 1, .assistant: 2, .system: 3, .tool: 4]
        static let roles = Dictionary(uniqueKeysWithValues: codes.map { ($1, $0) })
    }
    private enum SourceCode {
        static let codes: [ContextSource: UInt8] = [.client: 1, .analyzer: 2]
        static let sources = Dictionary(uniqueKeysWithValues: codes.map { ($1, $0) })
    }
    private enum ContentKind {
        static let text: UInt8 = 1
        static let json: UInt8 = 2
    }

    /// The payload bytes of an event.
    package static func encodePayload(_ event: Event) -> [UInt8] {
        var writer = ByteWriter()
        switch event {
        case .sessionCreated(let created):
            writer.write(created.userID == nil ? 0 : 1)
            if let userID = created.userID { writer.writeMedium(userID.utf8) }
            writer.writeLong(JSONValue.object(created.metadata).canonicalBytes)
        case .messageAdded(let message):
            writer.writeMedium(message.messageID.utf8)
            writer.write(RoleCode.codes[message.role]!)
            switch message.content {
            case .text(let text):
                writer.write(ContentKind.text)
                writer.writeLong(text.utf8)
            case .json(let value):
                writer.write(ContentKind.json)
                writer.writeLong(value.canonicalBytes)
            }
            writer.writeLong(JSONValue.object(message.metadata).canonicalBytes)
        case .contextUpdated(let update):
            writer.write(SourceCode.codes[update.source]!)
            writer.writeLong(JSONValue.object(update.changes).canonicalBytes)
        case .checkpointPut(let put): encode(put, into: &writer)
        case .writesPut(let put): encode(put, into: &writer)
        case .checkpointsRemoved(let removed): encode(removed, into: &writer)
        case .sessionDeleted(let deleted):
            writer.write(deleted.reason == nil ? 0 : 1)
            if let reason = deleted.reason { writer.writeMedium(reason.utf8) }
        case .unrecognized(_, let payload):
            writer.bytes = payload
        }
        return writer.bytes
    }

    /// Decodes the payload of an event of type `type`; unknown types become ``Event/unrecognized(type:payload:)``.
    package static func decodePayload(type: String, _ bytes: UnsafeRawBufferPointer) throws(RecordDecodingError) -> Event {
        var reader = ByteReader(bytes)
        let event: Event
        switch type {
        case EventType.sessionCreated:
            let hasUserID = try reader.readByte()
            let userID = hasUserID == 0 ? nil : try reader.readString(try reader.readMedium(), name: "userId")
            let metadata = try object(try reader.readLong(), field: "metadata")
            event = .sessionCreated(SessionCreated(userID: userID, metadata: metadata))
        case EventType.messageAdded:
            let messageID = try reader.readString(try reader.readMedium(), name: "messageId")
            let roleCode = try reader.readByte()
            guard let role = RoleCode.roles[roleCode] else { throw .invalidCode(field: "role", value: roleCode) }
            let kind = try reader.readByte()
            let contentBytes = try reader.readLong()
            let content: MessageContent
            switch kind {
            case ContentKind.text: content = .text(try reader.readString(contentBytes, name: "content"))
            case ContentKind.json: content = .json(try json(contentBytes, field: "content"))
            default: throw .invalidCode(field: "contentKind", value: kind)
            }
            let metadata = try object(try reader.readLong(), field: "metadata")
            event = .messageAdded(MessageAdded(messageID: messageID, role: role, content: content, metadata: metadata))
        case EventType.contextUpdated:
            let sourceCode = try reader.readByte()
            guard let source = SourceCode.sources[sourceCode] else { throw .invalidCode(field: "source", value: sourceCode) }
            let changes = try object(try reader.readLong(), field: "changes")
            event = .contextUpdated(ContextUpdated(changes: changes, source: source))
        case EventType.checkpointPut: event = .checkpointPut(try decodeCheckpointPut(&reader))
        case EventType.writesPut: event = .writesPut(try decodeWritesPut(&reader))
        case EventType.checkpointsRemoved: event = .checkpointsRemoved(try decodeCheckpointsRemoved(&reader))
        case EventType.sessionDeleted:
            let hasReason = try reader.readByte()
            event = .sessionDeleted(SessionDeleted(reason: hasReason == 0 ? nil : try reader.readString(try reader.readMedium(), name: "reason")))
        default:
            return .unrecognized(type: type, payload: Array(bytes))
        }
        guard reader.remaining == 0 else { throw .trailingBytes(count: reader.remaining) }
        return event
    }

    static func json(_ bytes: UnsafeRawBufferPointer, field: String) throws(RecordDecodingError) -> JSONValue {
        do {
            return try JSONValue(parsing: bytes)
        } catch {
            throw .invalidJSON(field: field)
        }
    }

    static func object(_ bytes: UnsafeRawBufferPointer, field: String) throws(RecordDecodingError) -> [String: JSONValue] {
        guard let members = try json(bytes, field: field).objectValue else { throw .invalidJSON(field: field) }
        return members
    }
}

/// The integrity-chain fields of a stored record, read without decoding its payload.
struct ChainLink {
    /// Everything the hash covers besides `previousHash`.
    let canonical: UnsafeRawBufferPointer
    /// The stored `prevHash` and `hash`, 32 bytes each (pointing into the record).
    let previousHashBytes: UnsafeRawBufferPointer
    let storedHashBytes: UnsafeRawBufferPointer

    init(_ record: UnsafeRawBufferPointer) throws(RecordDecodingError) {
        guard record.count > EventCodec.trailerSize else { throw .truncated(at: record.count) }
        let split = record.count - EventCodec.trailerSize
        canonical = UnsafeRawBufferPointer(rebasing: record[..<split])
        previousHashBytes = UnsafeRawBufferPointer(rebasing: record[split..<split + 32])
        storedHashBytes = UnsafeRawBufferPointer(rebasing: record[(split + 32)...])
    }

    var previousHash: EventHash { EventHash(bytes: Array(previousHashBytes)) }
    var storedHash: EventHash { EventHash(bytes: Array(storedHashBytes)) }

    /// Whether the record's bytes hash to its stored hash: `SHA-256(previousHash ‖ canonical)`.
    var hashHolds: Bool { EventHash.chaining(previousHashBytes, canonical).matches(storedHashBytes) }

    /// The sequence written inside the record, or nil when the record is too short to hold one.
    var sequence: UInt64? { fixedField(at: 1) }

    /// The timestamp written inside the record, or nil when the record is too short to hold one.
    var timestamp: Int64? { fixedField(at: 17).map { Int64(bitPattern: $0) } }

    private func fixedField(at offset: Int) -> UInt64? {
        guard canonical.count >= offset + 8 else { return nil }
        return LogSchema.readUInt64(canonical, at: offset)
    }
}
