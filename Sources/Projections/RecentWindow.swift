import EventLog

/// A message as the window projection keeps it.
public struct WindowMessage: Sendable, Hashable {
    /// The message's global sequence.
    public var sequence: UInt64
    /// Its version within the session.
    public var sessionVersion: UInt64
    /// UTC ms.
    public var timestamp: Int64
    /// The message itself.
    public var message: MessageAdded

    public init(sequence: UInt64, sessionVersion: UInt64, timestamp: Int64, message: MessageAdded) {
        self.sequence = sequence
        self.sessionVersion = sessionVersion
        self.timestamp = timestamp
        self.message = message
    }

    /// The window entry for `record`, or nil when it is not a message.
    public init?(_ record: RecordedEvent) {
        guard case .messageAdded(let message) = record.event else { return nil }
        self.init(sequence: record.sequence, sessionVersion: record.sessionVersion, timestamp: record.timestamp, message: message)
    }
}

/// The last messages of one session, oldest first, at most ``capacity``.
public struct RecentWindow: Sendable, Hashable {
    /// The most messages kept.
    public let capacity: Int
    /// The messages, oldest first.
    public private(set) var messages: [WindowMessage] = []
    /// How many messages the session had in all: the ordinal of the newest one.
    public private(set) var totalMessages: UInt64 = 0

    /// The default number of messages kept per session.
    public static let defaultCapacity = 50

    public init(capacity: Int) {
        precondition(capacity >= 1, "a window keeps at least one message")
        self.capacity = capacity
    }

    /// The fold: the window after `record`. Messages enter at the end; beyond ``capacity`` the
    /// oldest leaves. A ``SessionDeleted`` empties it. Other events leave the window as it is.
    public func folding(_ record: RecordedEvent) -> RecentWindow {
        var next = self
        next.fold(record)
        return next
    }

    /// The fold, in place (what ``folding(_:)`` does to a copy).
    public mutating func fold(_ record: RecordedEvent) {
        if case .sessionDeleted = record.event {
            messages = []
            totalMessages = 0
        }
        guard let entry = WindowMessage(record) else { return }
        messages.append(entry)
        totalMessages += 1
        if messages.count > capacity { messages.removeFirst(messages.count - capacity) }
    }

    /// The ordinal (1-based, over the whole session) of each message kept, oldest first.
    public var ordinals: ClosedRange<UInt64>? {
        messages.isEmpty ? nil : (totalMessages - UInt64(messages.count) + 1)...totalMessages
    }
}
