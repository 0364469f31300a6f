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
        [
            "CREATE TABLE convlog_durable (backend integer PRIMARY KEY, head bigint NOT NULL)",
            "INSERT INTO convlog_durable (backend, head) SELECT 0, coalesce(max(sequence), 0) FROM convlog_events",
            appendProcedureMarkingDurability,
        ],
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
    static let appendProcedure = appendProcedure(
        creating: "CREATE PROCEDURE",
        insertion: .eachInTheLoop,
        ending: """
                IF commits THEN
                    COMMIT;
                END IF;
            """
    )

    /// Migration 3: ``appendProcedure`` committing without waiting for its flush, so the append
    /// lock is not held through it and the fleet's commits share flushes; the flush is awaited
    /// after the lock is released, by the commit of the durability mark that follows.
    ///
    /// Records are thus visible to other daemons a moment before they are durable. Daemons mirror
    /// only records known durable: those up to the highest mark in `convlog_durable` (one row per
    /// server backend: a mark is visible only once its commit, and so every commit before it, is
    /// flushed). An append's answer comes after its mark is committed, so every acknowledged write
    /// is under the highest mark; records a PostgreSQL crash loses were never acknowledged, nor
    /// mirrored. The records of other daemons an append sends back are applied only after its
    /// mark's commit, which flushed them too.
    static let appendProcedureMarkingDurability = appendProcedure(
        creating: "CREATE OR REPLACE PROCEDURE",
        insertion: .allAtOnce,
        ending: """
                IF commits THEN
                    SET LOCAL synchronous_commit = off;
                    COMMIT;
                END IF;
                \(markDurable("next_sequence"))
            """
    )

    /// The statement that marks the records through `head` (an SQL expression) durable once its
    /// transaction commits (each server backend keeps its own row, so marks never wait for each
    /// other's locks).
    static func markDurable(_ head: String) -> String {
        "INSERT INTO convlog_durable AS d (backend, head) VALUES (pg_backend_pid(), \(head)) \(keepingTheHighestMark);"
    }

    /// The statement that marks every stored record durable, when some are not marked yet (else
    /// it writes nothing, and its commit waits for no flush).
    static let markStoredDurable = """
        INSERT INTO convlog_durable AS d (backend, head)
        SELECT pg_backend_pid(), s.head FROM (SELECT max(sequence) AS head FROM convlog_events) s WHERE s.head > \(durableHead)
        \(keepingTheHighestMark)
        """

    private static let keepingTheHighestMark = "ON CONFLICT (backend) DO UPDATE SET head = greatest(d.head, excluded.head)"

    /// The highest sequence known durable (0 for an empty log), as an SQL expression.
    static let durableHead = "(SELECT coalesce(max(d.head), 0) FROM convlog_durable d)"

    /// How the append procedure writes the records into `convlog_events` as it chains them.
    private enum RecordInsertion {
        /// One `INSERT` per record, in the chaining loop (migration 2).
        case eachInTheLoop
        /// The loop only chains; one `INSERT` writes them all (migration 3: a statement costs
        /// about as much as the row it writes).
        case allAtOnce

        /// Variables the procedure declares for it (after those of every version).
        var declarations: String {
            switch self {
            case .eachInTheLoop: ""
            case .allAtOnce: "\n    envelopes bytea[] := '{}';\n    hashes bytea[] := '{}';"
            }
        }

        /// The loop over the records, and what writes them.
        var chaining: String {
            switch self {
            case .eachInTheLoop:
                """
                FOR i IN 1 .. cardinality(session_ids) LOOP
                        next_sequence := next_sequence + 1;
                        canonical := overlay(canonicals[i] PLACING int8send(next_sequence) FROM 2 FOR 8);
                        chained := sha256(previous || canonical);
                        INSERT INTO convlog_events (sequence, session_id, session_version, type, recorded_at, envelope, hash)
                        VALUES (next_sequence, session_ids[i], versions[i], types[i], to_timestamp(recorded_ms[i] / 1000.0),
                                canonical || previous || chained, chained);
                        previous := chained;
                    END LOOP;
                """
            case .allAtOnce:
                """
                FOR i IN 1 .. cardinality(session_ids) LOOP
                        next_sequence := next_sequence + 1;
                        canonical := overlay(canonicals[i] PLACING int8send(next_sequence) FROM 2 FOR 8);
                        chained := sha256(previous || canonical);
                        envelopes[i] := canonical || previous || chained;
                        hashes[i] := chained;
                        previous := chained;
                    END LOOP;
                    INSERT INTO convlog_events (sequence, session_id, session_version, type, recorded_at, envelope, hash)
                    SELECT placed_after + r.position, r.session_id, r.version, r.type, to_timestamp(r.ms / 1000.0), r.envelope, r.hash
                    FROM unnest(session_ids, versions, types, recorded_ms, envelopes, hashes) WITH ORDINALITY
                        AS r(session_id, version, type, ms, envelope, hash, position);
                """
            }
        }
    }

    /// The text of the append procedure; `ending` runs after the records are written.
    private static func appendProcedure(creating: String, insertion: RecordInsertion, ending: String) -> String {
        """
        \(creating) convlog_append(
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
            chained bytea;\(insertion.declarations)
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
            \(insertion.chaining)
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
        \(ending)
        END
        $$
        """
    }

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
