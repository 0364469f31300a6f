import EventLog
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The log of record in PostgreSQL, shared by a fleet of daemons (see ``SharedLog``).
///
/// One chain for the whole fleet, in an order the database assigns: an appending unit locks the
/// one row of `convlog_head` (`SELECT … FOR UPDATE`), so the daemons' group commits take turns;
/// each inserts its batch after the head it read and moves the head in the same transaction.
/// Records are stored byte for byte as in the LMDB log (the envelope in `convlog_events`, the
/// payload in `convlog_payloads`), so the chain verifies the same way on either. Every statement
/// is parameterised. See ``PostgresSchema`` for the tables.
///
/// One connection, used by one thread at a time (the store's writer, or a tool), opened on first
/// use and again after it is lost: while PostgreSQL is down each unit fails with a
/// ``SharedLogError``, and the next one after it is back succeeds.
public final class PostgresSharedLog: SharedLog, @unchecked Sendable {
    public let location: String
    private let settings: PostgresLocation
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let logger: Logger
    // Guarded by `lock`.
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var isClosed = false

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

    public func begin(appending: Bool) throws -> any SharedLogUnit {
        let connection = try connected()
        do {
            return try PostgresLogUnit(log: self, connection: connection, appending: appending)
        } catch {
            throw failure(error, on: connection, during: "reading the shared log's head")
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
    func failure(_ error: any Error, on connection: PostgresConnection, during what: String, outcomeUnknown: Bool = false) -> SharedLogError {
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

    var queryLogger: Logger { logger }
}

/// One unit of work on the shared log: a transaction holding the head's row lock (appending), or
/// plain reads of committed rows (a read barrier).
final class PostgresLogUnit: SharedLogUnit {
    let head: ChainHead
    private let log: PostgresSharedLog
    private let connection: PostgresConnection
    /// Whether a transaction is open (to roll back at the end).
    private var inTransaction: Bool

    init(log: PostgresSharedLog, connection: PostgresConnection, appending: Bool) throws {
        self.log = log
        self.connection = connection
        inTransaction = appending
        if appending { _ = try connection.query("BEGIN", logger: log.queryLogger).wait() }
        let lockClause = appending ? " FOR UPDATE" : ""
        let rows = try connection.query(PostgresQuery(unsafeSQL: "SELECT sequence, hash FROM convlog_head\(lockClause)"), logger: log.queryLogger).wait().rows
        guard let row = rows.first else { throw SharedLogError("convlog_head has no row: the convlog tables were changed by hand") }
        let (sequence, hash) = try row.decode((Int64, ByteBuffer).self)
        guard hash.readableBytes == 32 else { throw SharedLogError("convlog_head holds a hash of \(hash.readableBytes) bytes") }
        head = ChainHead(sequence: UInt64(sequence), hash: EventHash(bytes: Array(buffer: hash)))
    }

    func records(after sequence: UInt64, limit: Int) throws -> [[UInt8]] {
        do {
            let rows = try connection.query(
                """
                SELECT e.envelope, p.payload FROM convlog_events e LEFT JOIN convlog_payloads p ON p.sequence = e.sequence
                WHERE e.sequence > \(Int64(sequence)) AND e.sequence <= \(Int64(head.sequence))
                ORDER BY e.sequence LIMIT \(limit)
                """,
                logger: log.queryLogger
            ).wait().rows
            return try rows.map { row in
                let (envelope, payload) = try row.decode((ByteBuffer, ByteBuffer?).self)
                return try SharedRecord.storedBytes(envelope: Array(buffer: envelope), payload: payload.map { Array(buffer: $0) })
            }
        } catch {
            throw log.failure(error, on: connection, during: "reading records after \(sequence)")
        }
    }

    func commit(appending records: [SharedRecord]) throws {
        guard inTransaction, let last = records.last else { throw SharedLogError("nothing to commit") }
        do {
            try insert(records)
            for record in records {
                guard case .sessionDeleted = record.event.event else { continue }
                // Erasure: the payloads of the session's earlier records go; the chained rows stay.
                _ = try connection.query(
                    """
                    DELETE FROM convlog_payloads p USING convlog_events e
                    WHERE p.sequence = e.sequence AND e.session_id = \(record.event.sessionID) AND e.session_version < \(Int64(record.event.sessionVersion))
                    """,
                    logger: log.queryLogger
                ).wait()
            }
        } catch {
            throw log.failure(error, on: connection, during: "appending records \(records[0].event.sequence)–\(last.event.sequence)")
        }
        do {
            _ = try connection.query("COMMIT", logger: log.queryLogger).wait()
            inTransaction = false
        } catch {
            inTransaction = false
            throw log.failure(error, on: connection, during: "committing records \(records[0].event.sequence)–\(last.event.sequence)", outcomeUnknown: true)
        }
    }

    /// Inserts the records and their payloads, upserts the sessions' rows and moves the head, in
    /// one statement (one round trip).
    private func insert(_ records: [SharedRecord]) throws {
        var sessions: [String: (version: Int64, updated: Int64, deleted: Bool)] = [:]
        for record in records {
            let event = record.event
            let deleted: Bool
            switch event.event {
            case .sessionDeleted: deleted = true
            case .sessionCreated: deleted = false
            default: deleted = sessions[event.sessionID]?.deleted ?? false
            }
            sessions[event.sessionID] = (Int64(event.sessionVersion), event.timestamp, deleted)
        }
        let withPayload = records.filter { $0.payload != nil }
        let last = records[records.count - 1].event
        let touched = sessions.sorted { $0.key < $1.key }
        _ = try connection.query(
            """
            WITH new_events AS (
                INSERT INTO convlog_events (sequence, session_id, session_version, type, recorded_at, envelope, hash)
                SELECT s, sid, v, t, to_timestamp(ms / 1000.0), env, h
                FROM unnest(\(records.map { Int64($0.event.sequence) })::bigint[], \(records.map(\.event.sessionID))::text[],
                            \(records.map { Int64($0.event.sessionVersion) })::bigint[], \(records.map(\.event.event.typeName))::text[],
                            \(records.map(\.event.timestamp))::bigint[], \(records.map { ByteBuffer(bytes: $0.envelope) })::bytea[],
                            \(records.map { ByteBuffer(bytes: $0.event.hash.bytes) })::bytea[]) AS r(s, sid, v, t, ms, env, h)
            ), new_payloads AS (
                INSERT INTO convlog_payloads (sequence, payload)
                SELECT * FROM unnest(\(withPayload.map { Int64($0.event.sequence) })::bigint[], \(withPayload.map { ByteBuffer(bytes: $0.payload ?? []) })::bytea[])
            ), new_head AS (
                UPDATE convlog_head SET sequence = \(Int64(last.sequence)), hash = \(ByteBuffer(bytes: last.hash.bytes))
            )
            INSERT INTO convlog_sessions AS s (session_id, version, updated_at, deleted)
            SELECT sid, v, to_timestamp(ms / 1000.0), d
            FROM unnest(\(touched.map(\.key))::text[], \(touched.map(\.value.version))::bigint[], \(touched.map(\.value.updated))::bigint[],
                        \(touched.map(\.value.deleted))::boolean[]) AS r(sid, v, ms, d)
            ON CONFLICT (session_id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, deleted = excluded.deleted
            """,
            logger: log.queryLogger
        ).wait()
    }

    /// Refolds `convlog_sessions` from `convlog_events` and commits; returns the session count.
    func rebuildSessionsTable() throws -> Int {
        do {
            _ = try connection.query("DELETE FROM convlog_sessions", logger: log.queryLogger).wait()
            let inserted = try connection.query(
                """
                INSERT INTO convlog_sessions (session_id, version, updated_at, deleted)
                SELECT last.session_id, last.session_version, last.recorded_at, coalesce((
                    SELECT l.type = \(EventType.sessionDeleted) FROM convlog_events l
                    WHERE l.session_id = last.session_id AND l.type IN (\(EventType.sessionCreated), \(EventType.sessionDeleted))
                    ORDER BY l.session_version DESC LIMIT 1), false)
                FROM (SELECT DISTINCT ON (session_id) session_id, session_version, recorded_at
                      FROM convlog_events ORDER BY session_id, session_version DESC) last
                """,
                logger: log.queryLogger
            ).wait()
            _ = try connection.query("COMMIT", logger: log.queryLogger).wait()
            inTransaction = false
            return inserted.metadata.rows ?? 0
        } catch {
            throw log.failure(error, on: connection, during: "rebuilding convlog_sessions")
        }
    }

    func end() {
        guard inTransaction else { return }
        inTransaction = false
        if (try? connection.query("ROLLBACK", logger: log.queryLogger).wait()) == nil { _ = connection.close() as EventLoopFuture<Void> }
    }
}
