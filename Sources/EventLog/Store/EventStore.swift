import Foundation

/// The append-only event log: the source of truth of convlog.
///
/// One LMDB environment holds the records, chained by SHA-256, and the projections derived from
/// them (the stream index that finds a session's events and message ids first). Appends go through
/// one dedicated writer thread that commits the records of everything waiting in one transaction
/// (group commit) and answers each append only once its commit is durable; it applies committed
/// events to the projections in batches (``Configuration/materializeInterval``), and reads overlay
/// the events not applied yet. Reads are snapshots and never wait for the writer.
///
/// ```swift
/// let store = try EventStore(directory: dataDir)
/// let result = try await store.append(AppendRequest(
///     sessionID: "s1", expectedVersion: 0,
///     events: [.sessionCreated(SessionCreated(userID: "u1"))]))
/// let events = try store.events(inSession: "s1")
/// store.close()
/// ```
public final class EventStore: Sendable {
    /// How appends reach the disk.
    public enum Durability: String, Sendable, CaseIterable {
        /// Every commit is flushed (fdatasync) before its appends are answered. The default.
        case fsync
        /// Commits are not flushed (`MDB_NOSYNC`): much faster, but a power loss or kernel crash
        /// may lose the last acknowledged appends (a crash of the process alone loses nothing).
        /// The log stays consistent either way.
        case nosync
    }

    /// How a store is opened.
    public struct Configuration: Sendable {
        public var durability: Durability = .fsync
        /// The LMDB map to start with; it doubles whenever it fills.
        public var initialMapSize: Int = 64 << 20
        /// The map never grows past this; appends then fail with ``EventStoreError/Code/storageFull``.
        public var maximumMapSize: Int = 1 << 40
        /// The most appends one group commit takes.
        public var maxBatchAppends: Int = 1024
        /// The most payload bytes one group commit takes (a larger single append is committed alone).
        public var maxBatchBytes: Int = 16 << 20
        /// Opens without a writer, for audit tools; appends then fail with ``EventStoreError/Code/closed``.
        public var readOnly: Bool = false
        /// The longest the projections (the stream index included) lag behind the log. A commit
        /// writes only records; the writer applies them to the projections in one transaction
        /// once the oldest unapplied event is this old (or sooner, see
        /// ``materializeAfterEvents``), so the pages of a busy session's rows are written once per
        /// interval instead of once per append. Reads overlay the events not applied yet.
        public var materializeInterval: Duration = .milliseconds(200)
        /// Apply the projections as soon as this many events wait (bounds memory and the overlay).
        public var materializeAfterEvents: Int = 10_000
        /// Called on the writer thread after each successful group commit, with the number of
        /// appends it took and how long it took (fsync included). It must return quickly.
        public var commitObserver: (@Sendable (_ appends: Int, _ duration: Duration) -> Void)?

        public init() {}
    }

    /// The LMDB environment, for the projection tables that live beside the log.
    package let environment: LMDBEnvironment
    /// The log's databases.
    package let schema: LogSchema
    /// The read models kept in step with the log: the stream index first, then the factory's.
    package let projectors: [any LogProjector]
    /// The committed events the projections have not applied yet.
    let tail: UnmaterializedTail
    /// Where the writer hands each commit's records to the subscriptions.
    let feed = LogFeed()
    private let queue = GroupCommitQueue()
    private let writerStopped = DispatchSemaphore(value: 0)
    private let hasWriter: Bool

    /// Opens the log in `directory`, creating the directory (mode 0700) and the log when missing
    /// (unless read-only), brings the projectors up to date with the log, and starts the writer thread.
    /// - Parameter projectors: opens the tables of the read models to keep in step with the log.
    /// - Throws: ``EventStoreError`` (`notAnEventLog`, `unsupportedFormat`) or ``LMDBError``.
    public init(
        directory: URL,
        configuration: Configuration = Configuration(),
        projectors makeProjectors: ProjectorFactory = { _, _ in [] }
    ) throws {
        let dataFile = directory.appendingPathComponent("data.mdb")
        if configuration.readOnly {
            guard FileManager.default.fileExists(atPath: dataFile.path) else {
                throw EventStoreError(.notAnEventLog, "no event log in \(directory.path) (no data.mdb)")
            }
        } else {
            try FileManager.default.createDirectory(
                at: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        }
        var lmdbConfiguration = LMDBEnvironment.Configuration()
        lmdbConfiguration.initialMapSize = configuration.initialMapSize
        lmdbConfiguration.maximumMapSize = configuration.maximumMapSize
        lmdbConfiguration.syncOnCommit = configuration.durability == .fsync
        lmdbConfiguration.readOnly = configuration.readOnly
        let environment = try LMDBEnvironment(directory: directory, configuration: lmdbConfiguration)
        let (schema, projectors) = try configuration.readOnly
            ? environment.read { txn in
                let schema = try LogSchema(in: txn, create: false)
                return (schema, [StreamIndex(schema: schema)] + (try makeProjectors(txn, try schema.storedFingerprints(txn: txn))))
            }
            : environment.writeGrowingMap { txn in
                let schema = try LogSchema(in: txn, create: true)
                let stored = try schema.storedFingerprints(txn: txn)
                let projectors = [StreamIndex(schema: schema)] + (try makeProjectors(txn, stored))
                for projector in projectors { try schema.adoptFingerprint(of: projector, stored: stored, txn: txn) }
                return (schema, projectors)
            }
        self.environment = environment
        self.schema = schema
        self.projectors = projectors
        self.hasWriter = !configuration.readOnly
        if configuration.readOnly {
            tail = UnmaterializedTail(materializedThrough: 0, kept: false)
            queue.close()
        } else {
            tail = UnmaterializedTail(materializedThrough: try Self.materialize(projectors, schema: schema, environment: environment), kept: true)
            let writer = LogWriter(
                environment: environment,
                schema: schema,
                projectors: projectors,
                queue: queue,
                tail: tail,
                feed: feed,
                configuration: configuration,
                appliedOnCommit: projectors.filter(\.appliesOnCommit)
            )
            let stopped = writerStopped
            let thread = Thread {
                writer.run()
                stopped.signal()
            }
            thread.name = "convlog-writer"
            thread.start()
        }
    }

    deinit {
        close()
    }

    /// Called once with an append's outcome, on the writer thread (or on the caller's, when the
    /// request is refused before it is queued). It must return quickly: the next commit waits.
    public typealias AppendCompletion = @Sendable (Result<AppendResult, any Error>) -> Void

    /// Appends `request` atomically and returns once it is durable (see ``Durability``).
    ///
    /// Concurrent appends are committed together. Cancelling the calling task does not withdraw
    /// an append already queued.
    /// - Throws: ``EventStoreError`` — `versionConflict` (nothing written), `sessionNotFound`,
    ///   `invalidAppend`, `storageFull`, `closed` — or ``LMDBError`` for a storage failure.
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            append(request) { continuation.resume(with: $0) }
        }
    }

    /// Appends `request` atomically and calls `completion` once it is durable, with the errors of
    /// ``append(_:)``. For callers that answer from the writer's completion without a task hop.
    public func append(_ request: AppendRequest, completion: @escaping AppendCompletion) {
        do {
            try queue.enqueue(PendingAppend(request: try PreparedAppend(request), completion: completion))
        } catch {
            completion(.failure(error))
        }
    }

    /// Stops taking appends, lets the writer commit what is queued, flushes the file and returns.
    /// Safe to call more than once.
    public func close() {
        queue.close()
        feed.closeAll()
        guard hasWriter else { return }
        writerStopped.wait()
        writerStopped.signal()  // later calls (and deinit) pass straight through
        try? environment.sync()
    }
}

/// The writer thread's loop: take a batch, commit its records in one transaction, answer every
/// append; apply the committed events to the projections when they are due.
private struct LogWriter: Sendable {
    let environment: LMDBEnvironment
    let schema: LogSchema
    let projectors: [any LogProjector]
    let queue: GroupCommitQueue
    let tail: UnmaterializedTail
    let feed: LogFeed
    let configuration: EventStore.Configuration
    /// The projectors applied inside each commit (``LogProjector/appliesOnCommit``).
    let appliedOnCommit: [any LogProjector]

    /// The writer thread's loop, until the queue is closed and empty; then it applies what is left.
    func run() {
        var erasing = (try? EventStore.erasePending(schema: schema, environment: environment, limit: 0)) ?? false
        while true {
            let load = tail.load
            // Erasures pending: come back at once when idle, one batch per turn, so appends never wait long.
            let due = load.count == 0 ? (erasing ? Date.now : nil) : Date.now.addingTimeInterval(Self.seconds(configuration.materializeInterval - load.age))
            switch queue.nextBatch(maxCount: configuration.maxBatchAppends, maxBytes: configuration.maxBatchBytes, until: due) {
            case .appends(let batch):
                if commit(batch) { erasing = true }
                let after = tail.load
                if after.count >= configuration.materializeAfterEvents || after.age >= configuration.materializeInterval {
                    materialize()
                    if erasing { erasing = eraseBatch() }
                }
            case .idle:
                materialize()
                if erasing { erasing = eraseBatch() }
            case .closed:
                materialize()
                return
            }
        }
    }

    /// Erases one batch of a deleted session's records (after a materialization, so the stream
    /// index finds them); returns whether more remain. After a failure it stops until the next
    /// deletion or start (the pending erasures stay noted in `meta`).
    private func eraseBatch() -> Bool {
        (try? EventStore.erasePending(schema: schema, environment: environment)) ?? false
    }

    /// Applies every committed event to the projections and forgets them from the tail. A failure
    /// leaves them in the tail (reads still overlay them) for the next attempt.
    private func materialize() {
        guard let through = try? EventStore.materialize(projectors, schema: schema, environment: environment) else { return }
        tail.dropThrough(through)
    }

    /// Commits `batch`, growing the map when it is full. When the transaction fails for another
    /// reason, commits each append alone, so only the one at fault fails.
    /// - Returns: whether it committed a session deletion (erasures to do).
    @discardableResult
    private func commit(_ batch: [PendingAppend]) -> Bool {
        let started = ContinuousClock.now
        do {
            let (outcomes, appended, sizes) = try environment.writeGrowingMap { txn in
                var appender = try LogAppender(schema: schema, tail: tail, txn: txn, now: LogAppender.wallClockMilliseconds())
                try EventStore.catchUp(appliedOnCommit, through: appender.lastSequence, schema: schema, txn: txn)
                var outcomes: [Result<AppendResult, EventStoreError>] = []
                var concerned = Set<String>()
                for append in batch {
                    let before = appender.appended.count
                    outcomes.append(try appender.apply(append.request, txn: txn))
                    // The next append's precondition sees this one's effect.
                    for record in appender.appended[before...] {
                        for projector in appliedOnCommit where projector.concerns(record.event) {
                            try projector.apply(record, in: txn)
                            concerned.insert(projector.name)
                        }
                        if case .sessionDeleted = record.event { try schema.noteErasure(of: record.sessionID, before: record.sessionVersion, txn: txn) }
                    }
                }
                // A commit of messages only writes nothing but the log (see `LogProjector.concerns`).
                for projector in appliedOnCommit where concerned.contains(projector.name) {
                    try schema.setCheckpoint(appender.lastSequence, of: projector, txn: txn)
                }
                return (outcomes, appender.appended, appender.appendedSizes)
            }
            configuration.commitObserver?(batch.count, ContinuousClock.now - started)
            // Readers overlay the tail: add it before answering, so every answer is readable at once.
            tail.append(appended)
            for (append, outcome) in zip(batch, outcomes) { append.completion(outcome.mapError { $0 }) }
            feed.publish(appended, sizes: sizes)
            return appended.contains { if case .sessionDeleted = $0.event { true } else { false } }
        } catch let error as LMDBError where error.isMapFull {
            let full = EventStoreError(.storageFull, "the log reached its maximum map size of \(configuration.maximumMapSize) bytes")
            for append in batch { append.completion(.failure(full)) }
            return false
        } catch let error as LMDBError where error.isDiskFull {
            // Nothing of the batch was committed; the environment stays usable, and the next
            // commit succeeds once space is freed.
            let full = EventStoreError(.storageFull, "no space left on the device holding the log (\(error.code == EDQUOT ? "quota exceeded" : "disk full"))")
            for append in batch { append.completion(.failure(full)) }
            return false
        } catch {
            if batch.count == 1 {
                batch[0].completion(.failure(error))
                return false
            }
            return batch.map { commit([$0]) }.contains(true)
        }
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        max(0, Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
