import JSON

/// Payloads of the checkpoint events (`schema/event-log.md`). Strings are `medium` fields (UInt16
/// length), counts are varints, opaque values are a `short` type tag and a `long` byte field.
extension EventCodec {
    private enum BlobKind {
        static let bytes: UInt8 = 1
        static let messages: UInt8 = 2
    }

    static func encode(_ put: CheckpointPut, into writer: inout ByteWriter) {
        writer.writeMedium(put.namespace.utf8)
        writer.writeMedium(put.checkpointID.utf8)
        writer.write(put.parentID == nil ? 0 : 1)
        if let parentID = put.parentID { writer.writeMedium(parentID.utf8) }
        encode(put.checkpoint, into: &writer)
        writer.writeLong(JSONValue.object(put.metadata).canonicalBytes)
        writer.writeVarint(UInt64(put.channelVersions.count))
        for (channel, version) in put.channelVersions.sorted(by: { $0.key < $1.key }) {
            writer.writeMedium(channel.utf8)
            writer.writeMedium(version.utf8)
        }
        writer.writeVarint(UInt64(put.blobs.count))
        for blob in put.blobs {
            writer.writeMedium(blob.channel.utf8)
            writer.writeMedium(blob.version.utf8)
            switch blob.value {
            case .bytes(let value):
                writer.write(BlobKind.bytes)
                encode(value, into: &writer)
            case .messages(let versions):
                writer.write(BlobKind.messages)
                writer.writeVarint(UInt64(versions.count))
                // Versions as zigzag deltas: a list that grows by appending costs a byte or two per message.
                var previous: UInt64 = 0
                for version in versions {
                    let delta = Int64(bitPattern: version &- previous)
                    writer.writeVarint(UInt64(bitPattern: (delta << 1) ^ (delta >> 63)))
                    previous = version
                }
            }
        }
    }

    static func decodeCheckpointPut(_ reader: inout ByteReader) throws(RecordDecodingError) -> CheckpointPut {
        let namespace = try reader.readString(try reader.readMedium(), name: "checkpointNs")
        let checkpointID = try reader.readString(try reader.readMedium(), name: "checkpointId")
        let parentID = try reader.readByte() == 0 ? nil : try reader.readString(try reader.readMedium(), name: "parentCheckpointId")
        let checkpoint = try decodeTypedBytes(&reader)
        let metadata = try object(try reader.readLong(), field: "metadata")
        var channelVersions: [String: String] = [:]
        for _ in 0..<(try reader.readCount()) {
            let channel = try reader.readString(try reader.readMedium(), name: "channel")
            channelVersions[channel] = try reader.readString(try reader.readMedium(), name: "version")
        }
        var blobs: [ChannelBlob] = []
        for _ in 0..<(try reader.readCount()) {
            let channel = try reader.readString(try reader.readMedium(), name: "channel")
            let version = try reader.readString(try reader.readMedium(), name: "version")
            let kind = try reader.readByte()
            switch kind {
            case BlobKind.bytes:
                blobs.append(ChannelBlob(channel: channel, version: version, value: .bytes(try decodeTypedBytes(&reader))))
            case BlobKind.messages:
                var versions: [UInt64] = []
                var previous: UInt64 = 0
                for _ in 0..<(try reader.readCount()) {
                    let zigzag = try reader.readVarint()
                    let delta = Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
                    previous = previous &+ UInt64(bitPattern: delta)
                    versions.append(previous)
                }
                blobs.append(ChannelBlob(channel: channel, version: version, value: .messages(versions: versions)))
            default:
                throw .invalidCode(field: "blobKind", value: kind)
            }
        }
        return CheckpointPut(
            namespace: namespace,
            checkpointID: checkpointID,
            parentID: parentID,
            checkpoint: checkpoint,
            metadata: metadata,
            channelVersions: channelVersions,
            blobs: blobs
        )
    }

    static func encode(_ put: WritesPut, into writer: inout ByteWriter) {
        writer.writeMedium(put.namespace.utf8)
        writer.writeMedium(put.checkpointID.utf8)
        writer.writeMedium(put.taskID.utf8)
        writer.writeMedium(put.taskPath.utf8)
        writer.writeVarint(UInt64(put.writes.count))
        for write in put.writes {
            writer.write(bigEndian: write.index)
            writer.writeMedium(write.channel.utf8)
            encode(write.value, into: &writer)
        }
    }

    static func decodeWritesPut(_ reader: inout ByteReader) throws(RecordDecodingError) -> WritesPut {
        let namespace = try reader.readString(try reader.readMedium(), name: "checkpointNs")
        let checkpointID = try reader.readString(try reader.readMedium(), name: "checkpointId")
        let taskID = try reader.readString(try reader.readMedium(), name: "taskId")
        let taskPath = try reader.readString(try reader.readMedium(), name: "taskPath")
        var writes: [PendingWrite] = []
        for _ in 0..<(try reader.readCount()) {
            let index = try reader.read(bigEndian: Int64.self)
            let channel = try reader.readString(try reader.readMedium(), name: "channel")
            writes.append(PendingWrite(index: index, channel: channel, value: try decodeTypedBytes(&reader)))
        }
        return WritesPut(namespace: namespace, checkpointID: checkpointID, taskID: taskID, taskPath: taskPath, writes: writes)
    }

    static func encode(_ removed: CheckpointsRemoved, into writer: inout ByteWriter) {
        writer.writeVarint(UInt64(removed.checkpoints.count))
        for key in removed.checkpoints {
            writer.writeMedium(key.namespace.utf8)
            writer.writeMedium(key.checkpointID.utf8)
        }
    }

    static func decodeCheckpointsRemoved(_ reader: inout ByteReader) throws(RecordDecodingError) -> CheckpointsRemoved {
        var keys: [CheckpointKey] = []
        for _ in 0..<(try reader.readCount()) {
            let namespace = try reader.readString(try reader.readMedium(), name: "checkpointNs")
            keys.append(CheckpointKey(namespace: namespace, checkpointID: try reader.readString(try reader.readMedium(), name: "checkpointId")))
        }
        return CheckpointsRemoved(checkpoints: keys)
    }

    private static func encode(_ value: TypedBytes, into writer: inout ByteWriter) {
        writer.writeShort(value.type.utf8)
        writer.writeLong(value.bytes)
    }

    private static func decodeTypedBytes(_ reader: inout ByteReader) throws(RecordDecodingError) -> TypedBytes {
        let type = try reader.readString(try reader.readShort(), name: "type")
        return TypedBytes(type: type, bytes: Array(try reader.readLong()))
    }
}

extension ByteReader {
    /// A count written as a varint, no larger than the bytes left could hold (so a corrupt count
    /// fails as truncation instead of looping).
    mutating func readCount() throws(RecordDecodingError) -> Int {
        let count = try readVarint()
        guard count <= UInt64(remaining) else { throw .truncated(at: offset) }
        return Int(count)
    }
}
