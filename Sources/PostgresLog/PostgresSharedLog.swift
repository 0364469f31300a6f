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
            let rows = try connection.query("SELECT sequence, hash FROM convlog_events ORDER BY sequence DESC LIMIT 1", logger: logger).wait().rows
            guard let row = rows.first else { return ChainHead(sequence: 0, hash: .genesis) }
            let (sequence, hash) = try row.decode((Int64, ByteBuffer).self)
            guard hash.readableBytes == 32 else { throw SharedLogError("convlog_events holds a hash of \(hash.readableBytes) bytes at sequence \(sequence)") }
            return ChainHead(sequence: UInt64(sequence), hash: EventHash(bytes: Array(buffer: hash)))
        }
    }

    public func records(after sequence: UInt64, limit: Int) throws -> [[UInt8]] {
        try run("reading records after \(sequence)") { connection in
            let rows = try connection.query(
                """
                SELECT e.envelope, p.payload FROM convlog_events e LEFT JOIN convlog_payloads p ON p.sequence = e.sequence
                WHERE e.sequence > \(Int64(sequence)) ORDER BY e.sequence LIMIT \(limit)
                """,
                logger: logger
            ).wait().rows
            return try rows.map { row in
                let (envelope, payload) = try row.decode((ByteBuffer, ByteBuffer?).self)
                return try SharedRecord.storedBytes(envelope: Array(buffer: envelope), payload: payload.map { Array(buffer: $0) })
            }
        }
    }

    public func append(_ records: [SharedRecord], after head: ChainHead) throws -> Bool {
        guard let first = records.first?.event, let last = records.last?.event else { return true }
        precondition(first.sequence == head.sequence + 1, "shared records directly follow the head they were built on")
        let statement = AppendStatement(records, after: head)
        let connection = try connected()
        let what = "appending records \(first.sequence)–\(last.sequence)"
        // An explicit transaction: postgres-nio completes a statement at its CommandComplete, before
        // the implicit commit of its Sync; the answer to COMMIT comes once the commit is durable.
        do {
            _ = try connection.query("BEGIN", logger: logger).wait()
            let rows = try connection.query(statement.query, logger: logger).wait().rows
            guard try rows.first.map({ try $0.decode(Int.self) }) == records.count else {
                _ = try connection.query("ROLLBACK", logger: logger).wait()
                return false
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.uniqueViolation {
            _ = try? connection.query("ROLLBACK", logger: logger).wait()
            return false
        } catch {
            if (error as? PSQLError)?.code == .server { _ = try? connection.query("ROLLBACK", logger: logger).wait() }
            throw failure(error, on: connection, during: what)
        }
        do {
            _ = try connection.query("COMMIT", logger: logger).wait()
            return true
        } catch {
            throw failure(error, on: connection, during: "committing: \(what)", outcomeUnknown: true)
        }
    }

    public func close() {
        let open: PostgresConnection? = lock.withLock {
            guard !isClosed else { return nil }
            isClosed = true
            defer { connection = nil }
            return connection
        }
        _ = try? (open?.close() as EventLoopFuture<Void>?)?.wait()
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
            let connection = try PostgresConnection.connect(on: group.next(), configuration: try settings.configuration(), id: 1, logger: logger).wait()
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

/// The one statement of an append: the records and their payloads inserted only if the stored
/// chain ends at the head they were built on, a deletion's erasure of the session's earlier
/// payloads, the sessions' rows; it answers how many records it inserted.
struct AppendStatement {
    let query: PostgresQuery

    init(_ records: [SharedRecord], after head: ChainHead) {
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
        query = """
            WITH new_events AS (
                INSERT INTO convlog_events (sequence, session_id, session_version, type, recorded_at, envelope, hash)
                SELECT s, sid, v, t, to_timestamp(ms / 1000.0), env, h
                FROM unnest(\(records.map { Int64($0.event.sequence) })::bigint[], \(records.map(\.event.sessionID))::text[],
                            \(records.map { Int64($0.event.sessionVersion) })::bigint[], \(records.map(\.event.event.typeName))::text[],
                            \(records.map(\.event.timestamp))::bigint[], \(records.map { ByteBuffer(bytes: $0.envelope) })::bytea[],
                            \(records.map { ByteBuffer(bytes: $0.event.hash.bytes) })::bytea[]) AS r(s, sid, v, t, ms, env, h)
                WHERE \(Int64(head.sequence)) = 0
                   OR EXISTS (SELECT 1 FROM convlog_events WHERE sequence = \(Int64(head.sequence)) AND hash = \(ByteBuffer(bytes: head.hash.bytes)))
                RETURNING sequence
            ), new_payloads AS (
                INSERT INTO convlog_payloads (sequence, payload)
                SELECT * FROM unnest(\(withPayload.map { Int64($0.event.sequence) })::bigint[], \(withPayload.map { ByteBuffer(bytes: $0.payload ?? []) })::bytea[])
                WHERE EXISTS (SELECT 1 FROM new_events)
            ), erased AS (
                DELETE FROM convlog_payloads p
                USING convlog_events e, unnest(\(erasures.map(\.key))::text[], \(erasures.map { Int64($0.value) })::bigint[]) AS d(sid, v)
                WHERE p.sequence = e.sequence AND e.session_id = d.sid AND e.session_version < d.v AND EXISTS (SELECT 1 FROM new_events)
            ), touched AS (
                INSERT INTO convlog_sessions AS s (session_id, version, updated_at, deleted)
                SELECT sid, v, to_timestamp(ms / 1000.0), d
                FROM unnest(\(touched.map(\.key))::text[], \(touched.map(\.value.version))::bigint[], \(touched.map(\.value.updated))::bigint[],
                            \(touched.map(\.value.deleted))::boolean[]) AS r(sid, v, ms, d)
                WHERE EXISTS (SELECT 1 FROM new_events)
                ON CONFLICT (session_id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, deleted = excluded.deleted
            )
            SELECT count(*)::bigint FROM new_events
            """
    }
}
