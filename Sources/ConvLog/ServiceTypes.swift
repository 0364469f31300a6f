import EventLog
import Projections
import JSON

/// Limits on what one call may carry. Every limit is in bytes of UTF-8 (JSON in canonical form).
public struct ServiceLimits: Sendable {
    /// A message's content.
    public var maxContentBytes = 256 << 10
    /// A metadata object.
    public var maxMetadataBytes = 16 << 10
    /// A context change, and the whole context after it.
    public var maxContextBytes = 64 << 10
    /// A follow-up query.
    public var maxQueryBytes = 8 << 10
    /// The opaque bytes of one `putCheckpoint` (checkpoint and values) or `putWrites`.
    public var maxCheckpointBytes = 8 << 20
    /// Items one `listSessions` or `readEvents` call returns.
    public var maxPageSize = 1_000
    /// What a live subscription holds for a reader that does not keep up before it is ended as
    /// too slow (it may subscribe again from where it stopped).
    public var subscriberBound = LogSubscription.Bound()

    public init() {}
}

/// `create`'s parameters.
public struct CreateSessionRequest: Sendable {
    /// The id to use; nil: the service makes a UUID.
    public var sessionID: String?
    public var userID: String?
    public var metadata: [String: JSONValue] = [:]
    /// The initial context, stored as a first `ContextUpdated` (source client).
    public var context: [String: JSONValue]?
    /// The session expires this long after its last write (a ``RetentionSet``); nil: the
    /// daemon's default retention applies.
    public var ttlSeconds: Int64?

    public init(
        sessionID: String? = nil,
        userID: String? = nil,
        metadata: [String: JSONValue] = [:],
        context: [String: JSONValue]? = nil,
        ttlSeconds: Int64? = nil
    ) {
        self.sessionID = sessionID
        self.userID = userID
        self.metadata = metadata
        self.context = context
        self.ttlSeconds = ttlSeconds
    }
}

/// How long sessions live without a write.
public struct RetentionPolicy: Sendable, Hashable {
    /// The time to live of sessions created without their own; nil: they never expire.
    public var defaultTTLSeconds: UInt64?

    /// The longest time to live accepted: 100 years.
    public static let maximumTTLSeconds: Int64 = 100 * 365 * 86_400

    public init(defaultTTLSeconds: UInt64? = nil) { self.defaultTTLSeconds = defaultTTLSeconds }
}

/// `create`'s result.
public struct CreatedSession: Sendable, Hashable {
    public var sessionID: String
    /// UTC ms.
    public var createdAt: Int64
    public var version: UInt64
}

/// `add`'s parameters.
public struct AddMessageRequest: Sendable {
    public var sessionID: String
    public var role: MessageRole
    public var content: MessageContent
    public var metadata: [String: JSONValue] = [:]
    /// The client's id for the message (makes retries idempotent); nil: the service makes a UUID.
    public var messageID: String?
    /// The session version the client expects before this message.
    public var expectedVersion: UInt64?
    /// Create the session when it does not exist, instead of failing with session-not-found.
    public var createIfMissing = false

    public init(
        sessionID: String,
        role: MessageRole,
        content: MessageContent,
        metadata: [String: JSONValue] = [:],
        messageID: String? = nil,
        expectedVersion: UInt64? = nil,
        createIfMissing: Bool = false
    ) {
        self.sessionID = sessionID
        self.role = role
        self.content = content
        self.metadata = metadata
        self.messageID = messageID
        self.expectedVersion = expectedVersion
        self.createIfMissing = createIfMissing
    }
}

/// `add`'s result.
public struct AddedMessage: Sendable, Hashable {
    public var sessionID: String
    public var messageID: String
    /// The session's version after this call (the message, and the analyzer's topic update if any).
    public var version: UInt64
    /// The message's global sequence.
    public var sequence: UInt64
    /// UTC ms.
    public var timestamp: Int64
    /// True when the message id was already stored: this is the original message's position.
    public var duplicate: Bool
}

/// `getContext`'s result.
public struct SessionContext: Sendable, Hashable {
    public var sessionID: String
    /// The messages, oldest first.
    public var messages: [WindowMessage]
    public var context: [String: JSONValue]
    public var version: UInt64

    public init(sessionID: String, messages: [WindowMessage], context: [String: JSONValue], version: UInt64) {
        self.sessionID = sessionID
        self.messages = messages
        self.context = context
        self.version = version
    }
}

/// A page of the log, for `readEvents`.
public struct EventPage: Sendable {
    public var events: [RecordedEvent]
    /// The sequence to ask for next; nil when the log has nothing after this page.
    public var nextSequence: UInt64?
}

/// What `stats` reports.
public struct ServiceStats: Sendable, Hashable {
    public var events: Int
    /// Live sessions (not deleted, or started again since).
    public var sessions: Int
    /// Sessions deleted (and not started again).
    public var deletedSessions: Int
    public var head: ChainHead
    public var mapSize: Int
    /// Bytes of free pages in the data file (reused, or removed by `convlog compact`).
    public var reclaimableBytes: Int
    /// Deleted sessions whose records are not all erased yet.
    public var pendingErasures: Int
    public var windowCapacity: Int
    /// Live-tail subscriptions open now.
    public var subscriptions: Int
}
