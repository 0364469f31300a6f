/// An ``AppendRequest`` checked against the log's rules and with its payloads already encoded,
/// so the writer thread only stamps positions and hashes.
struct PreparedAppend: Sendable {
    struct Entry: Sendable {
        let event: Event
        let type: String
        let payload: [UInt8]
        /// Set for ``MessageAdded``: the id that makes retries idempotent.
        let messageID: String?
    }

    struct Stream: Sendable {
        let sessionID: String
        let expectedVersion: UInt64?
        let entries: [Entry]
        /// What to do when the session has no event yet; for `create`, the entries to put first.
        let whenMissing: WhenMissing
    }

    /// ``AppendRequest/WhenMissing`` with its creation events encoded.
    enum WhenMissing: Sendable {
        case append
        case refuse
        case create([Entry])
    }

    let streams: [Stream]
    let precondition: (any AppendPrecondition)?
    let answersStoredMessageIDsAsRetry: Bool
    /// Payload bytes in all, to bound the size of a group commit.
    let byteCount: Int

    /// Whether it deletes a session (a commit of it starts erasures, which the writer runs).
    var deletesSession: Bool {
        streams.contains { stream in
            stream.entries.contains { if case .sessionDeleted = $0.event { true } else { false } }
        }
    }

    /// The most bytes of an identifier (session id, message id) in the log; LMDB keys hold at most 511.
    static let maximumIdentifierBytes = 255

    init(_ request: AppendRequest) throws(EventStoreError) {
        guard !request.streams.isEmpty else { throw EventStoreError(.invalidAppend, "the request has no events") }
        var sessions = Set<String>()
        var streams: [Stream] = []
        var byteCount = 0
        for stream in request.streams {
            try Self.checkIdentifier(stream.sessionID, field: "sessionId")
            guard sessions.insert(stream.sessionID).inserted else {
                throw EventStoreError(.invalidAppend, "session \(stream.sessionID) appears twice in one request")
            }
            guard !stream.events.isEmpty else {
                throw EventStoreError(.invalidAppend, "no events for session \(stream.sessionID)", sessionID: stream.sessionID)
            }
            var messageIDs = Set<String>()
            let entries = try stream.events.map { event throws(EventStoreError) in try Self.entry(event, messageIDs: &messageIDs, byteCount: &byteCount) }
            let whenMissing: WhenMissing
            switch stream.whenMissing {
            case .append: whenMissing = .append
            case .refuse: whenMissing = .refuse
            case .create(let events):
                whenMissing = .create(try events.map { event throws(EventStoreError) in try Self.entry(event, messageIDs: &messageIDs, byteCount: &byteCount) })
            }
            streams.append(Stream(sessionID: stream.sessionID, expectedVersion: stream.expectedVersion, entries: entries, whenMissing: whenMissing))
        }
        self.streams = streams
        self.byteCount = byteCount
        precondition = request.precondition
        answersStoredMessageIDsAsRetry = request.answersStoredMessageIDsAsRetry
    }

    /// Checks and encodes one event; `messageIDs` collects the request's message ids (each may
    /// appear once) and `byteCount` its payload bytes.
    private static func entry(_ event: Event, messageIDs: inout Set<String>, byteCount: inout Int) throws(EventStoreError) -> Entry {
        var messageID: String?
        if case .erased = event { throw EventStoreError(.invalidAppend, "an erased event cannot be appended") }
        if case .messageAdded(let message) = event {
            try checkIdentifier(message.messageID, field: "messageId")
            guard messageIDs.insert(message.messageID).inserted else {
                throw EventStoreError(.invalidAppend, "message id \(message.messageID) appears twice in one request")
            }
            messageID = message.messageID
        }
        let type = event.typeName
        guard (1...255).contains(type.utf8.count), type.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw EventStoreError(.invalidAppend, "event type names are 1–255 printable ASCII characters")
        }
        let payload = EventCodec.encodePayload(event)
        guard payload.count <= UInt32.max else { throw EventStoreError(.invalidAppend, "an event payload exceeds 4 GiB") }
        byteCount += payload.count
        return Entry(event: event, type: type, payload: payload, messageID: messageID)
    }

    private static func checkIdentifier(_ identifier: String, field: String) throws(EventStoreError) {
        let count = identifier.utf8.count
        guard count >= 1, count <= maximumIdentifierBytes, !identifier.utf8.contains(where: { $0 < 0x20 }) else {
            throw EventStoreError(.invalidAppend, "\(field) must be 1–\(maximumIdentifierBytes) bytes without control characters")
        }
    }
}
