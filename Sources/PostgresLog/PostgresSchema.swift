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
        ],
        [appendProcedure],
    ]

    /// Migration 2: the append as one procedure (``PostgresSharedLog/append(_:builtOn:onlyThere:)``).
    ///
    /// Under the append lock (exclusive; the append statement of schema 1 took it shared and
    /// collided on the sequence, so daemons of both versions exclude each other), it places the
    /// records after the stored head, whatever it is: each gets the next sequence, written into
    /// its canonical bytes (offset 1, 8 bytes big-endian, as in the LMDB log), and is chained on
    /// the record before it, `hash = SHA-256(previous hash ‖ canonical bytes)`, as
    /// ``EventCodec`` does. Records built on an older head thus still form one chain; their
    /// checks stay right because each session's versions are unique (a session another daemon
    /// appended to meanwhile makes the insert fail, and nothing is written). With `only_there`,
    /// it writes nothing unless the stored head is `built_on`. It answers where it placed them
    /// (`placed_after`, `placed_after_hash`), the last hash (null: nothing written), and the
    /// records stored between `built_on` and `placed_after` when they are at most `max_missed`
    /// (so a daemon brings its mirror up to date without another query). With `commits` it
    /// commits before it answers (a `CALL` outside a transaction block: one round trip, and the
    /// answer means durable); otherwise the caller's transaction does.
    static let appendProcedure = """
        CREATE PROCEDURE convlog_append(
            session_ids text[], versions bigint[], types text[], recorded_ms bigint[], canonicals bytea[],
            payload_positions bigint[], payloads bytea[],
            erased_sessions text[], erased_before bigint[],
            touched_sessions text[], touched_versions bigint[], touched_ms bigint[], touched_deleted boolean[],
            built_on bigint, only_there boolean, max_missed bigint, commits boolean,
            INOUT placed_after bigint DEFAULT NULL, INOUT placed_after_hash bytea DEFAULT NULL,
            INOUT last_hash bytea DEFAULT NULL,
            INOUT missed_envelopes bytea[] DEFAULT NULL, INOUT missed_payloads bytea[] DEFAULT NULL)
        LANGUAGE plpgsql AS $$
        DECLARE
            next_sequence bigint;
            previous bytea;
            canonical bytea;
            chained bytea;
        BEGIN
            PERFORM pg_advisory_xact_lock(\(PostgresSharedLog.appendLock));
            SELECT e.sequence, e.hash INTO placed_after, placed_after_hash FROM convlog_events e ORDER BY e.sequence DESC LIMIT 1;
            IF NOT FOUND THEN
                placed_after := 0;
                placed_after_hash := decode(repeat('00', 32), 'hex');
            END IF;
            IF only_there AND placed_after <> built_on THEN
                RETURN;
            END IF;
            IF placed_after > built_on AND placed_after - built_on <= max_missed THEN
                SELECT array_agg(e.envelope ORDER BY e.sequence), array_agg(coalesce(p.payload, '') ORDER BY e.sequence)
                INTO missed_envelopes, missed_payloads
                FROM convlog_events e LEFT JOIN convlog_payloads p ON p.sequence = e.sequence
                WHERE e.sequence > built_on AND e.sequence <= placed_after;
            END IF;
            next_sequence := placed_after;
            previous := placed_after_hash;
            FOR i IN 1 .. cardinality(session_ids) LOOP
                next_sequence := next_sequence + 1;
                canonical := overlay(canonicals[i] PLACING int8send(next_sequence) FROM 2 FOR 8);
                chained := sha256(previous || canonical);
                INSERT INTO convlog_events (sequence, session_id, session_version, type, recorded_at, envelope, hash)
                VALUES (next_sequence, session_ids[i], versions[i], types[i], to_timestamp(recorded_ms[i] / 1000.0),
                        canonical || previous || chained, chained);
                previous := chained;
            END LOOP;
            INSERT INTO convlog_payloads (sequence, payload)
            SELECT placed_after + u.position, u.payload FROM unnest(payload_positions, payloads) AS u(position, payload);
            IF cardinality(erased_sessions) > 0 THEN
                DELETE FROM convlog_payloads p
                USING convlog_events e, unnest(erased_sessions, erased_before) AS d(session_id, before)
                WHERE p.sequence = e.sequence AND e.session_id = d.session_id AND e.session_version < d.before;
            END IF;
            INSERT INTO convlog_sessions AS s (session_id, version, updated_at, deleted)
            SELECT t.session_id, t.version, to_timestamp(t.ms / 1000.0), t.deleted
            FROM unnest(touched_sessions, touched_versions, touched_ms, touched_deleted) AS t(session_id, version, ms, deleted)
            ON CONFLICT (session_id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, deleted = excluded.deleted;
            last_hash := previous;
            IF commits THEN
                COMMIT;
            END IF;
        END
        $$
        """

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
