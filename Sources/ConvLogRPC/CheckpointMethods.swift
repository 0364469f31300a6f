import ConvLog
import EventLog
import Foundation
import JSON
import JSONRPC

/// The LangGraph checkpointer's methods (`putCheckpoint`, `putWrites`, `getCheckpoint`,
/// `listCheckpoints`, `deleteThread`, `deleteForRuns`, `copyThread`, `prune`). Opaque values
/// travel as `{"type": tag, "data": base64}`.
enum CheckpointMethods {
    static func table(service: ConversationService) -> [String: RPCMethod] {
        [
            "putCheckpoint": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown([
                    "threadId", "checkpointNs", "checkpointId", "parentCheckpointId", "checkpoint", "metadata", "channelVersions", "values",
                ])
                let versions = try params.optionalObject("channelVersions") ?? [:]
                let request = PutCheckpointRequest(
                    threadID: try params.string("threadId"),
                    namespace: try params.optionalString("checkpointNs") ?? "",
                    checkpointID: try params.string("checkpointId"),
                    parentID: try params.optionalString("parentCheckpointId"),
                    checkpoint: try typedBytes(params["checkpoint"], field: "checkpoint"),
                    metadata: try params.optionalObject("metadata") ?? [:],
                    channelVersions: try versions.mapValues { version in
                        guard let text = version.stringValue else { throw RPCError.invalidParams(field: "channelVersions", "values must be strings") }
                        return text
                    },
                    values: try array(params["values"], field: "values").enumerated().map { position, item in
                        try channelValue(item, field: "values[\(position)]")
                    }
                )
                let result = try await service.putCheckpoint(request)
                return [
                    "sequence": .integer(Int64(result.sequence)),
                    "messageVersions": .object(result.messageVersions.mapValues { .array($0.map { .integer(Int64($0)) }) }),
                ]
            },
            "putWrites": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["threadId", "checkpointNs", "checkpointId", "taskId", "taskPath", "writes"])
                let writes = try array(params["writes"], field: "writes").enumerated().map { position, item in
                    let field = "writes[\(position)]"
                    let write = try Params(item)
                    try write.rejectUnknown(["idx", "channel", "type", "data"])
                    guard let index = try write.optionalInteger("idx", in: -1_000...1_000_000) else {
                        throw RPCError.invalidParams(field: "\(field).idx", "is required")
                    }
                    return PendingWrite(index: index, channel: try write.string("channel"), value: try typedBytes(item, field: field))
                }
                let sequence = try await service.putWrites(
                    threadID: try params.string("threadId"),
                    namespace: try params.optionalString("checkpointNs") ?? "",
                    checkpointID: try params.string("checkpointId"),
                    taskID: try params.string("taskId"),
                    taskPath: try params.optionalString("taskPath") ?? "",
                    writes: writes
                )
                return ["sequence": sequence.map { .integer(Int64($0)) } ?? .null]
            },
            "getCheckpoint": .immediate { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["threadId", "checkpointNs", "checkpointId", "knownMessageVersions"])
                let known = try array(params["knownMessageVersions"], field: "knownMessageVersions").map { item in
                    guard case .integer(let version) = item, version > 0 else {
                        throw RPCError.invalidParams(field: "knownMessageVersions", "must be an array of positive integers")
                    }
                    return UInt64(version)
                }
                let checkpoint = try service.checkpoint(
                    threadID: try params.string("threadId"),
                    namespace: try params.optionalString("checkpointNs") ?? "",
                    checkpointID: try params.optionalString("checkpointId"),
                    knownMessageVersions: Set(known)
                )
                return checkpoint.map(json) ?? .null
            },
            "listCheckpoints": .immediate { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["threadId", "checkpointNs", "filter", "before", "limit"])
                let checkpoints = try service.listCheckpoints(
                    threadID: try params.optionalString("threadId"),
                    namespace: try params.optionalString("checkpointNs"),
                    filter: try params.optionalObject("filter") ?? [:],
                    before: try params.optionalString("before"),
                    limit: Int(try params.optionalInteger("limit", in: 1...Int64(service.limits.maxPageSize)) ?? 100)
                )
                return ["checkpoints": .array(checkpoints.map(json))]
            },
            "deleteThread": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["threadId"])
                return ["deleted": .bool(try await service.deleteThread(try params.string("threadId")))]
            },
            "deleteForRuns": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["runIds"])
                return ["removed": .integer(Int64(try await service.deleteForRuns(try params.optionalStrings("runIds") ?? [])))]
            },
            "copyThread": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["sourceThreadId", "targetThreadId"])
                let copied = try await service.copyThread(from: try params.string("sourceThreadId"), to: try params.string("targetThreadId"))
                return ["copied": .bool(copied)]
            },
            "prune": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["threadIds", "strategy"])
                let removed = try await service.prune(
                    try params.optionalStrings("threadIds") ?? [],
                    strategy: try params.optionalChoice("strategy", as: PruneStrategy.self) ?? .keepLatest
                )
                return ["removed": .integer(Int64(removed))]
            },
        ]
    }

    // MARK: Parameters

    private static func array(_ value: JSONValue?, field: String) throws -> [JSONValue] {
        switch value {
        case nil: return []
        case .array(let items)?: return items
        default: throw RPCError.invalidParams(field: field, "must be an array")
        }
    }

    /// `{"type": tag, "data": base64}` (data may be absent for an empty value).
    private static func typedBytes(_ value: JSONValue?, field: String) throws -> TypedBytes {
        guard let object = value?.objectValue else { throw RPCError.invalidParams(field: field, "must be an object with type and data") }
        guard let type = object["type"]?.stringValue else { throw RPCError.invalidParams(field: "\(field).type", "is required") }
        switch object["data"] {
        case nil, .null?:
            return TypedBytes(type: type, bytes: [])
        case .string(let text)?:
            guard let data = Data(base64Encoded: text) else { throw RPCError.invalidParams(field: "\(field).data", "must be base64") }
            return TypedBytes(type: type, bytes: Array(data))
        default:
            throw RPCError.invalidParams(field: "\(field).data", "must be a base64 string")
        }
    }

    private static func channelValue(_ item: JSONValue, field: String) throws -> (channel: String, version: String, value: ChannelValueInput) {
        let params = try Params(item)
        try params.rejectUnknown(["channel", "version", "type", "data", "messages"])
        let channel = try params.string("channel")
        let version = try params.string("version")
        guard let messages = params["messages"] else { return (channel, version, .bytes(try typedBytes(item, field: field))) }
        let entries = try array(messages, field: "\(field).messages").enumerated().map { position, message in
            try messageEntry(message, field: "\(field).messages[\(position)]")
        }
        return (channel, version, .messages(entries))
    }

    /// `{"id", "version"}` for a stored message, else `{"id", "role", "content", "metadata"?}`.
    private static func messageEntry(_ item: JSONValue, field: String) throws -> MessageEntry {
        let params = try Params(item)
        try params.rejectUnknown(["id", "version", "role", "content", "metadata"])
        let messageID = try params.string("id")
        if let version = try params.optionalInteger("version", in: 1...Int64.max) { return .stored(messageID: messageID, version: UInt64(version)) }
        guard let role = try params.optionalChoice("role", as: MessageRole.self) else { throw RPCError.invalidParams(field: "\(field).role", "is required") }
        let content: MessageContent
        switch params["content"] {
        case .string(let text)?: content = .text(text)
        case .array(let items)?: content = .json(.array(items))
        case .object(let object)?: content = .json(.object(object))
        default: throw RPCError.invalidParams(field: "\(field).content", "must be a string, an array or an object")
        }
        return .full(MessageAdded(messageID: messageID, role: role, content: content, metadata: try params.optionalObject("metadata") ?? [:]))
    }

    // MARK: Results

    static func json(_ checkpoint: StoredCheckpoint) -> JSONValue {
        var object: [String: JSONValue] = [
            "threadId": .string(checkpoint.threadID),
            "checkpointNs": .string(checkpoint.namespace),
            "checkpointId": .string(checkpoint.checkpointID),
            "checkpoint": checkpoint.checkpoint.jsonValue,
            "metadata": .object(checkpoint.metadata),
            "values": .array(checkpoint.values.sorted { $0.key < $1.key }.map { channel, stored in json(channel: channel, version: stored.version, stored.value) }),
            "pendingWrites": .array(checkpoint.pendingWrites.map { stored in
                [
                    "taskId": .string(stored.taskID),
                    "taskPath": .string(stored.taskPath),
                    "idx": .integer(stored.write.index),
                    "channel": .string(stored.write.channel),
                    "type": .string(stored.write.value.type),
                    "data": .string(Data(stored.write.value.bytes).base64EncodedString()),
                ]
            }),
            "sequence": .integer(Int64(checkpoint.sequence)),
        ]
        if let parentID = checkpoint.parentID { object["parentCheckpointId"] = .string(parentID) }
        return .object(object)
    }

    private static func json(channel: String, version: String, _ value: ChannelValue) -> JSONValue {
        var object: [String: JSONValue] = ["channel": .string(channel), "version": .string(version)]
        switch value {
        case .bytes(let bytes):
            object["type"] = .string(bytes.type)
            object["data"] = .string(Data(bytes.bytes).base64EncodedString())
        case .messages(let messages):
            object["messages"] = .array(messages.map { version, message in
                guard let message else { return ["version": .integer(Int64(version))] }
                return [
                    "id": .string(message.messageID),
                    "version": .integer(Int64(version)),
                    "role": .string(message.role.rawValue),
                    "content": message.content.jsonValue,
                    "metadata": .object(message.metadata),
                ]
            })
        }
        return .object(object)
    }
}
