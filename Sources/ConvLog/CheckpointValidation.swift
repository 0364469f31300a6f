import EventLog
import JSON

/// Checks of the checkpoint methods' identifiers and sizes.
enum CheckpointValidation {
    /// A thread id: a session id (the thread's conversation is that session).
    static func threadID(_ value: String, field: String = "threadId") throws {
        do {
            _ = try Validation.sessionID(value)
        } catch {
            throw ConvLogError.invalid(field, "must be 1–128 characters of A-Z a-z 0-9 . _ : -")
        }
    }

    /// A name stored as a key part: at most `limit` bytes (at least one unless `allowsEmpty`), no control characters.
    static func name(_ value: String, field: String, limit: Int = 255, allowsEmpty: Bool = false) throws {
        guard (allowsEmpty ? 0 : 1)...limit ~= value.utf8.count,
            !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw ConvLogError.invalid(field, "must be \(allowsEmpty ? 0 : 1)–\(limit) bytes without control characters")
        }
    }

    static func check(_ request: PutCheckpointRequest, limits: ServiceLimits) throws {
        try threadID(request.threadID)
        try name(request.namespace, field: "checkpointNs", limit: 1024, allowsEmpty: true)
        try Validation.identifier(request.checkpointID, field: "checkpointId")
        if let parentID = request.parentID { try Validation.identifier(parentID, field: "parentCheckpointId") }
        try name(request.checkpoint.type, field: "checkpoint.type")
        try Validation.size(of: .object(request.metadata), field: "metadata", limit: limits.maxMetadataBytes)
        for (channel, version) in request.channelVersions {
            try name(channel, field: "channelVersions")
            try name(version, field: "channelVersions[\(channel)]")
        }
        var bytes = request.checkpoint.bytes.count
        for (channel, version, value) in request.values {
            try name(channel, field: "values.channel")
            try name(version, field: "values[\(channel)].version")
            switch value {
            case .bytes(let typed):
                try name(typed.type, field: "values[\(channel)].type")
                bytes += typed.bytes.count
            case .messages(let entries):
                guard request.namespace.isEmpty else {
                    throw ConvLogError.invalid("values[\(channel)].messages", "are stored once per message only in the root namespace; send the channel as bytes")
                }
                for entry in entries {
                    guard case .full(let message) = entry else { continue }
                    try Validation.identifier(message.messageID, field: "values[\(channel)].messages.id")
                    try Validation.size(of: message.content.jsonValue, field: "values[\(channel)].messages.content", limit: limits.maxContentBytes)
                    try Validation.size(of: .object(message.metadata), field: "values[\(channel)].messages.metadata", limit: limits.maxMetadataBytes)
                }
            }
        }
        guard bytes <= limits.maxCheckpointBytes else { throw ConvLogError.tooLarge("values", limit: limits.maxCheckpointBytes) }
    }

    static func check(threadID thread: String, _ put: WritesPut, limits: ServiceLimits) throws {
        try threadID(thread)
        try name(put.namespace, field: "checkpointNs", limit: 1024, allowsEmpty: true)
        try Validation.identifier(put.checkpointID, field: "checkpointId")
        try Validation.identifier(put.taskID, field: "taskId")
        try name(put.taskPath, field: "taskPath", limit: 1024, allowsEmpty: true)
        var bytes = 0
        for write in put.writes {
            try name(write.channel, field: "writes.channel")
            try name(write.value.type, field: "writes.type")
            bytes += write.value.bytes.count
        }
        guard bytes <= limits.maxCheckpointBytes else { throw ConvLogError.tooLarge("writes", limit: limits.maxCheckpointBytes) }
    }
}
