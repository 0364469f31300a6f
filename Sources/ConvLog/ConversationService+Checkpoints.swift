import EventLog
import Foundation
import JSON
import Projections

/// The LangGraph checkpointer: checkpoints, channel values and pending writes of threads, stored
/// in the conversation log. A thread is a session whose id is the thread id; the messages of its
/// root namespace's `messages` channel are that session's messages, stored once each.
extension ConversationService {
    // MARK: Writes

    /// Stores a checkpoint and the values of its changed channels, atomically, durably.
    ///
    /// Messages of a message list that the thread does not hold yet are appended to its session
    /// first, in the same commit; the checkpoint keeps their session versions. When another write
    /// to the thread lands between the read of its messages and the commit, the put is planned again.
    /// - Throws: ``ConvLogError`` `invalidParams`, `payloadTooLarge`, `threadDeleted` (a late write
    ///   of a deleted thread), `messageConflict` (a message id stored with other content, or a
    ///   reference to no stored message: send the channel as bytes, or in full).
    public func putCheckpoint(_ request: PutCheckpointRequest) async throws -> PutCheckpointResult {
        try CheckpointValidation.check(request, limits: limits)
        for _ in 0..<Self.maximumPutAttempts {
            let plan = try planPut(request)
            var append = AppendRequest(
                sessionID: request.threadID,
                expectedVersion: plan.newMessages.isEmpty ? nil : plan.baseVersion,
                whenMissing: .create(with: [.sessionCreated(SessionCreated())]),
                events: plan.newMessages.map(Event.messageAdded) + [.checkpointPut(plan.put)],
                precondition: views.checkpoints.fence(thread: request.threadID, checkpointIDs: [request.checkpointID])
            )
            // The new messages' ids were read absent at `baseVersion`, which the append pins.
            append.answersStoredMessageIDsAsRetry = false
            do {
                let result = try await self.append(append)
                return PutCheckpointResult(sequence: result.positions.last!.sequence, messageVersions: plan.messageVersions)
            } catch let error as ConvLogError where error.code == .versionConflict {
                continue  // another write reached the thread first: read its messages again
            }
        }
        throw ConvLogError(.versionConflict, "thread \(request.threadID) kept changing while its checkpoint was stored; retry", field: "threadId")
    }

    /// How often ``putCheckpoint(_:)`` plans again when the thread moved under it.
    static var maximumPutAttempts: Int { 16 }

    /// A put made concrete against one snapshot of the thread.
    private struct PutPlan {
        var put: CheckpointPut
        /// The messages to append before the checkpoint, in order.
        var newMessages: [MessageAdded]
        /// The session's version the plan was made at.
        var baseVersion: UInt64
        var messageVersions: [String: [UInt64]]
    }

    private func planPut(_ request: PutCheckpointRequest) throws -> PutPlan {
        let listed = request.values.flatMap { value -> [MessageEntry] in
            if case .messages(let entries) = value.value { entries } else { [] }
        }
        let fullIDs = listed.compactMap { entry -> String? in if case .full(let message) = entry { message.messageID } else { nil } }
        let referenced = listed.compactMap { entry -> (messageID: String, version: UInt64)? in
            if case .stored(let messageID, let version) = entry { (messageID, version) } else { nil }
        }
        let (baseVersion, deleted, stored, unheld) = try views.store.environment.read { txn in
            let (version, stored) = try views.store.storedMessages(Set(fullIDs), in: request.threadID, txn: txn)
            let deleted = try views.store.isDeleted(session: request.threadID, txn: txn)
            return (version, deleted, stored, try views.store.firstUnheld(referenced, in: request.threadID, txn: txn))
        }
        // A new (or deleted) session starts again with a SessionCreated before the messages.
        var nextVersion = baseVersion == 0 || deleted ? baseVersion + 2 : baseVersion + 1
        var newMessages: [MessageAdded] = []
        var assigned: [String: UInt64] = [:]
        var blobs: [ChannelBlob] = []
        var messageVersions: [String: [UInt64]] = [:]
        for (channel, version, value) in request.values {
            switch value {
            case .bytes(let bytes):
                blobs.append(ChannelBlob(channel: channel, version: version, value: .bytes(bytes)))
            case .messages(let entries):
                var versions: [UInt64] = []
                for (position, entry) in entries.enumerated() {
                    let field = "values[\(channel)].messages[\(position)]"
                    switch entry {
                    case .stored(let messageID, let messageVersion):
                        if let unheld, unheld == (messageID, messageVersion) {
                            throw ConvLogError(.messageConflict, "\(field): thread \(request.threadID) holds no message \(messageID) at version \(messageVersion)", field: field)
                        }
                        versions.append(messageVersion)
                    case .full(let message):
                        if let record = stored[message.messageID] {
                            guard record.event == .messageAdded(message) else {
                                throw ConvLogError(
                                    .messageConflict,
                                    "\(field): thread \(request.threadID) holds message \(message.messageID) with other content; send the channel as bytes",
                                    field: field
                                )
                            }
                            versions.append(record.sessionVersion)
                        } else if let version = assigned[message.messageID] {
                            versions.append(version)
                        } else {
                            assigned[message.messageID] = nextVersion
                            versions.append(nextVersion)
                            newMessages.append(message)
                            nextVersion += 1
                        }
                    }
                }
                blobs.append(ChannelBlob(channel: channel, version: version, value: .messages(versions: versions)))
                messageVersions[channel] = versions
            }
        }
        let put = CheckpointPut(
            namespace: request.namespace,
            checkpointID: request.checkpointID,
            parentID: request.parentID,
            checkpoint: request.checkpoint,
            metadata: request.metadata,
            channelVersions: request.channelVersions,
            blobs: blobs
        )
        return PutPlan(put: put, newMessages: newMessages, baseVersion: baseVersion, messageVersions: messageVersions)
    }

    /// Stores the writes of a task against a checkpoint, which need not be stored yet. Safe to
    /// retry: an ordinary write already stored for (checkpoint, task, index) is kept; writes to
    /// special channels (negative indices) replace the stored one.
    /// - Returns: the log sequence of the record, or nil when `writes` is empty (nothing is stored).
    /// - Throws: ``ConvLogError`` `invalidParams`, `payloadTooLarge`, `threadDeleted`.
    @discardableResult
    public func putWrites(threadID: String, namespace: String, checkpointID: String, taskID: String, taskPath: String, writes: [PendingWrite])
        async throws -> UInt64?
    {
        let put = WritesPut(namespace: namespace, checkpointID: checkpointID, taskID: taskID, taskPath: taskPath, writes: writes)
        try CheckpointValidation.check(threadID: threadID, put, limits: limits)
        guard !writes.isEmpty else { return nil }
        let result = try await append(
            AppendRequest(
                sessionID: threadID,
                whenMissing: .create(with: [.sessionCreated(SessionCreated())]),
                events: [.writesPut(put)],
                precondition: views.checkpoints.fence(thread: threadID, checkpointIDs: [checkpointID])
            )
        )
        return result.positions.last!.sequence
    }

    /// Deletes a thread: it is deleted as a session (``deleteSession(_:reason:)``: its messages,
    /// checkpoints and writes are gone and erased), and fenced: a later write for a checkpoint id
    /// at or below the newest deleted one is refused (``ConvLogError/Code/threadDeleted``); newer
    /// checkpoint ids start the thread afresh. Nothing happens for a thread with nothing stored.
    /// - Returns: whether there was something to delete.
    @discardableResult
    public func deleteThread(_ threadID: String) async throws -> Bool {
        try CheckpointValidation.threadID(threadID)
        do {
            try await deleteSession(threadID, reason: "deleteThread")
            return true
        } catch let error as ConvLogError where error.code == .sessionNotFound {
            return false
        }
    }

    /// Removes the checkpoints (and their writes) whose metadata `run_id` is one of `runIDs`, in every thread.
    /// - Returns: how many checkpoints were removed.
    @discardableResult
    public func deleteForRuns(_ runIDs: [String]) async throws -> Int {
        for runID in runIDs { try Validation.identifier(runID, field: "runIds") }
        let runs = Set(runIDs.map(JSONValue.string))
        guard !runs.isEmpty else { return 0 }
        let doomed = try views.store.environment.read { txn in
            try views.checkpoints.checkpoints(thread: nil, namespace: nil, txn: txn).filter { location in
                guard case .checkpointPut(let put)? = try views.store.record(at: location.sequence, txn: txn)?.event else { return false }
                return put.metadata["run_id"].map(runs.contains) ?? false
            }
        }
        try await remove(doomed)
        return doomed.count
    }

    /// Copies every checkpoint and pending write of `source` to `target` (same namespaces and ids),
    /// as new records of the target: their values, the messages of their message lists (appended to
    /// the target's session) and the writes, so the copy stands on its own (deleting the source
    /// later does not touch it).
    /// - Returns: whether the source had checkpoints to copy.
    @discardableResult
    public func copyThread(from source: String, to target: String) async throws -> Bool {
        try CheckpointValidation.threadID(source, field: "sourceThreadId")
        try CheckpointValidation.threadID(target, field: "targetThreadId")
        guard source != target else { throw ConvLogError.invalid("targetThreadId", "must differ from sourceThreadId") }
        for _ in 0..<Self.maximumPutAttempts {
            let copy = try views.store.environment.read { txn -> ThreadCopy? in
                let locations = try views.checkpoints.checkpoints(thread: source, namespace: nil, txn: txn).sorted { $0.sequence < $1.sequence }
                guard !locations.isEmpty else { return nil }
                var reader = CheckpointReader(store: views.store, checkpoints: views.checkpoints)
                let checkpoints = try locations.compactMap { try reader.checkpoint(at: $0, txn: txn) }
                let version = try views.store.version(ofSession: target, txn: txn) ?? 0
                let deleted = try views.store.isDeleted(session: target, txn: txn)
                return ThreadCopy(checkpoints: checkpoints, targetVersion: version, targetMissing: version == 0 || deleted)
            }
            guard let copy else { return false }
            var append = AppendRequest(
                sessionID: target,
                expectedVersion: copy.targetVersion,
                whenMissing: .create(with: [.sessionCreated(SessionCreated())]),
                events: copy.events(),
                precondition: views.checkpoints.fence(thread: target, checkpointIDs: copy.checkpoints.map(\.checkpointID))
            )
            // The copied messages keep their ids; the target's own were read at the pinned version.
            append.answersStoredMessageIDsAsRetry = false
            do {
                _ = try await self.append(append)
                return true
            } catch let error as ConvLogError where error.code == .versionConflict {
                continue
            }
        }
        throw ConvLogError(.versionConflict, "thread \(target) kept changing while the copy was stored; retry", field: "targetThreadId")
    }

    /// Prunes the checkpoints of `threadIDs`: keeps the newest of each namespace, or none.
    /// - Returns: how many checkpoints were removed.
    @discardableResult
    public func prune(_ threadIDs: [String], strategy: PruneStrategy) async throws -> Int {
        for threadID in threadIDs { try CheckpointValidation.threadID(threadID, field: "threadIds") }
        let doomed = try views.store.environment.read { txn in
            try Set(threadIDs).flatMap { threadID in
                let stored = try views.checkpoints.checkpoints(thread: threadID, namespace: nil, txn: txn)
                guard strategy == .keepLatest else { return stored }
                // Key order: by namespace, then id; the last of each namespace is its newest.
                let newest = Dictionary(stored.map { ($0.namespace, $0.checkpointID) }) { _, later in later }
                return stored.filter { newest[$0.namespace] != $0.checkpointID }
            }
        }
        try await remove(doomed)
        return doomed.count
    }

    /// Appends one ``CheckpointsRemoved`` per thread for `locations`.
    private func remove(_ locations: [CheckpointProjector.Location]) async throws {
        let byThread = Dictionary(grouping: locations, by: \.threadID)
        guard !byThread.isEmpty else { return }
        let streams = byThread.sorted { $0.key < $1.key }.map { threadID, locations in
            AppendRequest.Stream(
                sessionID: threadID,
                events: [.checkpointsRemoved(CheckpointsRemoved(checkpoints: locations.map { CheckpointKey(namespace: $0.namespace, checkpointID: $0.checkpointID) }))]
            )
        }
        _ = try await append(AppendRequest(streams: streams))
    }

    // MARK: Reads

    /// The checkpoint `checkpointID` of a thread's namespace, or its newest when nil; nil when there is none.
    /// - Parameter knownMessageVersions: versions of the thread's messages the caller holds: their
    ///   messages are not read (``ChannelValue/messages(_:)`` has nil for them).
    public func checkpoint(threadID: String, namespace: String, checkpointID: String?, knownMessageVersions: Set<UInt64> = []) throws -> StoredCheckpoint? {
        try CheckpointValidation.threadID(threadID)
        return try views.store.environment.read { txn in
            guard let location = try views.checkpoints.checkpoint(thread: threadID, namespace: namespace, id: checkpointID, txn: txn) else { return nil }
            var reader = CheckpointReader(store: views.store, checkpoints: views.checkpoints, knownMessageVersions: knownMessageVersions)
            return try reader.checkpoint(at: location, txn: txn)
        }
    }

    /// Checkpoints, newest first (by checkpoint id): of one thread (all when nil), of one namespace
    /// (all when nil), whose metadata has every member of `filter`, with ids below `before`, at most `limit`.
    public func listCheckpoints(
        threadID: String?,
        namespace: String?,
        filter: [String: JSONValue] = [:],
        before: String? = nil,
        limit: Int
    ) throws -> [StoredCheckpoint] {
        if let threadID { try CheckpointValidation.threadID(threadID) }
        return try views.store.environment.read { txn in
            let locations = try views.checkpoints.checkpoints(thread: threadID, namespace: namespace, txn: txn)
                .filter { location in before.map { location.checkpointID < $0 } ?? true }
                .sorted { ($0.checkpointID, $0.threadID, $0.namespace) > ($1.checkpointID, $1.threadID, $1.namespace) }
            var reader = CheckpointReader(store: views.store, checkpoints: views.checkpoints)
            var found: [StoredCheckpoint] = []
            for location in locations where found.count < limit {
                guard case .checkpointPut(let put)? = try reader.record(at: location.sequence, txn: txn)?.event else { continue }
                guard filter.allSatisfy({ put.metadata[$0.key] == $0.value }) else { continue }
                if let checkpoint = try reader.checkpoint(at: location, txn: txn) { found.append(checkpoint) }
            }
            return found
        }
    }
}

/// A thread's checkpoints read for ``ConversationService/copyThread(from:to:)``, and the records that copy them.
private struct ThreadCopy {
    let checkpoints: [StoredCheckpoint]
    /// The target session's version when read, and whether it has no live incarnation.
    let targetVersion: UInt64
    let targetMissing: Bool

    /// The target's new records, in order: the messages of every message list (each once), then
    /// per checkpoint a ``CheckpointPut`` with every value it needs that no earlier copy holds,
    /// then its writes.
    func events() -> [Event] {
        var events: [Event] = []
        // A creation comes first when the target has no live incarnation (see `whenMissing`).
        var nextVersion = targetMissing ? targetVersion + 2 : targetVersion + 1
        var copiedMessages: [UInt64: UInt64] = [:]
        for checkpoint in checkpoints {
            for (_, stored) in checkpoint.values.sorted(by: { $0.key < $1.key }) {
                guard case .messages(let messages) = stored.value else { continue }
                for (version, message) in messages where copiedMessages[version] == nil {
                    guard let message else { continue }
                    copiedMessages[version] = nextVersion
                    nextVersion += 1
                    events.append(.messageAdded(message))
                }
            }
        }
        var copiedBlobs: Set<[String]> = []
        for checkpoint in checkpoints {
            var blobs: [ChannelBlob] = []
            for (channel, stored) in checkpoint.values.sorted(by: { $0.key < $1.key })
            where copiedBlobs.insert([checkpoint.namespace, channel, stored.version]).inserted {
                switch stored.value {
                case .bytes(let bytes):
                    blobs.append(ChannelBlob(channel: channel, version: stored.version, value: .bytes(bytes)))
                case .messages(let messages):
                    blobs.append(ChannelBlob(channel: channel, version: stored.version, value: .messages(versions: messages.compactMap { copiedMessages[$0.version] })))
                }
            }
            events.append(.checkpointPut(CheckpointPut(
                namespace: checkpoint.namespace,
                checkpointID: checkpoint.checkpointID,
                parentID: checkpoint.parentID,
                checkpoint: checkpoint.checkpoint,
                metadata: checkpoint.metadata,
                channelVersions: checkpoint.values.mapValues(\.version),
                blobs: blobs
            )))
            let byTask = Dictionary(grouping: checkpoint.pendingWrites) { [$0.taskID, $0.taskPath] }
            for (task, writes) in byTask.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                events.append(.writesPut(WritesPut(
                    namespace: checkpoint.namespace, checkpointID: checkpoint.checkpointID, taskID: task[0], taskPath: task[1], writes: writes.map(\.write)
                )))
            }
        }
        return events
    }
}

/// Reads stored checkpoints with their values and writes from one snapshot, decoding each record once.
private struct CheckpointReader {
    let store: EventStore
    let checkpoints: CheckpointProjector
    /// Versions of the read thread's own messages not to read.
    let knownMessageVersions: Set<UInt64>
    private var records: [UInt64: RecordedEvent] = [:]

    init(store: EventStore, checkpoints: CheckpointProjector, knownMessageVersions: Set<UInt64> = []) {
        self.store = store
        self.checkpoints = checkpoints
        self.knownMessageVersions = knownMessageVersions
    }

    mutating func record(at sequence: UInt64, txn: borrowing LMDBTransaction) throws -> RecordedEvent? {
        if let record = records[sequence] { return record }
        let record = try store.record(at: sequence, txn: txn)
        records[sequence] = record
        return record
    }

    mutating func checkpoint(at location: CheckpointProjector.Location, txn: borrowing LMDBTransaction) throws -> StoredCheckpoint? {
        guard case .checkpointPut(let put)? = try record(at: location.sequence, txn: txn)?.event else { return nil }
        var values: [String: (version: String, value: ChannelValue)] = [:]
        for (channel, version) in put.channelVersions {
            guard let (sequence, index) = try checkpoints.blob(thread: location.threadID, namespace: location.namespace, channel: channel, version: version, txn: txn),
                let holder = try record(at: sequence, txn: txn), case .checkpointPut(let holding) = holder.event, holding.blobs.indices.contains(index)
            else { continue }
            switch holding.blobs[index].value {
            case .bytes(let bytes):
                values[channel] = (version, .bytes(bytes))
            case .messages(let versions):
                // The messages live in the session of the record that holds the list (the source, for a copied thread).
                let known = holder.sessionID == location.threadID ? knownMessageVersions : []
                let held = try store.records(inSession: holder.sessionID, versions: versions.filter { !known.contains($0) }, txn: txn)
                let messages = versions.compactMap { version -> (UInt64, MessageAdded?)? in
                    if known.contains(version) { return (version, nil) }
                    guard case .messageAdded(let message)? = held[version]?.event else { return nil }
                    return (version, message)
                }
                values[channel] = (version, .messages(messages))
            }
        }
        var pending: [StoredWrite] = []
        for (sequence, index) in try checkpoints.writes(thread: location.threadID, namespace: location.namespace, checkpointID: location.checkpointID, txn: txn) {
            guard case .writesPut(let put)? = try record(at: sequence, txn: txn)?.event, put.writes.indices.contains(index) else { continue }
            pending.append(StoredWrite(taskID: put.taskID, taskPath: put.taskPath, write: put.writes[index]))
        }
        pending.sort { ($0.taskPath, $0.taskID, $0.write.index) < ($1.taskPath, $1.taskID, $1.write.index) }
        return StoredCheckpoint(
            threadID: location.threadID,
            namespace: location.namespace,
            checkpointID: location.checkpointID,
            parentID: put.parentID,
            checkpoint: put.checkpoint,
            metadata: put.metadata,
            values: values,
            pendingWrites: pending,
            sequence: location.sequence
        )
    }
}
