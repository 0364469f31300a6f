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
        /// The log of record this store mirrors (see ``SharedLog``); nil: this store's own log is it.
        public var sharedLog: (any SharedLog)?
        /// How often an idle writer brings the mirror up to the shared log's head, so that live
        /// subscriptions see other stores' appends (reads and appends always do it first).
        public var sharedPollInterval: Duration = .milliseconds(200)

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
    /// What commits: the writer thread runs it, and a lone append may commit through it on its own thread.
    private let writer: LogWriter?
    /// The log of record this store mirrors, if any.
    private let sharedLog: (any SharedLog)?

    /// Opens the log in `directory`, creating the directory (mode 0700) and the log when missing
    /// (unless read-only), brings the projectors up to date with the log, and starts the writer thread.
    /// With a ``Configuration/sharedLog``, it first brings the mirror up to the shared log's head.
    /// - Parameter projectors: opens the tables of the read models to keep in step with the log.
    /// - Throws: ``EventStoreError`` (`notAnEventLog`, `unsupportedFormat`, `sharedLogUnavailable`,
    ///   `notAMirror`) or ``LMDBError``.
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
        self.sharedLog = configuration.readOnly ? nil : configuration.sharedLog
        if configuration.readOnly {
            tail = UnmaterializedTail(materializedThrough: 0, kept: false)
            writer = nil
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
            self.writer = writer
            if let sharedLog {
                do {
                    try writer.mirrorOrThrow(sharedLog)
                } catch {
                    writerStopped.signal()  // no writer thread to wait for when deinit closes the store
                    throw error
                }
            }
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

    /// Called once with an append's outcome, on the writer thread, or on the caller's (before
    /// ``append(_:completion:)`` returns) when the request is refused before it is queued or the
    /// append was committed there. It must return quickly: the next commit waits.
    public typealias AppendCompletion = @Sendable (Result<AppendResult, any Error>) -> Void

    /// Appends `request` atomically and returns once it is durable (see ``Durability``).
    ///
    /// Concurrent appends are committed together. Cancelling the calling task does not withdraw
    /// an append already queued.
    /// - Throws: ``EventStoreError`` — `versionConflict` (nothing written), `sessionNotFound`,
    ///   `invalidAppend`, `storageFull`, `closed` — or ``LMDBError`` for a storage failure.
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            // Never committed on the task's own thread: a blocking fsync would hold a thread of
            // the cooperative pool.
            submit(request, mayCommitInPlace: false) { continuation.resume(with: $0) }
        }
    }

    /// Appends `request` atomically and calls `completion` once it is durable, with the errors of
    /// ``append(_:)``. For callers that answer from the writer's completion without a task hop.
    ///
    /// When the log is idle — nothing waits, nothing is being committed, and commits have been
    /// taking one append each (a lone client) — the append is committed on the calling thread,
    /// which then blocks for the commit (its fsync included) and `completion` runs before this
    /// returns: a lone append spares the two thread hand-offs to the writer and back. Under
    /// concurrent appends it waits for the writer's next group commit instead. A store over a
    /// shared log, and a session deletion (which starts erasures), always go through the writer.
    public func append(_ request: AppendRequest, completion: @escaping AppendCompletion) {
        submit(request, mayCommitInPlace: true, completion: completion)
    }

    private func submit(_ request: AppendRequest, mayCommitInPlace: Bool, completion: @escaping AppendCompletion) {
        let pending: PendingAppend
        do {
            pending = PendingAppend(request: try PreparedAppend(request), completion: completion)
        } catch {
            completion(.failure(error))
            return
        }
        if mayCommitInPlace, sharedLog == nil, !pending.request.deletesSession, let writer, queue.claimForCommitInPlace() {
            writer.commitInPlace(pending)
            return
        }
        do {
            try queue.enqueue(.append(pending))
        } catch {
            completion(.failure(error))
        }
    }

    /// Whether this store mirrors a shared log (``Configuration/sharedLog``): its reads then need
    /// ``synchronize()`` first to see what other stores appended.
    public var isShared: Bool { sharedLog != nil }

    /// A read barrier: returns once the mirror holds every record the shared log had committed
    /// when it was called, so a read that follows sees every append acknowledged by any store
    /// before it. Returns at once for a store without a shared log.
    /// - Throws: ``EventStoreError/Code/sharedLogUnavailable``, ``EventStoreError/Code/closed``.
    public func synchronize() async throws {
        guard isShared else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            do {
                try queue.enqueue(.barrier { continuation.resume(with: $0) })
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Stops taking appends, lets the writer commit what is queued, flushes the file and returns.
    /// Safe to call more than once.
    public func close() {
        queue.close()
        feed.closeAll()
        guard writer != nil else { return }
        writerStopped.wait()
        writerStopped.signal()  // later calls (and deinit) pass straight through
        try? environment.sync()
    }
}

/// The writer thread's loop: take a batch, commit its records in one transaction, answer every
/// append; apply the committed events to the projections when they are due. Over a shared log,
/// each batch is built on the mirror's head and committed to the shared log, which places it
/// after its own head; the mirror takes it there (with any records of other stores before it)
/// before the appends are answered.
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

    /// The most records read from the shared log per mirroring transaction.
    private static let mirrorChunk = 1_000

    /// The writer thread's loop, until the queue is closed and empty; then it applies what is left.
    func run() {
        var erasing = (try? EventStore.erasePending(schema: schema, environment: environment, limit: 0)) ?? false
        var contention = SharedContention()
        var gathering: GroupCommitQueue.Gathering?
        while true {
            let load = tail.load
            // Erasures pending: come back at once when idle, one batch per turn, so appends never wait long.
            var due = load.count == 0 ? (erasing ? Date.now : nil) : Date.now.addingTimeInterval(Self.seconds(configuration.materializeInterval - load.age))
            if configuration.sharedLog != nil {
                let poll = Date.now.addingTimeInterval(Self.seconds(configuration.sharedPollInterval))
                due = min(due ?? poll, poll)
            }
            switch queue.nextBatch(maxCount: configuration.maxBatchAppends, maxBytes: configuration.maxBatchBytes, until: due, gathering: gathering) {
            case .work(let batch):
                let started = ContinuousClock.now
                if process(batch, contention: &contention) { erasing = true }
                if configuration.sharedLog != nil {
                    gathering = Self.gathering(after: batch, took: ContinuousClock.now - started, waiting: queue.waitingCount)
                }
                let after = tail.load
                if after.count >= configuration.materializeAfterEvents || after.age >= configuration.materializeInterval {
                    materialize()
                    if erasing { erasing = eraseBatch() }
                }
                queue.release(committed: batch.count { if case .append = $0 { true } else { false } })
            case .idle:
                if let shared = configuration.sharedLog, (try? mirror(shared)) == true { erasing = true }
                materialize()
                if erasing { erasing = eraseBatch() }
                queue.release()
            case .rescheduled:
                continue
            case .closed:
                materialize()
                return
            }
        }
    }

    /// Commits one append on the caller's thread, which holds the queue's claim
    /// (``GroupCommitQueue/claimForCommitInPlace()``), answers it, and gives the claim back —
    /// waking the writer when the projections may now be due, since it computed its deadline
    /// without this commit's records.
    func commitInPlace(_ append: PendingAppend) {
        let tailWasEmpty = tail.load.count == 0
        _ = commit([append])
        queue.release(committed: 1, rescheduleWriter: tailWasEmpty || tail.load.count >= configuration.materializeAfterEvents)
    }

    /// What the next group commit over a shared log waits for, after `batch` was committed in
    /// `took` with `waiting` appends then queued: as many appends as were just answered plus those
    /// queued, since clients that were answered tend to send their next append at once, for at
    /// most a quarter of the time the commit took. A shared commit takes a round trip to the
    /// database and its flush, longer than a client's way back, and the database serialises the
    /// fleet's commits: fewer, fuller commits carry more appends. (One PostgreSQL, 16 clients on
    /// one or two daemons: +15% and +25% msg/s over no wait; half a commit did no better.)
    private static func gathering(after batch: [QueuedWork], took: Duration, waiting: Int) -> GroupCommitQueue.Gathering? {
        let answered = batch.count { if case .append = $0 { true } else { false } }
        guard answered > 0 else { return nil }
        return GroupCommitQueue.Gathering(count: answered + waiting, patience: seconds(took / 4))
    }

    /// Whether other stores append to the shared log now. While they do, each group commit
    /// reserves the append lock before it catches up and builds (no commit is built twice); once
    /// they stop, commits go back to optimistic (one round trip fewer).
    struct SharedContention {
        /// Until when commits reserve the lock (each outdated commit pushes it back).
        private var until = ContinuousClock.now
        /// How long a collision makes commits reserve the lock.
        private static let span = Duration.seconds(1)

        var isOn: Bool { ContinuousClock.now < until }

        mutating func collided() { until = ContinuousClock.now + Self.span }
    }

    /// Commits a batch's appends and answers its barriers.
    /// - Returns: whether it committed (or mirrored) a session deletion (erasures to do).
    private func process(_ batch: [QueuedWork], contention: inout SharedContention) -> Bool {
        var appends = batch.compactMap { work -> PendingAppend? in if case .append(let append) = work { append } else { nil } }
        guard let shared = configuration.sharedLog else {
            for case .barrier(let completion) in batch { completion(.success(())) }
            return appends.isEmpty ? false : commit(appends).heldDeletion
        }
        var deleted = false
        // A read barrier needs the shared head as of now; appends find out by trying.
        if appends.count < batch.count {
            do {
                deleted = try mirror(shared)
            } catch {
                let failure = Self.unavailable(error, shared)
                for work in batch { work.fail(failure) }
                return false
            }
            for case .barrier(let completion) in batch { completion(.success(())) }
        }
        guard !appends.isEmpty else { return deleted }
        defer { shared.releaseReservation() }
        var reserving = contention.isOn
        for _ in 0..<Self.maximumAttempts {
            if reserving {
                // Hold the append lock and take the records appended elsewhere: this commit
                // cannot be outdated.
                do {
                    try shared.reserve()
                    if try mirror(shared) { deleted = true }
                } catch {
                    let failure = Self.unavailable(error, shared)
                    for append in appends { append.completion(.failure(failure)) }
                    return deleted
                }
            }
            switch commit(appends, sharedWith: shared) {
            case .committed(let deletion):
                return deleted || deletion
            case .failed:
                return deleted
            case .placedElsewhere(let deletion, let refused):
                // The refusals were judged on an outdated mirror: judge them again, holding the lock.
                deleted = deleted || deletion
                guard !refused.isEmpty else { return deleted }
                appends = refused
                reserving = true
            case .outdated:
                // Another store appended first: build the commit again, holding the lock.
                contention.collided()
                reserving = true
            }
        }
        let busy = EventStoreError(.sharedLogUnavailable, "the shared log at \(shared.location) kept changing: other stores appended first \(Self.maximumAttempts) times; nothing was written")
        for append in appends { append.completion(.failure(busy)) }
        return deleted
    }

    /// How often a group commit is built again after other stores appended first (after the
    /// first time it holds the append lock, so more than twice means something else is wrong).
    private static let maximumAttempts = 5

    /// ``mirror(_:)`` at start, with the store's errors.
    func mirrorOrThrow(_ shared: any SharedLog) throws {
        do {
            _ = try mirror(shared)
        } catch let error as EventStoreError {
            throw error
        } catch {
            throw Self.unavailable(error, shared)
        }
    }

    /// Copies into the local log the shared records it lacks (through the shared head as of the
    /// call, at least), checking each against the chain (so the mirror is the shared log, byte
    /// for byte), and applies them as local commits would be: the projections applied on commit,
    /// the tail, the subscriptions.
    /// - Returns: whether it mirrored a session deletion.
    /// - Throws: ``EventStoreError/Code/notAMirror`` when the local log is not a prefix of the shared one.
    func mirror(_ shared: any SharedLog) throws -> Bool {
        let target = try shared.head()
        var local = try environment.read { txn in try EventStore.head(schema: schema, txn: txn) }
        // Every local record was committed to the shared log before it was written here.
        if local.sequence > target.sequence {
            throw EventStoreError(.notAMirror, "the local log ends at sequence \(local.sequence), past the shared log's head \(target.sequence)\(Self.notAMirrorAdvice)")
        }
        if local.sequence == target.sequence, local.hash != target.hash {
            throw EventStoreError(.notAMirror, "the local log's record \(local.sequence) is not the shared log's\(Self.notAMirrorAdvice)")
        }
        var deleted = false
        // Records committed after `target` was read may come too: they are taken as well.
        while local.sequence < target.sequence {
            let stored = try shared.records(after: local.sequence, limit: Self.mirrorChunk)
            guard !stored.isEmpty else {
                throw SharedLogError("the shared log returned no record after \(local.sequence) although its head is \(target.sequence)")
            }
            let applied = try applyMirrored(stored, after: local)
            deleted = deleted || applied.deleted
            local = applied.head
        }
        return deleted
    }

    /// Writes into the local log shared records that follow its head `local`, checking each
    /// against the chain, and applies them as local commits would be: the projections applied
    /// on commit, the tail, the subscriptions.
    /// - Returns: the new head, and whether the records hold a session deletion.
    /// - Throws: ``EventStoreError/Code/notAMirror`` when they do not continue the local log.
    private func applyMirrored(_ stored: [[UInt8]], after local: ChainHead) throws -> (head: ChainHead, deleted: Bool) {
        var verifier = ChainVerifier(after: local)
        var records: [RecordedEvent] = []
        for bytes in stored {
            guard let decoded = verifier.check(next: bytes) else {
                throw EventStoreError(.notAMirror, "the shared log does not continue the local log: \(verifier.failure.map(String.init(describing:)) ?? "unreadable record")")
            }
            records.append(decoded)
        }
        guard let last = records.last else { return (local, false) }
        try environment.writeGrowingMap { txn in
            try EventStore.catchUp(appliedOnCommit, through: local.sequence, schema: schema, txn: txn)
            var concerned = Set<String>()
            for (record, bytes) in zip(records, stored) {
                try txn.put(schema.events, key: LogSchema.sequenceKey(record.sequence), value: bytes, append: true)
                try applyOnCommit(record, txn: txn, concerned: &concerned)
            }
            for projector in appliedOnCommit where concerned.contains(projector.name) {
                try schema.setCheckpoint(last.sequence, of: projector, txn: txn)
            }
        }
        tail.append(records)
        feed.publish(records, sizes: stored.map(\.count))
        return (verifier.head, records.contains { if case .sessionDeleted = $0.event { true } else { false } })
    }

    /// What to do about a directory that is not a mirror of the shared log.
    private static let notAMirrorAdvice =
        ": this data directory is not a mirror of the shared log (another log, or another database); use an empty directory (it is filled from the shared log), or copy this log with `convlog migrate` into an empty database"

    /// Applies a committed record to the projections applied on commit (noting which it concerned),
    /// and notes a deletion's erasures.
    private func applyOnCommit(_ record: RecordedEvent, txn: borrowing LMDBTransaction, concerned: inout Set<String>) throws {
        for projector in appliedOnCommit where projector.concerns(record.event) {
            try projector.apply(record, in: txn)
            concerned.insert(projector.name)
        }
        if case .sessionDeleted = record.event { try schema.noteErasure(of: record.sessionID, before: record.sessionVersion, txn: txn) }
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

    /// What became of a group commit.
    private enum CommitOutcome {
        /// Committed and answered; `deletion`: it holds a session deletion (erasures to do).
        case committed(deletion: Bool)
        /// Failed and answered.
        case failed
        /// Not committed, not answered: another store appended to one of its sessions first.
        case outdated
        /// Committed to the shared log after records of other stores, which the mirror now holds
        /// too; the appends that went through are answered, the `refused` ones are not (their
        /// checks saw an outdated mirror). `deletion`: a session deletion was mirrored.
        case placedElsewhere(deletion: Bool, refused: [PendingAppend])

        var heldDeletion: Bool {
            switch self {
            case .committed(let deletion), .placedElsewhere(let deletion, _): deletion
            case .failed, .outdated: false
            }
        }
    }

    /// Marks a shared append refused because another store appended to one of its sessions
    /// first (the transaction aborts).
    private struct SharedLogMoved: Error {}

    /// Marks a shared append committed after records of other stores (the local transaction,
    /// built on the head before them, aborts).
    private struct PlacedElsewhere: Error {
        let base: ChainHead
        let placement: SharedPlacement
        /// The batch's records as built on `base`.
        let built: [[UInt8]]
    }

    /// Commits `batch`, growing the map when it is full. When the transaction fails for another
    /// reason, commits each append alone, so only the one at fault fails. With a shared log, the
    /// records are appended to it as the transaction's last step (if it still ends where the
    /// local log does: else nothing is written, ``CommitOutcome/outdated``): an append is
    /// answered once the shared log holds it, and a refusal once the shared log is known to end
    /// where the local log does (the checks saw every store's appends).
    private func commit(_ batch: [PendingAppend], sharedWith shared: (any SharedLog)? = nil) -> CommitOutcome {
        let started = ContinuousClock.now
        // Set once the shared log committed: the batch is then acknowledged whatever happens locally.
        var sharedOutcomes: [Result<AppendResult, EventStoreError>]?
        do {
            let (outcomes, appended, stored) = try environment.writeGrowingMap { txn in
                guard sharedOutcomes == nil else { throw EventStoreError(.sharedLogUnavailable, "the local mirror could not record a shared commit") }
                var appender = try LogAppender(schema: schema, tail: tail, txn: txn, now: LogAppender.wallClockMilliseconds())
                let base = appender.head
                try EventStore.catchUp(appliedOnCommit, through: appender.lastSequence, schema: schema, txn: txn)
                var outcomes: [Result<AppendResult, EventStoreError>] = []
                var concerned = Set<String>()
                for append in batch {
                    let before = appender.appended.count
                    outcomes.append(try appender.apply(append.request, txn: txn))
                    // The next append's precondition sees this one's effect.
                    for record in appender.appended[before...] { try applyOnCommit(record, txn: txn, concerned: &concerned) }
                }
                // A commit of messages only writes nothing but the log (see `LogProjector.concerns`).
                for projector in appliedOnCommit where concerned.contains(projector.name) {
                    try schema.setCheckpoint(appender.lastSequence, of: projector, txn: txn)
                }
                if let shared, !appender.appended.isEmpty {
                    let records = try zip(appender.appended, appender.appendedBytes).map { try SharedRecord(event: $0, storedBytes: $1) }
                    guard let placement = try shared.append(records, builtOn: base, onlyThere: false) else { throw SharedLogMoved() }
                    sharedOutcomes = outcomes
                    guard placement.after == base else { throw PlacedElsewhere(base: base, placement: placement, built: appender.appendedBytes) }
                    guard placement.last == appender.head else {
                        throw EventStoreError(.notAMirror, "the shared log stored records \(base.sequence + 1)–\(placement.last.sequence) otherwise than this store built them\(Self.notAMirrorAdvice)")
                    }
                } else if let shared, outcomes.contains(where: { if case .failure = $0 { true } else { false } }) {
                    // A refusal (no such session, a version conflict…) stands only if nothing was
                    // appended elsewhere since: an append that went through proves it, this checks it.
                    guard try shared.head() == base else { throw SharedLogMoved() }
                }
                return (outcomes, appender.appended, appender.appendedBytes)
            }
            configuration.commitObserver?(batch.count, ContinuousClock.now - started)
            // Readers overlay the tail: add it before answering, so every answer is readable at once.
            tail.append(appended)
            for (append, outcome) in zip(batch, outcomes) { append.completion(outcome.mapError { $0 }) }
            feed.publish(appended, sizes: stored.map(\.count))
            return .committed(deletion: appended.contains { if case .sessionDeleted = $0.event { true } else { false } })
        } catch is SharedLogMoved {
            return .outdated
        } catch let placed as PlacedElsewhere {
            let outcome = placedElsewhere(batch, outcomes: sharedOutcomes ?? [], placed, shared: shared)
            configuration.commitObserver?(batch.count, ContinuousClock.now - started)
            return outcome
        } catch {
            if let sharedOutcomes {
                // The shared log holds the batch; the mirror takes it from there next time.
                for (append, outcome) in zip(batch, sharedOutcomes) { append.completion(outcome.mapError { $0 }) }
                return .committed(deletion: false)
            }
            return fail(batch, error, shared: shared)
        }
    }

    /// Answers a batch the shared log placed after records of other stores: brings the mirror up
    /// to them and to the batch as placed (from what the shared log sent along, else by reading
    /// it), then answers the appends that went through with their positions as placed.
    private func placedElsewhere(
        _ batch: [PendingAppend], outcomes: [Result<AppendResult, EventStoreError>], _ placed: PlacedElsewhere, shared: (any SharedLog)?
    ) -> CommitOutcome {
        var deletion = false
        do {
            if let missed = placed.placement.missed {
                var stored = missed
                var previous = placed.placement.after.hash
                for (offset, record) in placed.built.enumerated() {
                    stored.append(try EventCodec.placing(record, at: placed.placement.after.sequence + 1 + UInt64(offset), after: previous))
                    previous = EventHash(bytes: Array(stored[stored.count - 1].suffix(32)))
                }
                let applied = try applyMirrored(stored, after: placed.base)
                if applied.head != placed.placement.last {
                    throw EventStoreError(.notAMirror, "the shared log placed records \(placed.placement.after.sequence + 1)–\(placed.placement.last.sequence) otherwise than this store\(Self.notAMirrorAdvice)")
                }
                deletion = applied.deleted
            } else if let shared {
                deletion = try mirror(shared)
            }
        } catch {
            // The shared log holds the batch: the mirror catches up at the next batch or poll.
        }
        let shift = placed.placement.after.sequence - placed.base.sequence
        var refused: [PendingAppend] = []
        for (append, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .success(var result):
                for index in result.positions.indices where result.positions[index].sequence > placed.base.sequence {
                    result.positions[index].sequence += shift
                }
                append.completion(.success(result))
            case .failure:
                refused.append(append)
            }
        }
        return .placedElsewhere(deletion: deletion, refused: refused)
    }

    /// Answers a batch whose transaction failed. Over a shared log, or when the disk or map is
    /// full, every append fails alike; otherwise each is committed alone, so only the one at
    /// fault fails.
    private func fail(_ batch: [PendingAppend], _ error: any Error, shared: (any SharedLog)?) -> CommitOutcome {
        let failure: any Error
        switch error {
        case let error as LMDBError where error.isMapFull:
            failure = EventStoreError(.storageFull, "the log reached its maximum map size of \(configuration.maximumMapSize) bytes")
        case let error as LMDBError where error.isDiskFull:
            // Nothing of the batch was committed; the environment stays usable, and the next
            // commit succeeds once space is freed.
            failure = EventStoreError(.storageFull, "no space left on the device holding the log (\(error.code == EDQUOT ? "quota exceeded" : "disk full"))")
        case let error where shared != nil:
            failure = shared.map { Self.unavailable(error, $0) } ?? error
        default:
            if batch.count == 1 {
                batch[0].completion(.failure(error))
                return .failed
            }
            return batch.map { commit([$0]) }.contains(where: \.heldDeletion) ? .committed(deletion: true) : .failed
        }
        for append in batch { append.completion(.failure(failure)) }
        return .failed
    }

    /// The store's error for a failure of the shared log (others pass through).
    private static func unavailable(_ error: any Error, _ shared: any SharedLog) -> any Error {
        guard let error = error as? SharedLogError else { return error }
        let outcome = error.outcomeUnknown ? "; the outcome of the commit is unknown (a retry with the same message id is safe)" : "; nothing was written"
        return EventStoreError(.sharedLogUnavailable, "the shared log at \(shared.location) is unavailable: \(error.message)\(outcome)")
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        max(0, Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
