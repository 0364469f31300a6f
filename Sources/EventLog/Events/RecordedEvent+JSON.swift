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
        case .unrecognized(_, let payload):
            return .object(["payloadBase64": .string(Data(payload).base64EncodedString())])
        }
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
