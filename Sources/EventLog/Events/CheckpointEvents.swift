import JSON

// LangGraph checkpoints, stored in the same log as conversations. A LangGraph thread is a
// session: its checkpoint events are appended to the session whose id is the thread id.
// Values are opaque bytes from the client's serializer; convlog never decodes them.

/// A value as the client's serializer produced it: its type tag (such as `msgpack` or `json`) and its bytes.
public struct TypedBytes: Sendable, Hashable {
    public var type: String
    public var bytes: [UInt8]

    public init(type: String, bytes: [UInt8]) {
        self.type = type
        self.bytes = bytes
    }
}

/// The value of one channel at one version, stored with the checkpoint that changed it.
public struct ChannelBlob: Sendable, Hashable {
    /// How the value is stored.
    public enum Value: Sendable, Hashable {
        /// Opaque client bytes.
        case bytes(TypedBytes)
        /// A list of chat messages, each stored once in the thread's session as a ``MessageAdded``
        /// event: the session versions of those events, in list order. This keeps a chat of N
        /// messages at O(N) bytes, where storing the whole list at every step costs O(N²).
        case messages(versions: [UInt64])
    }

    public var channel: String
    /// The channel's version, as the client's text form of it.
    public var version: String
    public var value: Value

    public init(channel: String, version: String, value: Value) {
        self.channel = channel
        self.version = version
        self.value = value
    }
}

/// A checkpoint of a LangGraph thread, with the values of the channels it changed: one record, so
/// a checkpoint is never stored without its values.
public struct CheckpointPut: Sendable, Hashable {
    /// The checkpoint namespace (`""` for the root graph, `"node:task"` paths for subgraphs).
    public var namespace: String
    public var checkpointID: String
    /// The checkpoint it follows in its namespace, if any.
    public var parentID: String?
    /// The checkpoint itself, without its channel values, as the client serialized it.
    public var checkpoint: TypedBytes
    /// The checkpoint's metadata (filterable by equality of top-level members).
    public var metadata: [String: JSONValue]
    /// The version of every channel the checkpoint holds, in text form: the keys to its values.
    public var channelVersions: [String: String]
    /// The values of the channels this checkpoint changed (LangGraph's `new_versions`).
    public var blobs: [ChannelBlob]

    public init(
        namespace: String,
        checkpointID: String,
        parentID: String?,
        checkpoint: TypedBytes,
        metadata: [String: JSONValue],
        channelVersions: [String: String],
        blobs: [ChannelBlob]
    ) {
        self.namespace = namespace
        self.checkpointID = checkpointID
        self.parentID = parentID
        self.checkpoint = checkpoint
        self.metadata = metadata
        self.channelVersions = channelVersions
        self.blobs = blobs
    }
}

/// One write of a task, pending until its checkpoint's successor is stored.
public struct PendingWrite: Sendable, Hashable {
    /// Its index among the task's writes; the special channels use LangGraph's negative indices
    /// (`__error__` -1, `__scheduled__` -2, `__interrupt__` -3, `__resume__` -4).
    public var index: Int64
    public var channel: String
    public var value: TypedBytes

    public init(index: Int64, channel: String, value: TypedBytes) {
        self.index = index
        self.channel = channel
        self.value = value
    }
}

/// Writes of one task against one checkpoint (which may not be stored yet). A write whose
/// (checkpoint, task, index) is already stored is kept as it was, unless its index is negative
/// (a special channel): then the newer one replaces it.
public struct WritesPut: Sendable, Hashable {
    public var namespace: String
    public var checkpointID: String
    public var taskID: String
    public var taskPath: String
    public var writes: [PendingWrite]

    public init(namespace: String, checkpointID: String, taskID: String, taskPath: String, writes: [PendingWrite]) {
        self.namespace = namespace
        self.checkpointID = checkpointID
        self.taskID = taskID
        self.taskPath = taskPath
        self.writes = writes
    }
}

/// A checkpoint's place: its namespace and id within its thread.
public struct CheckpointKey: Sendable, Hashable {
    public var namespace: String
    public var checkpointID: String

    public init(namespace: String, checkpointID: String) {
        self.namespace = namespace
        self.checkpointID = checkpointID
    }
}

/// These checkpoints of the thread, and their pending writes, were removed (pruning, deleting runs).
public struct CheckpointsRemoved: Sendable, Hashable {
    public var checkpoints: [CheckpointKey]

    public init(checkpoints: [CheckpointKey]) { self.checkpoints = checkpoints }
}
