import EventLog
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The log of record in PostgreSQL, shared by a fleet of daemons (see ``SharedLog``).
///
/// One chain for the whole fleet. An append is one transaction of one statement: it inserts the
/// records after the head the daemon built them on, only if the last stored record is that head; two daemons that built on the same head collide on the primary key
/// (the sequence), so exactly one commits and the other is told to catch up and try again.
/// Records are stored byte for byte as in the LMDB log (the envelope in `convlog_events`, the
/// payload in `convlog_payloads`), so the chain verifies the same way on either. Every statement
/// is parameterised. See ``PostgresSchema`` for the tables.
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

    /// The SQLSTATE of a unique violation: another daemon appended the same sequence first.
    private static let uniqueViolation = "23505"
    /// The advisory lock key of appends: each append takes it shared (appends run concurrently and
    /// collide on the sequence), a reservation exclusive (appends wait for it, and, queued behind
    /// it, new ones too: a daemon that lost once wins next).
    static let appendLock: Int64 = 0x636F_6E76_6C6F_6702  // "convlog" + 2
    /// Whether a transaction holding the append lock exclusively is open (writer thread only).
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
            let rows = try connection.answer("SELECT sequence, hash FROM convlog_events ORDER BY sequence DESC LIMIT 1", logger: logger).rows
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
                FROM convlog_events e WHERE e.sequence > \(Int64(sequence)) ORDER BY e.sequence LIMIT \(limit)
                """,
                logger: logger
            ).rows
            return try rows.map { row in
                let (envelope, payload) = try row.decode((ByteBuffer, ByteBuffer?).self)
                return try SharedRecord.storedBytes(envelope: Array(buffer: envelope), payload: payload.map { Array(buffer: $0) })
            }
        }
    }

    public func append(_ records: [SharedRecord], after head: ChainHead) throws -> Bool {
        guard let first = records.first?.event, let last = records.last?.event else { return true }
        precondition(first.sequence == head.sequence + 1, "shared records directly follow the head they were built on")
        let statement = AppendStatement(records, after: head, sharingTheLock: !isReserved)
        let connection = try connected()
        let what = "appending records \(first.sequence)–\(last.sequence)"
        // An explicit transaction: postgres-nio completes a statement at its CommandComplete, before
        // the implicit commit of its Sync; the answer to COMMIT comes once the commit is durable.
        defer { isReserved = false }
        do {
            if !isReserved { _ = try connection.answer("BEGIN", logger: logger) }
            let logger = logger
            let inserted: Int
            do {
                inserted = try Self.waiting { try await connection.execute(statement, logger: logger).reduce(0) { $0 + $1 } }
            } catch let error as SharedLogError {
                _ = connection.close() as EventLoopFuture<Void>  // timed out: the statement's outcome is unknown
                throw SharedLogError(error.message, outcomeUnknown: true)
            }
            guard inserted == records.count else {
                _ = try connection.answer("ROLLBACK", logger: logger)
                return false
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.uniqueViolation {
            _ = try? connection.answer("ROLLBACK", logger: logger)
            return false
        } catch {
            if (error as? PSQLError)?.code == .server { _ = try? connection.answer("ROLLBACK", logger: logger) }
            throw failure(error, on: connection, during: what)
        }
        do {
            _ = try connection.answer("COMMIT", logger: logger)
            return true
        } catch {
            throw failure(error, on: connection, during: "committing: \(what)", outcomeUnknown: true)
        }
    }

    public func reserve() throws {
        guard !isReserved else { return }
        try run("waiting for the append lock") { connection in
            _ = try connection.answer("BEGIN", logger: logger)
            do {
                _ = try connection.answer("SELECT pg_advisory_xact_lock(\(Self.appendLock))", logger: logger)
            } catch {
                _ = try? connection.answer("ROLLBACK", logger: logger)
                throw error
            }
        }
        isReserved = true
    }

    public func releaseReservation() {
        guard isReserved else { return }
        isReserved = false
        _ = try? run("releasing the append lock") { connection in try connection.answer("ROLLBACK", logger: logger) }
    }

    public func close() {
        let open: PostgresConnection? = lock.withLock {
            guard !isClosed else { return nil }
            isClosed = true
            defer { connection = nil }
            return connection
        }
        _ = try? (open?.close() as EventLoopFuture<Void>?)?.wait(atMost: PostgresConnection.answerTimeout)
        try? group.syncShutdownGracefully()
    }

    /// Runs async `body` from a thread that may block (the writer, a tool) and returns its result.
    private static func waiting<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value) throws -> Value {
        let outcome = Outcome<Value>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                outcome.result = .success(try await body())
            } catch {
                outcome.result = .failure(error)
            }
            done.signal()
        }
        guard done.wait(timeout: .now() + PostgresConnection.answerTimeout) == .success else {
            throw SharedLogError("no answer within \(PostgresConnection.answerTimeout)")
        }
        return try outcome.result!.get()
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
                connecting.whenSuccess { _ = $0.close() as EventLoopFuture<Void> }
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
            _ = connection.close() as EventLoopFuture<Void>
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

/// The one statement of an append, prepared once per connection (its plan is kept: planning this
/// statement anew cost more than executing it): the records and their payloads inserted only if
/// the stored chain ends at the head they were built on, a deletion's erasure of the session's
/// earlier payloads, the sessions' rows; it answers how many records it inserted.
struct AppendStatement: PostgresPreparedStatement {
    typealias Row = Int

    static let name = "convlog_append_1"

    static let sql = """
        WITH append_lock AS MATERIALIZED (
            SELECT CASE WHEN $1::boolean THEN pg_advisory_xact_lock_shared(\(PostgresSharedLog.appendLock)) END
        ), new_events AS (
            INSERT INTO convlog_events (sequence, session_id, session_version, type, recorded_at, envelope, hash)
            SELECT s, sid, v, t, to_timestamp(ms / 1000.0), env, h
            FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bytea[], $8::bytea[]) AS r(s, sid, v, t, ms, env, h)
            WHERE (SELECT count(*) FROM append_lock) = 1
              AND ($9::bigint = 0 OR EXISTS (SELECT 1 FROM convlog_events WHERE sequence = $9::bigint AND hash = $10::bytea))
            RETURNING sequence
        ), new_payloads AS (
            INSERT INTO convlog_payloads (sequence, payload)
            SELECT * FROM unnest($11::bigint[], $12::bytea[]) WHERE EXISTS (SELECT 1 FROM new_events)
        ), erased AS (
            DELETE FROM convlog_payloads p
            USING convlog_events e, unnest($13::text[], $14::bigint[]) AS d(sid, v)
            WHERE p.sequence = e.sequence AND e.session_id = d.sid AND e.session_version < d.v AND EXISTS (SELECT 1 FROM new_events)
        ), touched AS (
            INSERT INTO convlog_sessions AS s (session_id, version, updated_at, deleted)
            SELECT sid, v, to_timestamp(ms / 1000.0), d
            FROM unnest($15::text[], $16::bigint[], $17::bigint[], $18::boolean[]) AS r(sid, v, ms, d)
            WHERE EXISTS (SELECT 1 FROM new_events)
            ON CONFLICT (session_id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, deleted = excluded.deleted
        )
        SELECT count(*)::bigint FROM new_events
        """

    private let bindings: PostgresBindings

    /// - Parameter sharingTheLock: take the append lock shared (an append not reserved): it waits
    ///   behind a reservation.
    init(_ records: [SharedRecord], after head: ChainHead, sharingTheLock: Bool) {
        // A session deleted within the batch: its earlier records of the batch go in already erased
        // (the statement's erasure only sees rows stored before it).
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
        let withPayload = records.filter { record in
            record.payload != nil && deletions[record.event.sessionID].map { record.event.sessionVersion >= $0 } ?? true
        }
        let erasures = deletions.sorted { $0.key < $1.key }
        let touched = sessions.sorted { $0.key < $1.key }
        var bindings = PostgresBindings(capacity: 18)
        bindings.append(sharingTheLock)
        bindings.append(records.map { Int64($0.event.sequence) })
        bindings.append(records.map(\.event.sessionID))
        bindings.append(records.map { Int64($0.event.sessionVersion) })
        bindings.append(records.map(\.event.event.typeName))
        bindings.append(records.map(\.event.timestamp))
        bindings.append(records.map { ByteBuffer(bytes: $0.envelope) })
        bindings.append(records.map { ByteBuffer(bytes: $0.event.hash.bytes) })
        bindings.append(Int64(head.sequence))
        bindings.append(ByteBuffer(bytes: head.hash.bytes))
        bindings.append(withPayload.map { Int64($0.event.sequence) })
        bindings.append(withPayload.map { ByteBuffer(bytes: $0.payload ?? []) })
        bindings.append(erasures.map(\.key))
        bindings.append(erasures.map { Int64($0.value) })
        bindings.append(touched.map(\.key))
        bindings.append(touched.map(\.value.version))
        bindings.append(touched.map(\.value.updated))
        bindings.append(touched.map(\.value.deleted))
        self.bindings = bindings
    }

    func makeBindings() throws -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
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
            _ = close() as EventLoopFuture<Void>
            throw SharedLogError("no answer within \(Self.answerTimeout)")
        }
        return result
    }
}
