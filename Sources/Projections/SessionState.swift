import EventLog
import JSON

/// What is known of a session: the `sessions` projection's row, folded from the session's events.
public struct SessionState: Sendable, Hashable {
    public var sessionID: String
    /// When the session began (its first event), UTC ms.
    public var createdAt: Int64
    /// When its last event was stored, UTC ms.
    public var lastUpdated: Int64
    public var userID: String?
    /// Metadata given at creation.
    public var metadata: [String: JSONValue]
    /// Messages added so far.
    public var messageCount: UInt64
    /// The session's version: the number of its events.
    public var version: UInt64
    /// The global sequence of its last event.
    public var lastSequence: UInt64
    /// The context object, as merged from every `ContextUpdated`.
    public var context: [String: JSONValue]

    public init(
        sessionID: String,
        createdAt: Int64,
        lastUpdated: Int64,
        userID: String? = nil,
        metadata: [String: JSONValue] = [:],
        messageCount: UInt64 = 0,
        version: UInt64 = 0,
        lastSequence: UInt64 = 0,
        context: [String: JSONValue] = [:]
    ) {
        self.sessionID = sessionID
        self.createdAt = createdAt
        self.lastUpdated = lastUpdated
        self.userID = userID
        self.metadata = metadata
        self.messageCount = messageCount
        self.version = version
        self.lastSequence = lastSequence
        self.context = context
    }

    /// The fold: the state after `record`, given the state before it (nil before the first event).
    ///
    /// - `SessionCreated` sets user id, metadata and creation time (a repeated one changes nothing else);
    /// - `MessageAdded` counts the message;
    /// - `ContextUpdated` merges its changes into the context, a `null` value removing its key;
    /// - a checkpoint event, or an event type this build does not know, only advances ``version`` and ``lastUpdated``.
    ///
    /// A session whose first event is not `SessionCreated` starts with no user and no metadata.
    public static func folding(_ state: SessionState?, _ record: RecordedEvent) -> SessionState {
        var next = state
        fold(record, into: &next)
        return next!
    }

    /// ``folding(_:_:)`` in place: `state` is never nil after it.
    static func fold(_ record: RecordedEvent, into state: inout SessionState?) {
        guard state != nil else {
            var first = SessionState(sessionID: record.sessionID, createdAt: record.timestamp, lastUpdated: record.timestamp)
            if case .sessionCreated(let created) = record.event {
                first.userID = created.userID
                first.metadata = created.metadata
            }
            state = first
            return fold(record, into: &state)
        }
        state!.version = record.sessionVersion
        state!.lastSequence = record.sequence
        state!.lastUpdated = record.timestamp
        switch record.event {
        case .messageAdded:
            state!.messageCount += 1
        case .contextUpdated(let update):
            for (key, value) in update.changes {
                if value == .null {
                    state!.context.removeValue(forKey: key)
                } else {
                    state!.context[key] = value
                }
            }
        case .sessionCreated, .checkpointPut, .writesPut, .checkpointsRemoved, .sessionDeleted, .retentionSet, .unrecognized, .erased:
            break
        }
    }

    /// The state after `record`, or nil when it deleted the session (``SessionDeleted``) or was
    /// erased (an event of a deleted session: nothing of that past is shown). The projections'
    /// fold. The next event after a deletion starts the session afresh.
    public static func next(_ state: SessionState?, _ record: RecordedEvent) -> SessionState? {
        switch record.event {
        case .sessionDeleted, .erased: nil
        default: folding(state, record)
        }
    }

    /// Whether folding `event` into an existing state changes only its counters and positions
    /// (``version``, ``lastSequence``, ``lastUpdated``, ``messageCount``): true for a message, a
    /// checkpoint event and an event type this build does not know.
    public static func changesOnlyCounters(_ event: Event) -> Bool {
        switch event {
        case .messageAdded, .checkpointPut, .writesPut, .checkpointsRemoved, .retentionSet, .unrecognized, .erased: true
        case .sessionDeleted: false
        case .sessionCreated, .contextUpdated: false
        }
    }
}
