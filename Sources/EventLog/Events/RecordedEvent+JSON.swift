import Foundation
import JSON

extension RecordedEvent {
    /// The JSON form of the record (`schema/events.schema.json`), as replay and `readEvents` show it.
    public var jsonValue: JSONValue {
        .object([
            "sequence": .integer(Int64(bitPattern: sequence)),
            "sessionId": .string(sessionID),
            "sessionVersion": .integer(Int64(bitPattern: sessionVersion)),
            "type": .string(event.typeName),
            "timestamp": .string(Timestamp.iso8601(milliseconds: timestamp)),
            "data": event.jsonData,
            "prevHash": .string(previousHash.description),
            "hash": .string(hash.description),
        ])
    }
}

extension Event {
    /// The event's fields in their JSON form (the `data` member of ``RecordedEvent/jsonValue``).
    public var jsonData: JSONValue {
        switch self {
        case .sessionCreated(let created):
            var data: [String: JSONValue] = ["metadata": .object(created.metadata)]
            if let userID = created.userID { data["userId"] = .string(userID) }
            return .object(data)
        case .messageAdded(let message):
            return .object([
                "messageId": .string(message.messageID),
                "role": .string(message.role.rawValue),
                "content": message.content.jsonValue,
                "metadata": .object(message.metadata),
            ])
        case .contextUpdated(let update):
            return .object(["changes": .object(update.changes), "source": .string(update.source.rawValue)])
        case .checkpointPut(let put):
            var data: [String: JSONValue] = [
                "checkpointNs": .string(put.namespace),
                "checkpointId": .string(put.checkpointID),
                "checkpoint": put.checkpoint.jsonValue,
                "metadata": .object(put.metadata),
                "channelVersions": .object(put.channelVersions.mapValues(JSONValue.string)),
                "blobs": .array(put.blobs.map(\.jsonValue)),
            ]
            if let parentID = put.parentID { data["parentCheckpointId"] = .string(parentID) }
            return .object(data)
        case .writesPut(let put):
            return .object([
                "checkpointNs": .string(put.namespace),
                "checkpointId": .string(put.checkpointID),
                "taskId": .string(put.taskID),
                "taskPath": .string(put.taskPath),
                "writes": .array(put.writes.map { write in
                    ["idx": .integer(write.index), "channel": .string(write.channel), "value": write.value.jsonValue]
                }),
            ])
        case .retentionSet(let retention):
            return .object(["ttlSeconds": .integer(Int64(clamping: retention.ttlSeconds))])
        case .sessionDeleted(let deleted):
            var data: [String: JSONValue] = [:]
            if let reason = deleted.reason { data["reason"] = .string(reason) }
            if let fence = deleted.fence { data["fence"] = .string(fence) }
            return .object(data)
        case .checkpointsRemoved(let removed):
            return .object([
                "checkpoints": .array(removed.checkpoints.map { ["checkpointNs": .string($0.namespace), "checkpointId": .string($0.checkpointID)] })
            ])
        case .unrecognized(_, let payload):
            return .object(["payloadBase64": .string(Data(payload).base64EncodedString())])
        case .erased:
            return .object(["erased": true])
        }
    }
}

extension TypedBytes {
    /// `{"type": …, "data": base64}`, the form the checkpoint methods exchange.
    public var jsonValue: JSONValue {
        ["type": .string(type), "data": .string(Data(bytes).base64EncodedString())]
    }
}

extension ChannelBlob {
    /// `{"channel", "version"}` with `type` and base64 `data`, or `messageVersions` for a message list.
    public var jsonValue: JSONValue {
        var object: [String: JSONValue] = ["channel": .string(channel), "version": .string(version)]
        switch value {
        case .bytes(let bytes):
            object["type"] = .string(bytes.type)
            object["data"] = .string(Data(bytes.bytes).base64EncodedString())
        case .messages(let versions):
            object["messageVersions"] = .array(versions.map { .integer(Int64(bitPattern: $0)) })
        }
        return .object(object)
    }
}

extension MessageContent {
    /// Text as a JSON string; structured content as itself.
    public var jsonValue: JSONValue {
        switch self {
        case .text(let text): .string(text)
        case .json(let value): value
        }
    }
}
