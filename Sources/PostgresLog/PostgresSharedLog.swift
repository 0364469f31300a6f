import EventLog
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The log of record in PostgreSQL, shared by a fleet of daemons (see ``SharedLog``).
///
/// One chain for the whole fleet, whose order the database assigns: an append is one call of the
/// `convlog_append` procedure (``PostgresSchema/appendProcedure``), which, under an advisory
/// lock, places the records after the stored head, chains them there and commits, then marks
/// them durable — one round trip, answered once durable. The lock is released before the flush
/// (so the fleet's commits share flushes), which makes records visible a moment before they are
/// durable: daemons read only records under the highest durability mark
/// (``PostgresSchema/appendProcedureMarkingDurability``), so a mirror never holds a record a
/// PostgreSQL crash could lose. Daemons never build a commit twice because another appended
/// first; only two daemons appending to the same session at once collide (on the session's
/// version), and the one that lost builds again. Records are stored byte for byte as in the LMDB
/// log (the envelope in `convlog_events`, the payload in `convlog_payloads`), so the chain
/// verifies the same way on either. Every statement is parameterised. See ``PostgresSchema``
/// for the tables.
///
/// One connection, used by one thread at a time (the store's writer, or a tool), opened on first
/// use and again after it is lost: while PostgreSQL is down each call fails with a
/// ``SharedLogError``, and the next one after it is back succeeds.
public final class PostgresSharedLog: SharedLog, @unchecked Sendable {
    public let location: String
    private let settings: PostgresLocation
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let logger: Logger
    // Guarded by `lock`.
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var isClosed = false

    /// The SQLSTATE of a unique violation: another daemon appended to the same session first.
    private static let uniqueViolation = "23505"
    /// The advisory lock key of appends: the append procedure takes it for its transaction, and
    /// a reservation for the session (so the reserving daemon's next append cannot be outdated).
    /// The append statement of schema 1 took it shared, so daemons of both versions exclude each other.
    static let appendLock: Int64 = 0x636F_6E76_6C6F_6702  // "convlog" + 2
    /// Whether this connection holds the append lock (writer thread only).
    private var isReserved = false

    /// Connects to `location`, creating or migrating the tables (once, under an advisory lock).
    /// - Throws: ``SharedLogError`` when the database cannot be reached or refuses.
    public init(_ location: PostgresLocation, logger: Logger = Logger(label: "convlog.postgres")) throws {
        self.location = location.description
        settings = location
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        self.logger = quiet
        do {
            _ = try PostgresSchema.migrate(try connected(), logger: self.logger)
        } catch {
            close()
            throw Self.sharedLogError(error, during: "preparing the convlog tables")
        }
    }

    deinit {
        close()
    }

    public func head() throws -> ChainHead {
        try run("reading the shared log's head") { connection in
            // The last durable record (see `PostgresSchema.appendProcedureMarkingDurability`).
            let rows = try connection.answer(
                PostgresQuery(unsafeSQL: "SELECT e.sequence, e.hash FROM convlog_events e WHERE e.sequence = \(PostgresSchema.durableHead)"),
                logger: logger
            ).rows
            guard let row = rows.first else { return ChainHead(sequence: 0, hash: .genesis) }
            let (sequence, hash) = try row.decode((Int64, ByteBuffer).self)
            guard hash.readableBytes == 32 else { throw SharedLogError("convlog_events holds a hash of \(hash.readableBytes) bytes at sequence \(sequence)") }
            return ChainHead(sequence: UInt64(sequence), hash: EventHash(bytes: Array(buffer: hash)))
        }
    }

    public func records(after sequence: UInt64, limit: Int) throws -> [[UInt8]] {
        try run("reading records after \(sequence)") { connection in
            let rows = try connection.answer(
                """
                SELECT e.envelope, (SELECT p.payload FROM convlog_payloads p WHERE p.sequence = e.sequence)
                FROM convlog_events e WHERE e.sequence > \(Int64(sequence)) AND e.sequence <= \(unescaped: PostgresSchema.durableHead)
                ORDER BY e.sequence LIMIT \(limit)
                """,
                logger: logger
            ).rows
            return try rows.map { row in
                let (envelope, payload) = try row.decode((ByteBuffer, ByteBuffer?).self)
                return try SharedRecord.storedBytes(envelope: Array(buffer: envelope), payload: payload.map { Array(buffer: $0) })
            }
        }
    }

    public func append(_ records: [SharedRecord], builtOn head: ChainHead, onlyThere: Bool) throws -> SharedPlacement? {
        guard let first = records.first?.event else { return SharedPlacement(after: head, last: head, missed: []) }
        precondition(first.sequence == head.sequence + 1, "shared records directly follow the head they were built on")
        let call = AppendCall(records, builtOn: head, onlyThere: onlyThere)
        let connection = try connected()
        let what = "appending records built on \(head.sequence) (\(records.count))"
        let placed: AppendCall.Row
        do {
            do {
                guard let row = try connection.answer(call.query, logger: logger).rows.first else {
                    throw SharedLogError("convlog_append answered no row")
                }
                placed = try AppendCall.decode(row)
            } catch let error as SharedLogError {
                throw SharedLogError(error.message, outcomeUnknown: true)  // no answer in time: the call's outcome is unknown
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.uniqueViolation {
            // Another store appended to one of these sessions first: nothing was written.
            return nil
        } catch {
            // The call commits before it answers: lost on the way, its outcome is unknown.
            throw failure(error, on: connection, during: what, outcomeUnknown: true)
        }
        guard let lastHash = placed.lastHash else { return nil }
        let after = ChainHead(sequence: UInt64(placed.after), hash: EventHash(bytes: placed.afterHash))
        let missed = try placed.missed.map { pairs in
            try pairs.map { try SharedRecord.storedBytes(envelope: $0.envelope, payload: $0.payload) }
        }
        return SharedPlacement(
            after: after,
            last: ChainHead(sequence: after.sequence + UInt64(records.count), hash: EventHash(bytes: lastHash)),
            missed: after == head ? [] : missed
        )
    }

    /// Takes the append lock for this connection's session, then marks every stored record
    /// durable (its commit flushes those whose appends have not awaited their flush yet), so
    /// that the mirror can take them all before it builds the next append.
    public func reserve() throws {
        guard !isReserved else { return }
        try run("waiting for the append lock") { connection in
            _ = try connection.answer("SELECT pg_advisory_lock(\(Self.appendLock))", logger: logger)
            isReserved = true
            _ = try connection.answer(
                PostgresQuery(unsafeSQL: PostgresSchema.markStoredDurable),
                logger: logger
            )
        }
    }

    public func releaseReservation() {
        guard isReserved else { return }
        isReserved = false
        // A lost connection took the lock with it.
        _ = try? run("releasing the append lock") { connection in try connection.answer("SELECT pg_advisory_unlock(\(Self.appendLock))", logger: logger) }
    }

    public func close() {
        let open: PostgresConnection? = lock.withLock {
            guard !isClosed else { return nil }
            isClosed = true
            defer { connection = nil }
            return connection
        }
        _ = try? open?.closeKeepingAlive().wait(atMost: PostgresConnection.answerTimeout)
        try? group.syncShutdownGracefully()
    }

    /// Runs `body` on the connection; a failure becomes a ``SharedLogError`` naming `what`.
    func run<Result>(_ what: String, _ body: (PostgresConnection) throws -> Result) throws -> Result {
        let connection = try connected()
        do {
            return try body(connection)
        } catch {
            throw failure(error, on: connection, during: what)
        }
    }

    /// The open connection, or a new one.
    private func connected() throws -> PostgresConnection {
        if let connection = lock.withLock({ connection }), !connection.isClosed { return connection }
        guard !lock.withLock({ isClosed }) else { throw SharedLogError("the shared log was closed") }
        do {
            let connecting = PostgresConnection.connect(on: group.next(), configuration: try settings.configuration(), id: 1, logger: logger)
            guard let connection = try connecting.wait(atMost: PostgresConnection.answerTimeout) else {
                connecting.whenSuccess { $0.closeKeepingAlive() }
                throw SharedLogError("connecting: no answer within \(PostgresConnection.answerTimeout)")
            }
            lock.withLock { self.connection = connection }
            return connection
        } catch {
            throw Self.sharedLogError(error, during: "connecting")
        }
    }

    /// The ``SharedLogError`` for `error`; a connection that failed is dropped, to be opened anew.
    /// - Parameter outcomeUnknown: whether the failed statement was a commit, whose effect is then
    ///   unknown unless the server answered (refusing it).
    private func failure(_ error: any Error, on connection: PostgresConnection, during what: String, outcomeUnknown: Bool = false) -> SharedLogError {
        let serverAnswered = (error as? PSQLError)?.code == .server
        if error is PSQLError, !serverAnswered {
            lock.withLock { if self.connection === connection { self.connection = nil } }
            connection.closeKeepingAlive()
        }
        var failure = Self.sharedLogError(error, during: what)
        failure.outcomeUnknown = outcomeUnknown && !serverAnswered
        return failure
    }

    /// A message for `error` that names what failed without leaking data (PSQLError's own
    /// description is deliberately vague; its reflection holds the query's bound values).
    static func sharedLogError(_ error: any Error, during what: String) -> SharedLogError {
        if let error = error as? SharedLogError { return error }
        guard let error = error as? PSQLError else { return SharedLogError("\(what): \(error)") }
        if let server = error.serverInfo {
            let state = server[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return SharedLogError("\(what): \(server[.message] ?? "the server refused")\(state)")
        }
        let cause = error.underlying.map { ": \($0)" } ?? ""
        return SharedLogError("\(what): \(error.code)\(cause)")
    }
}

/// The result of an async call, handed to the thread that waits for it (written before the
/// semaphore is signalled, read after).
private final class Outcome<Value: Sendable>: @unchecked Sendable {
    var result: Result<Value, any Error>?
}

/// The call of an append (the `convlog_append` procedure, see ``PostgresSchema/appendProcedure``,
/// whose statements PL/pgSQL prepares once per connection): the records' canonical bytes and
/// indexed fields, their payloads, a deletion's erasure of the session's earlier payloads, the
/// sessions' rows; it answers where the records were placed.
struct AppendCall {
    /// Where the records went (see ``PostgresSchema/appendProcedure``).
    struct Row {
        var after: Int64
        var afterHash: [UInt8]
        /// Nil: nothing was written.
        var lastHash: [UInt8]?
        /// The records between the head built on and ``after`` (nil: not sent).
        var missed: [(envelope: [UInt8], payload: [UInt8]?)]?
    }

    private static let sql = "CALL convlog_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, NULL, NULL, NULL, NULL, NULL)"

    /// The most records of other stores an append brings back (a mirror further behind reads them apart).
    static let maximumMissed: Int64 = 1_000

    private let bindings: PostgresBindings

    /// - Parameter onlyThere: write nothing unless the shared log still ends at `head`.
    init(_ records: [SharedRecord], builtOn head: ChainHead, onlyThere: Bool) {
        // A session deleted within the batch: its earlier records of the batch go in already erased
        // (the procedure's erasure only sees rows stored before it).
        var deletions: [String: UInt64] = [:]
        var sessions: [String: (version: Int64, updated: Int64, deleted: Bool)] = [:]
        for record in records {
            let event = record.event
            let deleted: Bool
            switch event.event {
            case .sessionDeleted:
                deletions[event.sessionID] = event.sessionVersion
                deleted = true
            case .sessionCreated: deleted = false
            default: deleted = sessions[event.sessionID]?.deleted ?? false
            }
            sessions[event.sessionID] = (Int64(event.sessionVersion), event.timestamp, deleted)
        }
        let withPayload = records.enumerated().filter { _, record in
            record.payload != nil && deletions[record.event.sessionID].map { record.event.sessionVersion >= $0 } ?? true
        }
        let erasures = deletions.sorted { $0.key < $1.key }
        let touched = sessions.sorted { $0.key < $1.key }
        var bindings = PostgresBindings(capacity: 17)
        bindings.append(records.map(\.event.sessionID))
        bindings.append(records.map { Int64($0.event.sessionVersion) })
        bindings.append(records.map(\.event.event.typeName))
        bindings.append(records.map(\.event.timestamp))
        bindings.append(records.map { ByteBuffer(bytes: $0.canonicalBytes) })
        bindings.append(withPayload.map { Int64($0.offset + 1) })
        bindings.append(withPayload.map { ByteBuffer(bytes: $0.element.payload ?? []) })
        bindings.append(erasures.map(\.key))
        bindings.append(erasures.map { Int64($0.value) })
        bindings.append(touched.map(\.key))
        bindings.append(touched.map(\.value.version))
        bindings.append(touched.map(\.value.updated))
        bindings.append(touched.map(\.value.deleted))
        bindings.append(Int64(head.sequence))
        bindings.append(onlyThere)
        bindings.append(Self.maximumMissed)
        bindings.append(true)  // `commits`: the call commits (and marks durable) before it answers
        self.bindings = bindings
    }

    /// The call, bound (an unnamed statement: parsing a CALL costs next to nothing, and it is
    /// answered through the connection's future, without a hop through a Swift task).
    var query: PostgresQuery { PostgresQuery(unsafeSQL: Self.sql, binds: bindings) }

    /// Decodes the procedure's answer.
    static func decode(_ row: PostgresRow) throws -> Row {
        let (after, afterHash, lastHash, envelopes, payloads) = try row.decode((Int64, ByteBuffer, ByteBuffer?, [ByteBuffer]?, [ByteBuffer]?).self)
        let missed = envelopes.map { envelopes in
            zip(envelopes, payloads ?? []).map { envelope, payload in
                (envelope: Array(buffer: envelope), payload: payload.readableBytes == 0 ? nil : Array(buffer: payload))
            }
        }
        return Row(after: after, afterHash: Array(buffer: afterHash), lastHash: lastHash.map { Array(buffer: $0) }, missed: missed)
    }
}

extension EventLoopFuture where Value: Sendable {
    /// Waits for the value at most `timeout` (nil: it did not come), from a thread that may block.
    func wait(atMost timeout: DispatchTimeInterval) throws -> Value? {
        let outcome = Outcome<Value>()
        let done = DispatchSemaphore(value: 0)
        whenComplete { result in
            outcome.result = result
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return try outcome.result!.get()
    }
}

extension PostgresConnection {
    /// The longest a daemon waits for PostgreSQL to answer (connecting included): a server that
    /// stopped answering (shutting down, a dead network) turns into StoreUnavailable, not a hang.
    static let answerTimeout = DispatchTimeInterval.seconds(15)

    /// Runs `query` and returns its rows; when no answer comes within ``answerTimeout``, closes
    /// the connection (the caller's next call opens a new one) and throws.
    func answer(_ query: PostgresQuery, logger: Logger) throws -> PostgresQueryResult {
        let pending = self.query(query, logger: logger)
        guard let result = try pending.wait(atMost: Self.answerTimeout) else {
            closeKeepingAlive()
            throw SharedLogError("no answer within \(Self.answerTimeout)")
        }
        return result
    }

    /// Closes the connection, keeping it alive until its channel is closed: one released while
    /// its channel is still open fails PostgresNIO's assertion (and leaks the socket).
    @discardableResult
    func closeKeepingAlive() -> EventLoopFuture<Void> {
        let closing: EventLoopFuture<Void> = close()
        closing.whenComplete { _ in withExtendedLifetime(self) {} }
        return closing
    }
}
