import EventLog
import PostgresNIO

/// The tables of the shared log, created and migrated by the daemon (``PostgresSharedLog/open(_:)``).
///
/// - `convlog_events`: one row per record, insert only (a trigger refuses updates, deletes and
///   truncation): its sequence (the primary key: two daemons appending after the same head
///   collide on it, and one of them builds its commit again), the session, its version, the type, the
///   time, the record's envelope (its stored bytes without the payload: exactly an erased record)
///   and its hash.
/// - `convlog_payloads`: each record's payload, apart, so that erasing a deleted session's
///   messages deletes payload rows and never touches the chained records.
/// - `convlog_sessions`: a projection kept in the same transactions: each session's version, last
///   update and whether it is deleted (for SQL readers and `stats`).
/// - `convlog_migrations`: the migrations applied.
enum PostgresSchema {
    /// Migrations (each a list of statements without parameters), in order; they run once, in the
    /// transaction that checks them, under an advisory lock.
    /// Append new ones; never change one that shipped.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE convlog_events (
                sequence bigint PRIMARY KEY CHECK (sequence > 0),
                session_id text NOT NULL,
                session_version bigint NOT NULL,
                type text NOT NULL,
                recorded_at timestamptz NOT NULL,
                envelope bytea NOT NULL,
                hash bytea NOT NULL CHECK (length(hash) = 32),
                UNIQUE (session_id, session_version)
            )
            """,
            """
            CREATE TABLE convlog_payloads (
                sequence bigint PRIMARY KEY REFERENCES convlog_events (sequence),
                payload bytea NOT NULL
            )
            """,
            """
            CREATE TABLE convlog_sessions (
                session_id text PRIMARY KEY,
                version bigint NOT NULL,
                updated_at timestamptz NOT NULL,
                deleted boolean NOT NULL
            )
            """,
            "CREATE INDEX convlog_sessions_updated ON convlog_sessions (updated_at)",
            """
            CREATE FUNCTION convlog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'convlog_events is append-only: % refused', TG_OP;
            END
            $$
            """,
            """
            CREATE TRIGGER convlog_events_insert_only BEFORE UPDATE OR DELETE ON convlog_events
                FOR EACH ROW EXECUTE FUNCTION convlog_refuse_change()
            """,
            """
            CREATE TRIGGER convlog_events_no_truncate BEFORE TRUNCATE ON convlog_events
                FOR EACH STATEMENT EXECUTE FUNCTION convlog_refuse_change()
            """,
        ]
    ]

    /// The advisory lock key under which migrations run (one daemon migrates, the others wait).
    static let migrationLock: Int64 = 0x636F_6E76_6C6F_6701  // "convlog" + 1

    /// Applies the migrations `connection`'s database lacks; returns the schema version.
    static func migrate(_ connection: PostgresConnection, logger: Logger) throws -> Int {
        try run("BEGIN", on: connection, logger: logger)
        do {
            try run("SELECT pg_advisory_xact_lock(\(migrationLock))", on: connection, logger: logger)
            try run(
                "CREATE TABLE IF NOT EXISTS convlog_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                on: connection, logger: logger)
            let rows = try connection.answer("SELECT coalesce(max(version), 0) FROM convlog_migrations", logger: logger).rows
            let applied = try rows.first.map { try $0.decode(Int.self) } ?? 0
            guard applied <= migrations.count else {
                throw SharedLogError("the database's convlog schema is version \(applied), newer than this convlog (\(migrations.count)): upgrade convlog")
            }
            for (index, statements) in migrations.enumerated().dropFirst(applied) {
                for statement in statements { try run(PostgresQuery(unsafeSQL: statement), on: connection, logger: logger) }
                try run("INSERT INTO convlog_migrations (version) VALUES (\(index + 1))", on: connection, logger: logger)
            }
            try run("COMMIT", on: connection, logger: logger)
            return migrations.count
        } catch {
            _ = try? connection.answer("ROLLBACK", logger: logger)
            throw error
        }
    }

    private static func run(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) throws {
        _ = try connection.answer(query, logger: logger)
    }
}
