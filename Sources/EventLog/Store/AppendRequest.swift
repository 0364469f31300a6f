/// Events to append atomically: all of them are stored, or none.
///
/// A request may span several sessions (streams). Each stream may state the version it expects the
/// session to be at; when any expectation fails, nothing of the request is written and
/// ``EventStoreError/Code/versionConflict`` is thrown.
///
/// **Idempotency.** When a ``MessageAdded`` of the request carries a message id already stored in
/// its session, the request is a retry: nothing is written, and the result lists the original
/// events with ``AppendResult/isDuplicate`` set. This check comes before the version check, so a
/// retry after a lost answer succeeds even though the session has moved on.
public struct AppendRequest: Sendable {
    /// The events for one session.
    public struct Stream: Sendable {
        public var sessionID: String
        /// The session's version before this append (0: the session must not exist yet); nil: any.
        /// Checked only when the session exists or ``whenMissing`` is ``WhenMissing/append``.
        public var expectedVersion: UInt64?
        /// What to do when the session has no event yet. The writer decides, inside the commit,
        /// so the caller needs no read of its own (and no retry when a creation races).
        public var whenMissing: WhenMissing
        public var events: [Event]

        public init(sessionID: String, expectedVersion: UInt64? = nil, whenMissing: WhenMissing = .append, events: [Event]) {
            self.sessionID = sessionID
            self.expectedVersion = expectedVersion
            self.whenMissing = whenMissing
            self.events = events
        }
    }

    /// What an append does to a session that has no event yet.
    public enum WhenMissing: Sendable {
        /// Appends the events as they are (``expectedVersion`` still applies).
        case append
        /// Refuses with ``EventStoreError/Code/sessionNotFound``; nothing is written.
        case refuse
        /// Appends these events first (typically a ``SessionCreated``), then the request's;
        /// ``expectedVersion`` is not checked.
        case create(with: [Event])
    }

    public var streams: [Stream]
    /// Checked inside the commit before anything else; its refusal fails the request and nothing is written.
    public var precondition: (any AppendPrecondition)?
    /// Whether a request whose message ids are already stored is a retry, answered with the
    /// original positions (the default). A caller that pins every stream with an expected version
    /// read together with the stored message ids sets false: its ids are known to be new.
    public var answersStoredMessageIDsAsRetry = true

    public init(streams: [Stream], precondition: (any AppendPrecondition)? = nil) {
        self.streams = streams
        self.precondition = precondition
    }

    /// A request for one session.
    public init(
        sessionID: String,
        expectedVersion: UInt64? = nil,
        whenMissing: WhenMissing = .append,
        events: [Event],
        precondition: (any AppendPrecondition)? = nil
    ) {
        self.streams = [Stream(sessionID: sessionID, expectedVersion: expectedVersion, whenMissing: whenMissing, events: events)]
        self.precondition = precondition
    }
}

/// A rule an append must satisfy at commit time, checked by the writer inside the commit's
/// transaction: it sees every earlier append of the same commit, and the projections that apply
/// on commit (``LogProjector/appliesOnCommit``) are up to date in it.
public protocol AppendPrecondition: Sendable {
    /// Nil when the append may proceed, else why not (typically ``EventStoreError/Code/preconditionFailed``).
    func refusal(in txn: borrowing LMDBTransaction) throws -> EventStoreError?
}

/// Where an event is stored.
public struct EventPosition: Sendable, Hashable {
    /// The global sequence.
    public var sequence: UInt64
    public var sessionID: String
    /// The version of the session after this event.
    public var sessionVersion: UInt64
    /// UTC milliseconds.
    public var timestamp: Int64
}

/// The outcome of an append.
public struct AppendResult: Sendable, Hashable {
    /// The positions of the appended events, in request order; for a duplicate, the original
    /// positions of the messages that were already stored.
    public var positions: [EventPosition]
    /// True when the request repeated already stored message ids and nothing was written.
    public var isDuplicate: Bool
}

/// A failed append or open, with a code callers can switch on.
public struct EventStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A stream's expected version did not match; nothing was written.
        public static let versionConflict = Code("versionConflict")
        /// The request breaks a rule of the log (empty, a field too long, a repeated session…).
        public static let invalidAppend = Code("invalidAppend")
        /// The map reached its maximum size.
        public static let storageFull = Code("storageFull")
        /// The store was closed.
        public static let closed = Code("closed")
        /// The session has no event and the request asked to refuse (``AppendRequest/WhenMissing/refuse``).
        public static let sessionNotFound = Code("sessionNotFound")
        /// The request's ``AppendRequest/precondition`` refused it; nothing was written.
        public static let preconditionFailed = Code("preconditionFailed")
        /// The directory holds no convlog event log (or something else).
        public static let notAnEventLog = Code("notAnEventLog")
        /// The log was written by a newer convlog.
        public static let unsupportedFormat = Code("unsupportedFormat")
        /// The shared log (``SharedLog``) could not be reached or refused the commit; nothing of
        /// the append was written, unless the message says the outcome is unknown.
        public static let sharedLogUnavailable = Code("sharedLogUnavailable")
        /// The local directory is not a mirror of the shared log (it holds records the shared log
        /// does not, or other ones): remove it and it is rebuilt from the shared log.
        public static let notAMirror = Code("notAMirror")
    }

    public var code: Code
    public var message: String
    /// The session concerned, when one is.
    public var sessionID: String?
    /// For ``Code/versionConflict``: the version the request expected.
    public var expectedVersion: UInt64?
    /// For ``Code/versionConflict``: the session's actual version.
    public var actualVersion: UInt64?

    public init(_ code: Code, _ message: String, sessionID: String? = nil) {
        self.code = code
        self.message = message
        self.sessionID = sessionID
    }

    static func conflict(sessionID: String, expected: UInt64, actual: UInt64) -> EventStoreError {
        var error = EventStoreError(
            .versionConflict,
            "session \(sessionID) is at version \(actual), not the expected \(expected)",
            sessionID: sessionID
        )
        error.expectedVersion = expected
        error.actualVersion = actual
        return error
    }

    public var description: String { "\(code): \(message)" }
}
