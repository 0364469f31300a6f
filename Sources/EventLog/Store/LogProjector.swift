import Crypto
import Dispatch
import Foundation
import Synchronization

/// A read model derived from the log and kept in tables of the same LMDB environment.
///
/// The store's writer calls ``apply(_:in:)`` for committed events in batches, in log order, and
/// advances the projector's checkpoint (the last sequence it applied) in the same transaction;
/// readers overlay the events after the checkpoint (``ConversationViews`` folds them in), and a
/// projector behind the log catches up when the store opens.
///
/// A projector must be deterministic: its ``makeFold()`` (a fold of the whole log in memory) must
/// produce exactly the rows that applying the same events one by one leaves in its tables.
/// ``EventStore/rebuild(_:progress:)`` and ``EventStore/verifyProjections(progress:)`` rely on it.
public protocol LogProjector: Sendable {
    /// A short stable name (`sessions`, `window`): the key of its checkpoint and of CLI options.
    var name: String { get }
    /// The tables it owns, in a fixed order.
    var tables: [LMDBDatabase] { get }
    /// The parameters its rows depend on (such as the window's capacity), as bytes. When a store
    /// opens with a projector whose fingerprint differs from the one its tables were built with,
    /// the projection is rebuilt from the log.
    var fingerprint: [UInt8] { get }
    /// Applies one appended event to the tables.
    func apply(_ event: RecordedEvent, in txn: borrowing LMDBTransaction) throws
    /// An empty in-memory fold of this projection, to be fed the whole log.
    func makeFold() -> any ProjectionFold
    /// Whether the writer applies it inside each commit's own transaction, right after each append
    /// (so ``AppendPrecondition``s can read it, and reads need no overlay), instead of in later
    /// batches. For projections whose events are rare next to messages. Default: false.
    var appliesOnCommit: Bool { get }
    /// Whether applying `event` may change its tables (default: true). A projector applied on
    /// commit is applied, and its checkpoint written, only in commits holding such events, so a
    /// commit of other events writes nothing but the log; its checkpoint may then lag the head,
    /// with nothing after it that concerns it.
    func concerns(_ event: Event) -> Bool
}

extension LogProjector {
    public var appliesOnCommit: Bool { false }
    public func concerns(_ event: Event) -> Bool { true }
}

/// A projection folded in memory from the whole log, for rebuilds and verification.
public protocol ProjectionFold {
    /// Folds in the next event of the log.
    mutating func add(_ event: RecordedEvent)
    /// The complete contents of the projector's tables (same order), each table's rows sorted by key.
    func rows() -> [PackedRows]
}

/// One key and value of a projection table.
public struct ProjectionRow: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// Opens the projectors' tables inside the store's opening transaction (created when it is
/// writable). Its second argument holds the fingerprints the stored projections were built with,
/// by projector name, so a reader can open a projector exactly as it was built.
public typealias ProjectorFactory = @Sendable (borrowing LMDBTransaction, [String: [UInt8]]) throws -> [any LogProjector]

/// What ``EventStore/rebuild(_:progress:)`` did.
public struct RebuildSummary: Sendable, Hashable {
    /// The events of the log folded.
    public var eventsFolded: UInt64 = 0
    /// Rows put into the projections' tables because they were missing or held another value.
    public var rowsWritten = 0
    /// Rows deleted from the projections' tables because the fold has no such key.
    public var rowsDeleted = 0

    public init(eventsFolded: UInt64 = 0, rowsWritten: Int = 0, rowsDeleted: Int = 0) {
        self.eventsFolded = eventsFolded
        self.rowsWritten = rowsWritten
        self.rowsDeleted = rowsDeleted
    }

    mutating func add(_ other: RebuildSummary) {
        eventsFolded += other.eventsFolded
        rowsWritten += other.rowsWritten
        rowsDeleted += other.rowsDeleted
    }
}

/// How a projection compares with a fresh fold of the log.
public struct ProjectionCheck: Sendable, Hashable {
    public var name: String
    /// SHA-256 over the stored tables' keys and values, in key order.
    public var storedDigest: String
    /// The same digest over a fresh fold of the log through the projection's checkpoint.
    public var freshDigest: String
    /// The last sequence the projection has applied, and the log's head. A projection lags the
    /// log by design (a running daemon applies events in batches, and its reads overlay the
    /// rest), so a checkpoint behind the head is not a difference.
    public var checkpoint: UInt64
    public var head: UInt64
    /// Whether the tables were built with the projector's current parameters.
    public var fingerprintMatches: Bool

    public var holds: Bool { storedDigest == freshDigest && checkpoint <= head && fingerprintMatches }
}

extension LogSchema {
    static func checkpointKey(_ projector: String) -> [UInt8] { Array("checkpoint.\(projector)".utf8) }
    /// Set while a projection applied on commit is behind events that concern it (after a rebuild
    /// swapped in tables folded from an older snapshot): the writer catches it up first.
    static func behindKey(_ projector: String) -> [UInt8] { Array("behind.\(projector)".utf8) }
    static let fingerprintPrefix = Array("fingerprint.".utf8)

    /// The fingerprints stored for every projection, by name.
    func storedFingerprints(txn: borrowing LMDBTransaction) throws -> [String: [UInt8]] {
        try txn.withCursor(meta) { cursor in
            var fingerprints: [String: [UInt8]] = [:]
            var entry = try cursor.seek(atOrAfter: Self.fingerprintPrefix)
            while let current = entry, current.key.starts(with: Self.fingerprintPrefix) {
                fingerprints[String(decoding: current.key.dropFirst(Self.fingerprintPrefix.count), as: UTF8.self)] = Array(current.value)
                entry = try cursor.next()
            }
            return fingerprints
        }
    }

    /// Records the projector's fingerprint; when it changed, drops its checkpoint so that the
    /// next catch-up rebuilds it from the log.
    func adoptFingerprint(of projector: any LogProjector, stored: [String: [UInt8]], txn: borrowing LMDBTransaction) throws {
        guard stored[projector.name] != projector.fingerprint else { return }
        try txn.put(meta, key: Self.fingerprintPrefix + Array(projector.name.utf8), value: projector.fingerprint)
        try txn.delete(meta, key: Self.checkpointKey(projector.name))
    }

    func checkpoint(of projector: any LogProjector, txn: borrowing LMDBTransaction) throws -> UInt64 {
        try txn.get(meta, key: Self.checkpointKey(projector.name)).map { Self.readUInt64($0) } ?? 0
    }

    func setCheckpoint(_ sequence: UInt64, of projector: any LogProjector, txn: borrowing LMDBTransaction) throws {
        try txn.put(meta, key: Self.checkpointKey(projector.name), value: Self.bigEndianBytes(sequence))
    }
}

extension EventStore {
    /// The projectors' names.
    public var projectorNames: [String] { projectors.map(\.name) }

    /// Applies to `projectors` every event of the log after their checkpoints, reading the log once
    /// (from the oldest checkpoint), in write transactions of at most `chunk` events.
    /// - Returns: the sequence through which every projector has now applied the log (its head).
    @discardableResult
    static func materialize(
        _ projectors: [any LogProjector],
        schema: LogSchema,
        environment: LMDBEnvironment,
        chunk: Int = 20_000
    ) throws -> UInt64 {
        while true {
            let (count, through) = try environment.writeGrowingMap { txn -> (Int, UInt64) in
                var checkpoints: [UInt64] = []
                for projector in projectors {
                    let checkpoint = try schema.checkpoint(of: projector, txn: txn)
                    // No checkpoint: whatever the tables hold is not known to match the log; start afresh.
                    if checkpoint == 0 { for table in projector.tables { try txn.clear(table) } }
                    checkpoints.append(checkpoint)
                }
                var last = checkpoints.min() ?? 0
                var count = 0
                try txn.withCursor(schema.events) { cursor in
                    var entry = try cursor.seek(atOrAfter: LogSchema.sequenceKey(last + 1))
                    while let current = entry, count < chunk {
                        let record = try EventCodec.decodeRecord(current.value)
                        for (projector, checkpoint) in zip(projectors, checkpoints) where checkpoint < record.sequence {
                            try projector.apply(record, in: txn)
                        }
                        last = record.sequence
                        count += 1
                        entry = try cursor.next()
                    }
                }
                for (projector, checkpoint) in zip(projectors, checkpoints) where checkpoint < last {
                    try schema.setCheckpoint(last, of: projector, txn: txn)
                    if projector.appliesOnCommit, count < chunk { try txn.delete(schema.meta, key: LogSchema.behindKey(projector.name)) }
                }
                return (count, max(last, checkpoints.max() ?? 0))
            }
            if count < chunk { return through }
        }
    }

    /// Brings the projections applied on commit that a rebuild left behind up to `head` inside
    /// `txn`: the writer's first step in each commit (one read per projector when none is behind).
    static func catchUp(_ projectors: [any LogProjector], through head: UInt64, schema: LogSchema, txn: borrowing LMDBTransaction) throws {
        for projector in projectors where try txn.get(schema.meta, key: LogSchema.behindKey(projector.name)) != nil {
            let checkpoint = try schema.checkpoint(of: projector, txn: txn)
            try txn.withCursor(schema.events) { cursor in
                var entry = try cursor.seek(atOrAfter: LogSchema.sequenceKey(checkpoint + 1))
                while let current = entry {
                    let record = try EventCodec.decodeRecord(current.value)
                    if projector.concerns(record.event) { try projector.apply(record, in: txn) }
                    entry = try cursor.next()
                }
            }
            try schema.setCheckpoint(head, of: projector, txn: txn)
            try txn.delete(schema.meta, key: LogSchema.behindKey(projector.name))
        }
    }

    /// Applies every committed event to the projections now, instead of waiting for the writer's
    /// next batch (see ``Configuration/materializeInterval``); for tools and tests that compare the
    /// stored tables with the log's head. Reads never need it: they overlay what is not applied.
    public func materializeProjections() throws {
        tail.dropThrough(try Self.materialize(projectors, schema: schema, environment: environment))
    }

    /// Rebuilds the named projections (all when `names` is empty) from the whole log: folds a read
    /// snapshot without LMDB's write lock (appends, from this process or another, go on), swaps the
    /// tables in one write transaction (readers see the old tables or the new ones, never a mix;
    /// the new ones are checkpointed at the snapshot's head), then applies what was appended meanwhile.
    ///
    /// The swap writes only the rows that differ from the fold (all of them when the tables were
    /// built with other parameters): rebuilding sound projections rewrites nothing, and the
    /// summary tells how many rows were not.
    /// - Parameter progress: called every 100,000 events read, with the count so far.
    /// - Throws: ``EventStoreError/Code/invalidAppend`` for an unknown name.
    @discardableResult
    public func rebuild(_ names: [String] = [], progress: (UInt64) -> Void = { _ in }) throws -> RebuildSummary {
        let selected = try selectProjectors(names)
        var summary = RebuildSummary()
        // Fold a snapshot without LMDB's write lock, so appends go on meanwhile...
        let (fresh, through): ([[PackedRows]], UInt64)
        (fresh, summary.eventsFolded, through) = try environment.read { txn in
            let through = try headSequence(txn: txn)
            let (fresh, folded) = try freshRows(of: selected, txn: txn, progress: progress)
            return (fresh, folded, through)
        }
        // ...swap the tables in (checkpoint: the snapshot's head)...
        try environment.writeGrowingMap { txn in
            let stored = try schema.storedFingerprints(txn: txn)
            for (projector, rows) in zip(selected, fresh) {
                // Tables built with other parameters are rewritten whole; others only where they differ.
                let rebuiltWhole = stored[projector.name] != projector.fingerprint
                for (table, tableRows) in zip(projector.tables, rows) {
                    if rebuiltWhole { try txn.clear(table) }
                    summary.add(try Self.replaceContents(of: table, with: tableRows, txn: txn))
                }
                try schema.adoptFingerprint(of: projector, stored: stored, txn: txn)
                try schema.setCheckpoint(through, of: projector, txn: txn)
                // Appends since the snapshot may concern it: the writer catches it up before its next commit.
                if projector.appliesOnCommit { try txn.put(schema.meta, key: LogSchema.behindKey(projector.name), value: []) }
            }
        }
        // ...and apply what was appended during the fold.
        try materializeProjections()
        return summary
    }

    /// Makes `table` hold exactly `rows` (sorted by key, as LMDB orders them), writing only what
    /// differs: a merge of the stored rows with `rows`, then the stored rows missing from `rows`
    /// deleted, the rows missing or different put, and those past the last stored key appended.
    private static func replaceContents(of table: LMDBDatabase, with rows: PackedRows, txn: borrowing LMDBTransaction) throws -> RebuildSummary {
        var stale: [[UInt8]] = []
        var differing: [Int] = []
        var pastStored = 0
        try txn.withCursor(table) { cursor in
            var entry = try cursor.first()
            while let stored = entry {
                let order = pastStored == rows.count ? -1 : rows.withRow(pastStored) { key, _ in LogSchema.order(stored.key, key) }
                if order < 0 {
                    stale.append(Array(stored.key))
                    entry = try cursor.next()
                } else if order > 0 {
                    differing.append(pastStored)
                    pastStored += 1
                } else {
                    if !rows.withRow(pastStored, { _, value in stored.value.elementsEqual(value) }) { differing.append(pastStored) }
                    pastStored += 1
                    entry = try cursor.next()
                }
            }
        }
        for key in stale { try txn.delete(table, key: key) }
        for index in differing { try rows.withRow(index) { key, value in try txn.put(table, key: key, value: value) } }
        // Every key left in the table now precedes these.
        for index in pastStored..<rows.count { try rows.withRow(index) { key, value in try txn.put(table, key: key, value: value, append: true) } }
        return RebuildSummary(rowsWritten: differing.count + rows.count - pastStored, rowsDeleted: stale.count)
    }

    /// Compares each projection with a fresh fold of the log through its checkpoint (digests of
    /// every key and value).
    public func verifyProjections() throws -> [ProjectionCheck] {
        try environment.read { txn in
            let head = try headSequence(txn: txn)
            let fingerprints = try schema.storedFingerprints(txn: txn)
            let checkpoints = try projectors.map { try schema.checkpoint(of: $0, txn: txn) }
            let (fresh, _) = try freshRows(of: projectors, through: checkpoints, txn: txn) { _ in }
            return try zip(projectors, fresh).map { projector, rows in
                var freshHasher = SHA256()
                for tableRows in rows {
                    for index in 0..<tableRows.count { tableRows.withRow(index) { key, value in Self.digest(key: key, value: value, into: &freshHasher) } }
                }
                var storedHasher = SHA256()
                for table in projector.tables {
                    try txn.withCursor(table) { cursor in
                        var entry = try cursor.first()
                        while let current = entry {
                            Self.digest(key: current.key, value: current.value, into: &storedHasher)
                            entry = try cursor.next()
                        }
                    }
                }
                return ProjectionCheck(
                    name: projector.name,
                    storedDigest: Array(storedHasher.finalize()).hexString,
                    freshDigest: Array(freshHasher.finalize()).hexString,
                    checkpoint: try schema.checkpoint(of: projector, txn: txn),
                    head: head,
                    fingerprintMatches: fingerprints[projector.name] == projector.fingerprint
                )
            }
        }
    }

    /// Folds the whole log once (each projector's fold through its sequence in `through`, when
    /// given), into every given projector's fold; returns their rows and the number of events
    /// read. `progress` is called every 100,000 events.
    private func freshRows(
        of selected: [any LogProjector],
        through: [UInt64]? = nil,
        txn: borrowing LMDBTransaction,
        progress: (UInt64) -> Void
    ) throws -> ([[PackedRows]], UInt64) {
        let folds = ConcurrentFolds(selected.map { $0.makeFold() }, limits: through ?? Array(repeating: .max, count: selected.count))
        var folded: UInt64 = 0
        try txn.withCursor(schema.events) { cursor in
            var entry = try cursor.first()
            var stored: [UnsafeRawBufferPointer] = []
            stored.reserveCapacity(Self.foldChunk)
            while entry != nil {
                stored.removeAll(keepingCapacity: true)
                while let current = entry, stored.count < Self.foldChunk {
                    stored.append(current.value)
                    entry = try cursor.next()
                }
                let chunk = try Self.decodeConcurrently(stored)
                folds.add(chunk)
                let before = folded
                folded += UInt64(chunk.count)
                if folded / 100_000 > before / 100_000 { progress(folded) }
            }
        }
        return (folds.rows(), folded)
    }

    /// Records decoded at a time by ``freshRows(of:through:txn:progress:)``, then folded on every core.
    private static let foldChunk = 4_096

    /// Decodes stored records (borrowed from the read transaction's map) on every core, in order;
    /// throws the error of the first record that does not decode.
    private static func decodeConcurrently(_ stored: [UnsafeRawBufferPointer]) throws(RecordDecodingError) -> [RecordedEvent] {
        let stripes = max(1, min(ProcessInfo.processInfo.activeProcessorCount, stored.count / 256))
        let decoded = Mutex([Result<[RecordedEvent], RecordDecodingError>](repeating: .success([]), count: stripes))
        let shared = UncheckedSendable(stored)
        DispatchQueue.concurrentPerform(iterations: stripes) { stripe in
            let stored = shared.value
            let stripeRecords = stored[stored.count * stripe / stripes..<stored.count * (stripe + 1) / stripes]
            let result = Result { () throws(RecordDecodingError) in try stripeRecords.map { record throws(RecordDecodingError) in try EventCodec.decodeRecord(record) } }
            decoded.withLock { $0[stripe] = result }
        }
        var records: [RecordedEvent] = []
        records.reserveCapacity(stored.count)
        for stripe in decoded.withLock({ $0 }) { records += try stripe.get() }
        return records
    }

    private static func digest(key: some Collection<UInt8>, value: some Collection<UInt8>, into hasher: inout SHA256) {
        hasher.update(data: LogSchema.bigEndianBytes(UInt64(key.count)))
        hasher.update(data: Array(key))
        hasher.update(data: LogSchema.bigEndianBytes(UInt64(value.count)))
        hasher.update(data: Array(value))
    }

    private func selectProjectors(_ names: [String]) throws -> [any LogProjector] {
        guard !names.isEmpty else { return projectors }
        return try names.map { name in
            guard let projector = projectors.first(where: { $0.name == name }) else {
                throw EventStoreError(.invalidAppend, "no projection named \(name) (known: \(projectorNames.joined(separator: ", ")))")
            }
            return projector
        }
    }

    func headSequence(txn: borrowing LMDBTransaction) throws -> UInt64 {
        try txn.withCursor(schema.events) { cursor in try cursor.last().map { LogSchema.readUInt64($0.key) } ?? 0 }
    }
}

/// Projection folds fed the log on every core: each chunk of records goes to all the folds at
/// once, one fold per task (the folds are independent), and their rows are made the same way.
private final class ConcurrentFolds: @unchecked Sendable {
    // Sendable by construction: during `add` and `rows`, fold `i` is touched by task `i` only,
    // and the chunk and limits are read-only.
    private let folds: UnsafeMutableBufferPointer<any ProjectionFold>
    /// The last sequence each fold takes.
    private let limits: [UInt64]

    init(_ folds: [any ProjectionFold], limits: [UInt64]) {
        self.folds = .allocate(capacity: folds.count)
        _ = self.folds.initialize(from: folds)
        self.limits = limits
    }

    deinit {
        folds.deinitialize()
        folds.deallocate()
    }

    /// Folds in the next records of the log, in order.
    func add(_ chunk: [RecordedEvent]) {
        DispatchQueue.concurrentPerform(iterations: folds.count) { index in
            let limit = limits[index]
            for record in chunk where record.sequence <= limit { folds[index].add(record) }
        }
    }

    /// Each fold's rows (``ProjectionFold/rows()``), in the order of the folds.
    func rows() -> [[PackedRows]] {
        // Each task writes its own element only.
        nonisolated(unsafe) let rows = UnsafeMutableBufferPointer<[PackedRows]>.allocate(capacity: folds.count)
        rows.initialize(repeating: [])
        defer {
            rows.deinitialize()
            rows.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: folds.count) { index in rows[index] = folds[index].rows() }
        return Array(rows)
    }
}
