import EventLog
import Foundation
import Projections
import JSON

/// The operations convlog offers, over the event log and its projections.
///
/// It validates input, turns calls into events, and answers from the projections. It knows
/// nothing of JSON-RPC: the RPC front maps its requests, results and ``ConvLogError``s.
///
/// ```swift
/// let service = ConversationService(views: try ConversationViews.open(directory: dataDir))
/// let session = try await service.create(CreateSessionRequest(userID: "u1"))
/// _ = try await service.add(AddMessageRequest(sessionID: session.sessionID, role: .user, content: .text("Hi")))
/// let context = try service.context(of: session.sessionID, window: 5)
/// ```
public final class ConversationService: Sendable {
    /// The log and its read models.
    public let views: ConversationViews
    public let limits: ServiceLimits
    /// Follow-up analysis and topic tracking.
    public let followUp: FollowUpSettings

    /// Which sessions expire, and when.
    public let retention: RetentionPolicy

    public init(
        views: ConversationViews,
        limits: ServiceLimits = ServiceLimits(),
        followUp: FollowUpSettings = FollowUpSettings(),
        retention: RetentionPolicy = RetentionPolicy()
    ) {
        self.views = views
        self.limits = limits
        self.followUp = followUp
        self.retention = retention
    }

    // MARK: Writes

    /// Starts a session.
    /// - Throws: ``ConvLogError`` `invalidParams`, `payloadTooLarge`, `sessionExists`.
    public func create(_ request: CreateSessionRequest) async throws -> CreatedSession {
        let sessionID = try request.sessionID.map { try Validation.sessionID($0) } ?? UUID().uuidString.lowercased()
        if let userID = request.userID { try Validation.identifier(userID, field: "userId") }
        try Validation.size(of: .object(request.metadata), field: "metadata", limit: limits.maxMetadataBytes)
        var events: [Event] = [.sessionCreated(SessionCreated(userID: request.userID, metadata: request.metadata))]
        if let ttl = request.ttlSeconds {
            guard (1...RetentionPolicy.maximumTTLSeconds).contains(ttl) else {
                throw ConvLogError.invalid("ttlSeconds", "must be 1–\(RetentionPolicy.maximumTTLSeconds) seconds")
            }
            events.append(.retentionSet(RetentionSet(ttlSeconds: UInt64(ttl))))
        }
        if let context = request.context, !context.isEmpty {
            try Validation.size(of: .object(context), field: "context", limit: limits.maxContextBytes)
            events.append(.contextUpdated(ContextUpdated(changes: context, source: .client)))
        }
        do {
            let result = try await append(AppendRequest(sessionID: sessionID, expectedVersion: 0, events: events))
            return CreatedSession(sessionID: sessionID, createdAt: result.positions[0].timestamp, version: result.positions.last!.sessionVersion)
        } catch let error as ConvLogError where error.code == .versionConflict {
            throw ConvLogError(.sessionExists, "session \(sessionID) already exists", field: "sessionId")
        }
    }

    /// Adds a message. A retry with the same `messageID` returns the first result (`duplicate: true`).
    /// - Throws: ``ConvLogError`` `invalidParams`, `payloadTooLarge`, `sessionNotFound`, `versionConflict`.
    public func add(_ request: AddMessageRequest) async throws -> AddedMessage {
        try await withCheckedThrowingContinuation { continuation in
            add(request) { continuation.resume(with: $0) }
        }
    }

    /// Adds a message and calls `completion` once it is durable, with the errors of ``add(_:)``.
    ///
    /// The acknowledgement path does only what durability needs: validate, encode, append. The
    /// writer decides whether the session exists (and creates it with `createIfMissing`) inside
    /// the commit, so nothing is read here; `completion` runs on the writer thread (or at once,
    /// on the caller's, for invalid input) and must return quickly.
    public func add(_ request: AddMessageRequest, completion: @escaping @Sendable (Result<AddedMessage, any Error>) -> Void) {
        let append: AppendRequest
        let messageID: String
        do {
            let sessionID = try Validation.sessionID(request.sessionID)
            messageID = try request.messageID.map { try Validation.identifier($0, field: "messageId") } ?? UUID().uuidString.lowercased()
            switch request.content {
            case .text(let text):
                guard text.utf8.count <= limits.maxContentBytes else { throw ConvLogError.tooLarge("content", limit: limits.maxContentBytes) }
            case .json(let value):
                try Validation.size(of: value, field: "content", limit: limits.maxContentBytes)
            }
            try Validation.size(of: .object(request.metadata), field: "metadata", limit: limits.maxMetadataBytes)
            let message = MessageAdded(messageID: messageID, role: request.role, content: request.content, metadata: request.metadata)
            append = AppendRequest(
                sessionID: sessionID,
                expectedVersion: request.expectedVersion,
                whenMissing: request.createIfMissing ? .create(with: [.sessionCreated(SessionCreated())]) : .refuse,
                events: [.messageAdded(message)]
            )
        } catch {
            completion(.failure(error))
            return
        }
        views.store.append(append) { outcome in
            completion(
                outcome
                    .map { result in
                        // The message is the last event written (after a creation), or the one found for a retry.
                        let position = result.positions.last!
                        return AddedMessage(
                            sessionID: position.sessionID,
                            messageID: messageID,
                            version: position.sessionVersion,
                            sequence: position.sequence,
                            timestamp: position.timestamp,
                            duplicate: result.isDuplicate
                        )
                    }
                    .mapError(Self.serviceError)
            )
        }
    }

    /// Deletes a session: it disappears from every read (`getContext`, `getSession`,
    /// `listSessions`, `analyzeFollowUp` answer not found), its message ids are free again, and
    /// the payloads of its earlier events are erased from the log. The deletion is itself an event
    /// (``SessionDeleted``, with `reason`), kept in the log. A later `add` with `createIfMissing`
    /// (or a LangGraph checkpoint) starts the session afresh.
    /// - Returns: the session's version after the deletion.
    /// - Throws: ``ConvLogError`` `invalidParams`, `sessionNotFound` (unknown, or already deleted).
    @discardableResult
    public func deleteSession(_ sessionID: String, reason: String? = nil) async throws -> UInt64 {
        try await deleteSession(sessionID, reason: reason, expectedVersion: nil)
    }

    /// ``deleteSession(_:reason:)``, refused with `versionConflict` unless the session is at `expectedVersion`.
    func deleteSession(_ sessionID: String, reason: String?, expectedVersion: UInt64?) async throws -> UInt64 {
        let sessionID = try Validation.sessionID(sessionID)
        if let reason { try CheckpointValidation.name(reason, field: "reason", limit: 1024) }
        // A LangGraph thread is fenced at its newest checkpoint; the precondition keeps that exact.
        for _ in 0..<Self.maximumPutAttempts {
            let fence = try views.store.environment.read { txn in try views.checkpoints.newestCheckpointID(thread: sessionID, txn: txn) }
            let deletion = AppendRequest(
                sessionID: sessionID,
                expectedVersion: expectedVersion,
                whenMissing: .refuse,
                events: [.sessionDeleted(SessionDeleted(reason: reason, fence: fence))],
                precondition: views.checkpoints.newestCheckpointUnchanged(thread: sessionID, expected: fence)
            )
            do {
                return try await views.store.append(deletion).positions[0].sessionVersion
            } catch let error as EventStoreError where error.code == .preconditionFailed {
                continue  // a checkpoint landed meanwhile: read the fence again
            } catch {
                throw Self.serviceError(error)
            }
        }
        throw ConvLogError(.versionConflict, "session \(sessionID) kept changing while it was being deleted; retry", field: "sessionId")
    }

    /// When the session expires (UTC ms): its last write plus its own TTL, else the default
    /// retention's; nil when it never expires.
    public func expiry(of state: SessionState) throws -> Int64? {
        guard let ttl = try views.ttlSeconds(of: state.sessionID) ?? retention.defaultTTLSeconds else { return nil }
        return state.lastUpdated &+ Int64(clamping: ttl) &* 1_000
    }

    /// Deletes up to `limit` expired sessions (reason `expired`): those whose last write is older
    /// than their TTL (or the default retention) at `now` (UTC ms). A session written to since it
    /// was found is left alone (the deletion expects the version it was checked at).
    /// - Returns: how many sessions were deleted.
    public func sweepExpired(now: Int64, limit: Int = 100) async throws -> Int {
        let candidates = try views.expiryCandidates(now: now, defaultRetentionSeconds: retention.defaultTTLSeconds, limit: limit)
        var deleted = 0
        for sessionID in Set(candidates).sorted() {
            guard let state = try views.session(sessionID), let expiresAt = try expiry(of: state), expiresAt < now else { continue }
            do {
                _ = try await deleteSession(sessionID, reason: "expired", expectedVersion: state.version)
                deleted += 1
            } catch let error as ConvLogError where error.code == .versionConflict || error.code == .sessionNotFound {
                continue  // written to (or deleted) meanwhile
            }
        }
        return deleted
    }

    /// Merges `changes` into the session's context (a `null` value removes its key).
    /// - Returns: the session's version after the change, and its whole context.
    /// - Throws: ``ConvLogError`` `invalidParams`, `payloadTooLarge`, `sessionNotFound`, `versionConflict`.
    public func updateContext(
        of sessionID: String,
        changes: [String: JSONValue],
        expectedVersion: UInt64? = nil
    ) async throws -> (version: UInt64, context: [String: JSONValue]) {
        let sessionID = try Validation.sessionID(sessionID)
        guard !changes.isEmpty else { throw ConvLogError.invalid("changes", "must not be empty") }
        try Validation.size(of: .object(changes), field: "changes", limit: limits.maxContextBytes)
        guard let state = try views.session(sessionID) else { throw try notFound(sessionID) }
        var merged = state.context
        for (key, value) in changes { merged[key] = value == .null ? nil : value }
        try Validation.size(of: .object(merged), field: "changes", limit: limits.maxContextBytes)
        let update = Event.contextUpdated(ContextUpdated(changes: changes, source: .client))
        let result = try await append(AppendRequest(sessionID: sessionID, expectedVersion: expectedVersion, events: [update]))
        let after = try views.session(sessionID)
        return (result.positions[0].sessionVersion, after?.context ?? merged)
    }

    // MARK: Reads

    /// The session's state.
    /// - Throws: ``ConvLogError`` `sessionNotFound`.
    public func session(_ sessionID: String) throws -> SessionState {
        let sessionID = try Validation.sessionID(sessionID)
        guard let state = try views.session(sessionID) else { throw try notFound(sessionID) }
        return state
    }

    /// The last `window` messages and the context of a session, now or as of a global sequence.
    ///
    /// With `maxTokens`, only the most recent messages whose estimated tokens fit are kept (see
    /// ``TokenEstimate``). Without `asOf`, `window` is capped at the window projection's capacity.
    /// - Throws: ``ConvLogError`` `invalidParams`, `sessionNotFound`.
    public func context(of sessionID: String, window: Int, maxTokens: Int? = nil, asOf: UInt64? = nil) throws -> SessionContext {
        let sessionID = try Validation.sessionID(sessionID)
        guard window >= 0 else { throw ConvLogError.invalid("window", "must be 0 or more") }
        if let maxTokens, maxTokens < 0 { throw ConvLogError.invalid("maxTokens", "must be 0 or more") }
        let state: SessionState
        var messages: [WindowMessage]
        if let asOf {
            guard let past = try views.session(sessionID, asOf: asOf) else { throw try notFound(sessionID) }
            state = past
            messages = try views.messages(of: sessionID, count: min(window, limits.maxPageSize), asOf: asOf)
        } else {
            guard let current = try views.context(of: sessionID, window: window) else { throw try notFound(sessionID) }
            state = current.state
            messages = current.messages
        }
        if let maxTokens { messages = TokenEstimate.mostRecent(messages, fitting: maxTokens) }
        return SessionContext(sessionID: sessionID, messages: messages, context: state.context, version: state.version)
    }

    /// Sessions by last update, newest first.
    /// - Throws: ``ConvLogError`` `invalidParams` for a bad limit or cursor.
    public func listSessions(limit: Int, after token: String?, userID: String?) throws -> SessionPage {
        guard (1...limits.maxPageSize).contains(limit) else { throw ConvLogError.invalid("limit", "must be 1–\(limits.maxPageSize)") }
        var cursor: SessionCursor?
        if let token {
            guard let parsed = SessionCursor(token: token) else { throw ConvLogError.invalid("after", "is not a cursor returned by listSessions") }
            cursor = parsed
        }
        return try views.listSessions(userID: userID, limit: limit, after: cursor)
    }

    /// Events of the log (or of one session) from a global sequence on.
    /// - Throws: ``ConvLogError`` `invalidParams`.
    public func readEvents(from start: UInt64, limit: Int, sessionID: String?) throws -> EventPage {
        guard start >= 1 else { throw ConvLogError.invalid("from", "must be 1 or more") }
        guard (1...limits.maxPageSize).contains(limit) else { throw ConvLogError.invalid("limit", "must be 1–\(limits.maxPageSize)") }
        var events: [RecordedEvent] = []
        if let sessionID {
            try views.store.visitEvents(inSession: try Validation.sessionID(sessionID)) { record in
                if record.sequence >= start { events.append(record) }
                return events.count <= limit
            }
        } else {
            events = try views.store.events(from: start, limit: limit + 1)
        }
        let hasMore = events.count > limit
        if hasMore { events.removeLast() }
        return EventPage(events: events, nextSequence: hasMore ? events.last.map { $0.sequence + 1 } : nil)
    }

    /// Counts and sizes.
    public func stats() throws -> ServiceStats {
        let counts = try views.store.counts()
        let deleted = try views.store.deletedSessionCount()
        return ServiceStats(
            events: counts.events,
            sessions: counts.sessions - deleted,
            deletedSessions: deleted,
            head: try views.store.head(),
            mapSize: views.store.environment.mapSize,
            reclaimableBytes: try views.store.storageUse().reclaimableBytes,
            pendingErasures: try views.store.pendingErasures(),
            windowCapacity: views.window.capacity,
            subscriptions: views.store.subscriptionCount
        )
    }

    // MARK: Helpers

    /// The session-not-found error, saying whether the session was deleted or never existed.
    func notFound(_ sessionID: String) throws -> ConvLogError {
        guard try views.store.version(ofSession: sessionID) != nil else { return .notFound(sessionID) }
        return ConvLogError(.sessionNotFound, "session \(sessionID) was deleted", field: "sessionId")
    }

    /// Appends, translating the store's errors into the service's.
    func append(_ request: AppendRequest) async throws -> AppendResult {
        do {
            return try await views.store.append(request)
        } catch {
            throw Self.serviceError(error)
        }
    }

    /// A read barrier over a shared log: returns once this daemon's mirror holds every write any
    /// daemon had acknowledged when it was called (at once without a shared log).
    /// - Throws: ``ConvLogError`` `storeUnavailable`, `shuttingDown`.
    public func synchronize() async throws {
        do {
            try await views.store.synchronize()
        } catch {
            throw Self.serviceError(error)
        }
    }

    /// The service's form of a store error; other errors pass through.
    static func serviceError(_ error: any Error) -> any Error {
        (error as? EventStoreError).map(ConvLogError.init(storeError:)) ?? error
    }
}

extension ConvLogError {
    init(storeError error: EventStoreError) {
        switch error.code {
        case .versionConflict:
            self.init(.versionConflict, error.message, field: "expectedVersion")
            expectedVersion = error.expectedVersion
            actualVersion = error.actualVersion
        case .closed: self.init(.shuttingDown, "the daemon is shutting down")
        case .storageFull: self.init(.storageFull, error.message)
        case .sharedLogUnavailable, .notAMirror: self.init(.storeUnavailable, error.message)
        case .sessionNotFound: self.init(.sessionNotFound, error.message, field: "sessionId")
        case .preconditionFailed: self.init(.threadDeleted, error.message, field: "checkpointId")
        default: self.init(.invalidParams, error.message)
        }
    }
}
