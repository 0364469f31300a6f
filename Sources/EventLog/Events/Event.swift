import JSON
/// Who wrote a message.
public enum MessageRole: String, Sendable, Hashable, CaseIterable, Codable {
    case user, assistant, system, tool
}

/// A message body: plain text, or a JSON value (for tool calls and structured answers).
public enum MessageContent: Sendable, Hashable {
    case text(String)
    case json(JSONValue)
}

/// Who changed a session's context.
public enum ContextSource: String, Sendable, Hashable, CaseIterable, Codable {
    /// The orchestrator, through `updateContext` or `create`.
    case client
    /// convlog's follow-up analyzer, tracking the topic of user messages.
    case analyzer
}

/// A session began. Always the first event (version 1) of its session.
public struct SessionCreated: Sendable, Hashable {
    /// The end user the session belongs to, if the orchestrator said.
    public var userID: String?
    /// Free-form metadata given at creation.
    public var metadata: [String: JSONValue]

    public init(userID: String? = nil, metadata: [String: JSONValue] = [:]) {
        self.userID = userID
        self.metadata = metadata
    }
}

/// A message was added to a session.
public struct MessageAdded: Sendable, Hashable {
    /// The message's id, unique within its session; a retry with the same id is not stored twice.
    public var messageID: String
    public var role: MessageRole
    public var content: MessageContent
    public var metadata: [String: JSONValue]

    public init(messageID: String, role: MessageRole, content: MessageContent, metadata: [String: JSONValue] = [:]) {
        self.messageID = messageID
        self.role = role
        self.content = content
        self.metadata = metadata
    }
}

/// The session's context (a JSON object) changed: `changes` is merged into it; a `null` value removes its key.
public struct ContextUpdated: Sendable, Hashable {
    public var changes: [String: JSONValue]
    public var source: ContextSource

    public init(changes: [String: JSONValue], source: ContextSource) {
        self.changes = changes
        self.source = source
    }
}

/// The session was deleted: every event of it before this one is gone for readers (and its
/// payloads are erased from the log). Events after it start the session afresh. For a LangGraph
/// thread it also deletes its checkpoints and fences them against late writes.
public struct SessionDeleted: Sendable, Hashable {
    /// Why, as the caller said (`expired` for retention).
    public var reason: String?
    /// For a LangGraph thread: the newest checkpoint id it held (of its checkpoints and writes).
    /// Later writes for checkpoint ids up to it are refused (see ``AppendPrecondition``).
    public var fence: String?

    public init(reason: String? = nil, fence: String? = nil) {
        self.reason = reason
        self.fence = fence
    }
}

/// The session expires after `ttlSeconds` without a write: the daemon's sweeper then deletes it
/// (``SessionDeleted`` with reason `expired`). Set at creation; it replaces the daemon's default.
public struct RetentionSet: Sendable, Hashable {
    public var ttlSeconds: UInt64

    public init(ttlSeconds: UInt64) { self.ttlSeconds = ttlSeconds }
}

/// The body of one event in the log.
///
/// New event types are added over time and never changed. A reader that meets a type it does not
/// know keeps it as ``unrecognized(type:payload:)``: projectors skip it, replay shows it.
public enum Event: Sendable, Hashable {
    case sessionCreated(SessionCreated)
    case messageAdded(MessageAdded)
    case contextUpdated(ContextUpdated)
    case checkpointPut(CheckpointPut)
    case writesPut(WritesPut)
    case checkpointsRemoved(CheckpointsRemoved)
    case sessionDeleted(SessionDeleted)
    case retentionSet(RetentionSet)
    /// A type this build does not know, kept as its name and opaque payload bytes.
    case unrecognized(type: String, payload: [UInt8])
    /// An event whose payload was erased (its session was deleted): only its type is left.
    case erased(type: String)

    /// The type name stored in the log (`SessionCreated`, `MessageAdded`, `ContextUpdated`, …).
    public var typeName: String {
        switch self {
        case .sessionCreated: EventType.sessionCreated
        case .messageAdded: EventType.messageAdded
        case .contextUpdated: EventType.contextUpdated
        case .checkpointPut: EventType.checkpointPut
        case .writesPut: EventType.writesPut
        case .checkpointsRemoved: EventType.checkpointsRemoved
        case .sessionDeleted: EventType.sessionDeleted
        case .retentionSet: EventType.retentionSet
        case .unrecognized(let type, _), .erased(let type): type
        }
    }
}

/// The type names of the events this build knows.
public enum EventType {
    public static let sessionCreated = "SessionCreated"
    public static let messageAdded = "MessageAdded"
    public static let contextUpdated = "ContextUpdated"
    public static let checkpointPut = "CheckpointPut"
    public static let writesPut = "WritesPut"
    public static let checkpointsRemoved = "CheckpointsRemoved"
    public static let sessionDeleted = "SessionDeleted"
    public static let retentionSet = "RetentionSet"

    /// The types this build decodes (a log may also hold types of newer builds, kept opaque).
    public static let known = [
        sessionCreated, messageAdded, contextUpdated, checkpointPut, writesPut, checkpointsRemoved, sessionDeleted, retentionSet,
    ]
}
