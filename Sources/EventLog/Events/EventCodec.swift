import Foundation
import JSON
import Crypto

/// The binary form of records in the log (documented in `schema/event-log.md`).
///
/// A record's hash is `SHA-256(prevHash ‖ canonical bytes)`, the canonical bytes being:
///
/// | field | encoding |
/// |---|---|
/// | format version | UInt8 (2) |
/// | sequence | UInt64 big-endian |
/// | session version | UInt64 big-endian |
/// | timestamp | Int64 big-endian, UTC ms |
/// | type | UInt8 length + ASCII |
/// | session id | UInt16 length + UTF-8 |
/// | payload length | UInt32 big-endian |
/// | payload digest | SHA-256 of the payload (32 bytes) |
///
/// The chain commits to the payload through its digest, so a payload can be erased (the record
/// stored without it) and the chain still verifies. A format 2 record stores its canonical bytes,
/// its payload, then `prevHash` and `hash` (32 bytes each). Format 3, what this build writes,
/// stores the same record in fewer bytes: its type as a one-byte code (``typeNames``) and no
/// digest (recomputed from the payload; stored in the payload's place once it is erased). Its
/// hash is that of its format 2 form, into which it expands byte for byte (``ChainLink/canonicalBytes()``).
/// Format 1 records (the payload inside the canonical bytes, as UInt32 length + bytes) stay readable.
public enum EventCodec {
    /// The record format this build writes, and the newest it reads.
    public static let formatVersion: UInt8 = 3
    /// Bytes after the payload: `prevHash` and `hash`.
    static let trailerSize = 64
    /// Format 3's type codes: a type's code is its index here plus one. Codes are forever: a new
    /// type is appended, never inserted. A record of a type without a code is stored in format 2.
    static let typeNames = [
        EventType.sessionCreated, EventType.messageAdded, EventType.contextUpdated, EventType.checkpointPut,
        EventType.writesPut, EventType.checkpointsRemoved, EventType.sessionDeleted, EventType.retentionSet,
    ]
    /// ``typeNames`` in UTF-8.
    static let typeNameBytes = typeNames.map { Array($0.utf8) }
    /// Set in a format 3 record's type code when its payload was erased (its digest stored instead).
    static let erasedFlag: UInt8 = 0x80

    // MARK: Records

    /// Encodes a record around an already encoded payload (``encodePayload(_:)``); returns its
    /// stored bytes and hash. Formats 1 and 2 are for tests of reading old logs.
    static func encodeRecord(
        sequence: UInt64,
        sessionID: String,
        sessionVersion: UInt64,
        timestamp: Int64,
        type: String,
        payload: [UInt8],
        previousHash: EventHash,
        format: UInt8 = formatVersion
    ) -> (bytes: [UInt8], hash: EventHash) {
        let typeCode = typeNames.firstIndex(of: type).map { UInt8($0 + 1) }
        let format = format == 3 && typeCode == nil ? 2 : format
        var writer = ByteWriter(capacity: 48 + 36 + sessionID.utf8.count + payload.count + trailerSize)
        writer.write(format)
        writer.write(bigEndian: sequence)
        writer.write(bigEndian: sessionVersion)
        writer.write(bigEndian: timestamp)
        if format == 3 { writer.write(typeCode!) } else { writer.writeShort(type.utf8) }
        writer.writeMedium(sessionID.utf8)
        let hash: EventHash
        switch format {
        case 1:
            writer.writeLong(payload)
            hash = writer.bytes.withUnsafeBytes { EventHash.chaining(previousHash, $0) }
        case 2:
            writer.write(bigEndian: UInt32(payload.count))
            writer.bytes += SHA256.hash(data: payload)
            hash = writer.bytes.withUnsafeBytes { EventHash.chaining(previousHash, $0) }
            writer.bytes += payload
        default:
            writer.write(bigEndian: UInt32(payload.count))
            let digest = previousHash.bytes.withUnsafeBytes { previous in
                writer.bytes.withUnsafeBytes { header in
                    SHA256.hash(data: payload).withUnsafeBytes { digest in
                        ChainLink.compactDigest(previous: previous, header: header, typeName: typeNameBytes[Int(typeCode!) - 1], digest: digest)
                    }
                }
            }
            hash = EventHash(bytes: digest.withUnsafeBytes { [UInt8]($0) })
            writer.bytes += payload
        }
        writer.bytes += previousHash.bytes
        writer.bytes += hash.bytes
        return (writer.bytes, hash)
    }

    /// The stored bytes of a record placed at `sequence`, after a record whose hash is
    /// `previousHash`: its sequence rewritten and its hash chained anew, the rest as it is (what
    /// a shared log stores when it places a record after another head than the one it was built on).
    /// - Throws: ``RecordDecodingError`` when `record` is not a record.
    package static func placing(_ record: [UInt8], at sequence: UInt64, after previousHash: EventHash) throws -> [UInt8] {
        guard try record.withUnsafeBytes({ try ChainLink($0).header.count }) >= 9 else { throw RecordDecodingError.truncated(at: record.count) }
        var placed = record
        for index in 0..<8 { placed[1 + index] = UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(index))) }
        let hash = try placed.withUnsafeBytes { bytes in try previousHash.bytes.withUnsafeBytes { try ChainLink(bytes).chainHash(after: $0) } }
        placed.replaceSubrange((placed.count - trailerSize)..., with: previousHash.bytes + hash.bytes)
        return placed
    }

    /// Decodes stored record bytes. Does not check the hash: see ``ChainLink``. An erased
    /// record decodes as ``Event/erased(type:)``.
    package static func decodeRecord(_ bytes: UnsafeRawBufferPointer) throws(RecordDecodingError) -> RecordedEvent {
        let link = try ChainLink(bytes)
        var reader = ByteReader(link.header)
        let version = try reader.readByte()
        let sequence = try reader.read(bigEndian: UInt64.self)
        let sessionVersion = try reader.read(bigEndian: UInt64.self)
        let timestamp = try reader.read(bigEndian: Int64.self)
        let type: String
        if version == 3 {
            _ = try reader.readByte()
            type = typeNames[link.typeIndex]
        } else {
            type = try reader.readString(try reader.readShort(), name: "type")
        }
        let sessionID = try reader.readString(try reader.readMedium(), name: "sessionId")
        let payload: UnsafeRawBufferPointer
        if version == 1 {
            payload = try reader.readLong()
        } else {
            let length = try reader.read(bigEndian: UInt32.self)
            if version == 2 { _ = try reader.readBytes(count: 32) }
            payload = link.payload
            guard link.isErased || payload.count == Int(length) else { throw .truncated(at: link.header.count + payload.count) }
        }
        guard reader.remaining == 0 else { throw .trailingBytes(count: reader.remaining) }
        return RecordedEvent(
            formatVersion: version,
            sequence: sequence,
            sessionID: sessionID,
            sessionVersion: sessionVersion,
            timestamp: timestamp,
            event: link.isErased ? .erased(type: type) : try decodePayload(type: type, payload),
            previousHash: link.previousHash,
            hash: link.storedHash
        )
    }

    /// The record without its payload, for erasure: nil when it is already erased, or of format 1
    /// (whose chain covers the payload itself: erasing it would break the chain). Format 3 keeps
    /// the payload's digest in its place.
    static func erasing(_ record: UnsafeRawBufferPointer) throws(RecordDecodingError) -> [UInt8]? {
        let link = try ChainLink(record)
        guard link.formatVersion >= 2, !link.isErased, link.payloadLength > 0 else { return nil }
        var erased = Array(link.header)
        if link.formatVersion == 3 {
            erased[ChainLink.typeCodeOffset] |= erasedFlag
            erased += SHA256.hash(data: link.payload)
        }
        return erased + Array(link.previousHashBytes) + Array(link.storedHashBytes)
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
        case .retentionSet(let retention): writer.write(bigEndian: retention.ttlSeconds)
        case .sessionDeleted(let deleted):
            for field in [deleted.reason, deleted.fence] {
                writer.write(field == nil ? 0 : 1)
                if let field { writer.writeMedium(field.utf8) }
            }
        case .unrecognized(_, let payload):
            writer.bytes = payload
        case .erased:
            break  // never appended (see PreparedAppend)
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
        case EventType.retentionSet: event = .retentionSet(RetentionSet(ttlSeconds: try reader.read(bigEndian: UInt64.self)))
        case EventType.sessionDeleted:
            let reason = try reader.readByte() == 0 ? nil : try reader.readString(try reader.readMedium(), name: "reason")
            let fence = try reader.readByte() == 0 ? nil : try reader.readString(try reader.readMedium(), name: "fence")
            event = .sessionDeleted(SessionDeleted(reason: reason, fence: fence))
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
    let formatVersion: UInt8
    /// The stored bytes before the payload: formats 1 and 2, the canonical bytes (everything the
    /// hash covers besides `previousHash`); format 3, its compact header (``canonicalBytes()``).
    let header: UnsafeRawBufferPointer
    /// The payload stored after the header (empty when erased, and for format 1, whose payload
    /// is inside the canonical bytes).
    let payload: UnsafeRawBufferPointer
    /// The payload's length as the header states it (0 for format 1).
    let payloadLength: Int
    /// The payload's SHA-256 as stored: format 2's, format 3's once erased; else empty.
    private let storedDigest: UnsafeRawBufferPointer
    /// The stored `prevHash` and `hash`, 32 bytes each (pointing into the record).
    let previousHashBytes: UnsafeRawBufferPointer
    let storedHashBytes: UnsafeRawBufferPointer
    /// Whether the payload was erased: stored without it (formats 2 and 3).
    let isErased: Bool

    /// Where a format 3 record's type code is (formats 1 and 2 have the type's length there).
    static let typeCodeOffset = 25

    init(_ record: UnsafeRawBufferPointer) throws(RecordDecodingError) {
        guard record.count > EventCodec.trailerSize else { throw .truncated(at: record.count) }
        let split = record.count - EventCodec.trailerSize
        let body = UnsafeRawBufferPointer(rebasing: record[..<split])
        previousHashBytes = UnsafeRawBufferPointer(rebasing: record[split..<split + 32])
        storedHashBytes = UnsafeRawBufferPointer(rebasing: record[(split + 32)...])
        formatVersion = body[0]
        guard formatVersion >= 1, formatVersion <= EventCodec.formatVersion else { throw .unsupportedFormatVersion(formatVersion) }
        guard formatVersion >= 2 else {
            header = body
            payload = UnsafeRawBufferPointer(rebasing: body[body.count...])
            payloadLength = 0
            storedDigest = payload
            isErased = false
            return
        }
        // After the type: the session id, the payload length and (format 2) its digest.
        let offset = Self.typeCodeOffset
        guard body.count > offset + 2 else { throw .truncated(at: body.count) }
        let sessionLengthOffset = formatVersion == 3 ? offset + 1 : offset + 1 + Int(body[offset])
        guard body.count >= sessionLengthOffset + 2 else { throw .truncated(at: body.count) }
        let lengthEnd = sessionLengthOffset + 2 + (Int(body[sessionLengthOffset]) << 8 | Int(body[sessionLengthOffset + 1])) + 4
        let end = formatVersion == 3 ? lengthEnd : lengthEnd + 32
        guard body.count >= end else { throw .truncated(at: body.count) }
        header = UnsafeRawBufferPointer(rebasing: body[..<end])
        payloadLength = (lengthEnd - 4..<lengthEnd).reduce(0) { $0 << 8 | Int(body[$1]) }
        let stored = UnsafeRawBufferPointer(rebasing: body[end...])
        if formatVersion == 2 {
            payload = stored
            storedDigest = UnsafeRawBufferPointer(rebasing: body[lengthEnd..<end])
            isErased = payload.isEmpty && payloadLength > 0
            return
        }
        let code = body[offset] & ~EventCodec.erasedFlag
        guard code >= 1, Int(code) <= EventCodec.typeNames.count else { throw .invalidCode(field: "type", value: body[offset]) }
        isErased = body[offset] & EventCodec.erasedFlag != 0
        let storedLength = isErased ? 32 : payloadLength  // an erased payload's digest, or the payload
        guard stored.count == storedLength else {
            throw stored.count > storedLength ? .trailingBytes(count: stored.count - storedLength) : .truncated(at: body.count)
        }
        payload = isErased ? UnsafeRawBufferPointer(rebasing: stored[stored.count...]) : stored
        storedDigest = isErased ? stored : UnsafeRawBufferPointer(rebasing: stored[stored.count...])
    }

    var previousHash: EventHash { EventHash(bytes: Array(previousHashBytes)) }
    var storedHash: EventHash { EventHash(bytes: Array(storedHashBytes)) }

    /// A format 3 record's type: its index in ``EventCodec/typeNames``.
    var typeIndex: Int { Int(header[Self.typeCodeOffset] & ~EventCodec.erasedFlag) - 1 }

    /// Whether the record's bytes hash to its stored hash, `SHA-256(previousHash ‖ canonical)`,
    /// and its payload (unless erased) to the digest the canonical bytes state.
    var hashHolds: Bool {
        guard chainDigest(after: previousHashBytes).withUnsafeBytes({ memcmp($0.baseAddress!, storedHashBytes.baseAddress!, 32) == 0 }) else { return false }
        guard formatVersion == 2, !isErased else { return true }
        return payload.count == payloadLength
            && SHA256.hash(data: payload).withUnsafeBytes { memcmp($0.baseAddress!, storedDigest.baseAddress!, 32) == 0 }
    }

    /// `SHA-256(previous ‖ canonical bytes)`: the record's hash were it chained after `previous`.
    func chainHash(after previous: UnsafeRawBufferPointer) -> EventHash {
        EventHash(bytes: chainDigest(after: previous).withUnsafeBytes { [UInt8]($0) })
    }

    /// ``chainHash(after:)`` as a digest. For a format 3 record it hashes the payload too (into
    /// the digest the canonical bytes hold), so a changed payload changes it.
    private func chainDigest(after previous: UnsafeRawBufferPointer) -> SHA256.Digest {
        guard formatVersion == 3 else {
            var hasher = SHA256()
            hasher.update(bufferPointer: previous)
            hasher.update(bufferPointer: header)
            return hasher.finalize()
        }
        return withDigest { Self.compactDigest(previous: previous, header: header, typeName: EventCodec.typeNameBytes[typeIndex], digest: $0) }
    }

    /// The canonical bytes: formats 1 and 2 store them; format 3's expand into format 2's.
    func canonicalBytes() -> [UInt8] {
        guard formatVersion == 3 else { return Array(header) }
        let typeName = EventCodec.typeNameBytes[typeIndex]
        var bytes: [UInt8] = [2]
        bytes += header[1..<Self.typeCodeOffset]
        bytes.append(UInt8(typeName.count))
        bytes += typeName
        bytes += header[(Self.typeCodeOffset + 1)...]
        withDigest { bytes += $0 }
        return bytes
    }

    /// Calls `body` with the payload's digest: stored once erased, else computed.
    private func withDigest<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        isErased ? body(storedDigest) : SHA256.hash(data: payload).withUnsafeBytes(body)
    }

    /// The digest of `previous ‖ canonical bytes` of a format 3 record, from its compact header
    /// (format version through payload length), its type's name and its payload's digest: the
    /// canonical bytes are those of its format 2 form.
    static func compactDigest(
        previous: UnsafeRawBufferPointer,
        header: UnsafeRawBufferPointer,
        typeName: [UInt8],
        digest: UnsafeRawBufferPointer
    ) -> SHA256.Digest {
        var hasher = SHA256()
        hasher.update(bufferPointer: previous)
        withUnsafeBytes(of: UInt8(2)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: header[1..<typeCodeOffset]))
        withUnsafeBytes(of: UInt8(typeName.count)) { hasher.update(bufferPointer: $0) }
        typeName.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: header[(typeCodeOffset + 1)...]))
        hasher.update(bufferPointer: digest)
        return hasher.finalize()
    }

    /// The sequence written inside the record, or nil when the record is too short to hold one.
    var sequence: UInt64? { fixedField(at: 1) }

    /// The timestamp written inside the record, or nil when the record is too short to hold one.
    var timestamp: Int64? { fixedField(at: 17).map { Int64(bitPattern: $0) } }

    private func fixedField(at offset: Int) -> UInt64? {
        guard header.count >= offset + 8 else { return nil }
        return LogSchema.readUInt64(header, at: offset)
    }
}
