import EventLog
import JSON

/// A message of a `messages` channel, as a checkpoint write sends it.
public enum MessageEntry: Sendable, Hashable {
    /// The whole message: stored once in the thread's session when its id is new there.
    case full(MessageAdded)
    /// A message the thread already holds, at this session version (as a read or an earlier put answered).
    case stored(messageID: String, version: UInt64)
}

/// A channel value sent with a checkpoint.
public enum ChannelValueInput: Sendable, Hashable {
    case bytes(TypedBytes)
    /// A list of chat messages, stored once each (root namespace only).
    case messages([MessageEntry])
}

/// `putCheckpoint`'s parameters.
public struct PutCheckpointRequest: Sendable {
    public var threadID: String
    public var namespace: String
    public var checkpointID: String
    public var parentID: String?
    /// The checkpoint without its channel values, as the client serialized it.
    public var checkpoint: TypedBytes
    public var metadata: [String: JSONValue]
    /// Every channel's version in the checkpoint, in text form.
    public var channelVersions: [String: String]
    /// The values of the channels that changed: (channel, version, value).
    public var values: [(channel: String, version: String, value: ChannelValueInput)]

    public init(
        threadID: String,
        namespace: String,
        checkpointID: String,
        parentID: String?,
        checkpoint: TypedBytes,
        metadata: [String: JSONValue],
        channelVersions: [String: String],
        values: [(channel: String, version: String, value: ChannelValueInput)]
    ) {
        self.threadID = threadID
        self.namespace = namespace
        self.checkpointID = checkpointID
        self.parentID = parentID
        self.checkpoint = checkpoint
        self.metadata = metadata
        self.channelVersions = channelVersions
        self.values = values
    }
}

/// `putCheckpoint`'s result.
public struct PutCheckpointResult: Sendable, Hashable {
    /// The log sequence of the checkpoint's record.
    public var sequence: UInt64
    /// For each message-list channel: the session versions of its messages, in list order.
    public var messageVersions: [String: [UInt64]]
}

/// A stored channel value.
public enum ChannelValue: Sendable {
    case bytes(TypedBytes)
    /// The messages with their session versions, in list order; the message is nil for a version
    /// the reader said it holds (see ``ConversationService/checkpoint(threadID:namespace:checkpointID:knownMessageVersions:)``).
    case messages([(version: UInt64, message: MessageAdded?)])
}

/// A stored pending write, with the task that made it.
public struct StoredWrite: Sendable, Hashable {
    public var taskID: String
    public var taskPath: String
    public var write: PendingWrite
}

/// A checkpoint as stored, with its channel values and pending writes (a LangGraph `CheckpointTuple`).
public struct StoredCheckpoint: Sendable {
    public var threadID: String
    public var namespace: String
    public var checkpointID: String
    public var parentID: String?
    public var checkpoint: TypedBytes
    public var metadata: [String: JSONValue]
    /// The values of the channels in its versions, by channel.
    public var values: [String: (version: String, value: ChannelValue)]
    /// Sorted by task path, task id, index.
    public var pendingWrites: [StoredWrite]
    /// The log sequence of its record.
    public var sequence: UInt64
}

/// What `prune` keeps of each namespace of a thread.
public enum PruneStrategy: String, Sendable, CaseIterable {
    /// The newest checkpoint of each namespace (and its pending writes).
    case keepLatest = "keep_latest"
    /// Nothing.
    case delete
}
