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

extension RecordedEvent {
    /// Appends ``jsonValue`` in canonical form (the same bytes as `jsonValue.canonicalBytes`),
    /// writing the record's own fields directly: the live tail and replay encode every event.
    public func appendCanonicalJSON(to output: inout [UInt8]) {
        // The members in canonical (sorted) order.
        output.append(contentsOf: #"{"data":"#.utf8)
        event.jsonData.appendCanonical(to: &output)
        output.append(contentsOf: #","hash":""#.utf8)
        Self.appendHex(hash, to: &output)
        output.append(contentsOf: #"","prevHash":""#.utf8)
        Self.appendHex(previousHash, to: &output)
        output.append(contentsOf: #"","sequence":"#.utf8)
        JSONValue.appendInteger(Int64(bitPattern: sequence), to: &output)
        output.append(contentsOf: #","sessionId":"#.utf8)
        JSONValue.appendQuoted(sessionID, to: &output)
        output.append(contentsOf: #","sessionVersion":"#.utf8)
        JSONValue.appendInteger(Int64(bitPattern: sessionVersion), to: &output)
        output.append(contentsOf: #","timestamp":"#.utf8)
        JSONValue.appendQuoted(Timestamp.iso8601(milliseconds: timestamp), to: &output)
        output.append(contentsOf: #","type":"#.utf8)
        JSONValue.appendQuoted(event.typeName, to: &output)
        output.append(UInt8(ascii: "}"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendHex(_ hash: EventHash, to output: inout [UInt8]) {
        for byte in hash.bytes {
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0x0F)])
        }
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
