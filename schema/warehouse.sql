-- convlog's warehouse layout: the tables `convlog export` writes rows for.
--
--   convlog export --table message_history --format csv --since-sequence N --output messages.csv
--   convlog export --table sessions        --format csv --since-sequence N --output sessions.csv
--
-- Each export covers the log up to its head and prints the --since-sequence to pass next time.
-- A message is in exactly one export (load with "insert, ignore duplicates" and a retried load
-- is harmless); a session is exported again whenever it changed (load it as an upsert).
-- Deleted and expired sessions are never exported; deleting them from the warehouse too is the
-- loader's job (convlog replay --type SessionDeleted lists deletions).
-- CSV: RFC 4180 with a header, text fields quoted, NULL as an empty field, UTF-8.

-- ---------------------------------------------------------------------------------------------
-- PostgreSQL
-- ---------------------------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS conversations;

CREATE TABLE IF NOT EXISTS conversations.message_history (
    message_id  text        NOT NULL,               -- unique within its session
    session_id  text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content     text        NOT NULL,               -- the text, or canonical JSON for structured content
    "timestamp" timestamptz NOT NULL,
    metadata    jsonb       NOT NULL,
    sequence    bigint      NOT NULL UNIQUE,        -- the log's global sequence
    PRIMARY KEY (session_id, message_id)
);

CREATE TABLE IF NOT EXISTS conversations.sessions (
    session_id   text        PRIMARY KEY,
    created_at   timestamptz NOT NULL,
    last_updated timestamptz NOT NULL,
    user_id      text,
    context      jsonb       NOT NULL,
    sequence     bigint      NOT NULL               -- the session's last event in the log
);

-- Loading (psql):
--   CREATE TEMP TABLE m (LIKE conversations.message_history);
--   \copy m FROM 'messages.csv' WITH (FORMAT csv, HEADER true)
--   INSERT INTO conversations.message_history SELECT * FROM m ON CONFLICT DO NOTHING;
--   CREATE TEMP TABLE s (LIKE conversations.sessions);
--   \copy s FROM 'sessions.csv' WITH (FORMAT csv, HEADER true)
--   INSERT INTO conversations.sessions SELECT * FROM s ON CONFLICT (session_id) DO UPDATE
--     SET last_updated = EXCLUDED.last_updated, user_id = EXCLUDED.user_id,
--         context = EXCLUDED.context, sequence = EXCLUDED.sequence;

-- ---------------------------------------------------------------------------------------------
-- DuckDB (run the statements below instead of the PostgreSQL ones)
-- ---------------------------------------------------------------------------------------------
-- CREATE SCHEMA IF NOT EXISTS conversations;
-- CREATE TABLE IF NOT EXISTS conversations.message_history (
--     message_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, role VARCHAR NOT NULL,
--     content VARCHAR NOT NULL, "timestamp" TIMESTAMPTZ NOT NULL, metadata JSON NOT NULL,
--     sequence BIGINT NOT NULL UNIQUE, PRIMARY KEY (session_id, message_id));
-- CREATE TABLE IF NOT EXISTS conversations.sessions (
--     session_id VARCHAR PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, last_updated TIMESTAMPTZ NOT NULL,
--     user_id VARCHAR, context JSON NOT NULL, sequence BIGINT NOT NULL);
-- Loading:
--   INSERT OR IGNORE INTO conversations.message_history SELECT * FROM read_csv('messages.csv', header = true, auto_detect = false,
--     columns = {'message_id': 'VARCHAR', 'session_id': 'VARCHAR', 'role': 'VARCHAR', 'content': 'VARCHAR',
--                'timestamp': 'TIMESTAMPTZ', 'metadata': 'JSON', 'sequence': 'BIGINT'});
--   INSERT OR REPLACE INTO conversations.sessions SELECT * FROM read_csv('sessions.csv', header = true, auto_detect = false,
--     columns = {'session_id': 'VARCHAR', 'created_at': 'TIMESTAMPTZ', 'last_updated': 'TIMESTAMPTZ', 'user_id': 'VARCHAR',
--                'context': 'JSON', 'sequence': 'BIGINT'});

-- ---------------------------------------------------------------------------------------------
-- Snowflake (notes)
-- ---------------------------------------------------------------------------------------------
-- The same columns with TEXT, TIMESTAMP_TZ, VARIANT (metadata, context: PARSE_JSON on load) and
-- NUMBER(19,0). Stage the files and COPY INTO a staging table with
-- FILE_FORMAT = (TYPE = CSV, SKIP_HEADER = 1, FIELD_OPTIONALLY_ENCLOSED_BY = '"',
-- EMPTY_FIELD_AS_NULL = TRUE), then MERGE on (session_id, message_id) for messages (insert when
-- not matched) and on session_id for sessions (update when matched). JSON lines
-- (--format jsonl) load as one VARIANT per line with TYPE = JSON.
