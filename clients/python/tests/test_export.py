"""Warehouse export into a real DuckDB, with the DDL of schema/warehouse.sql: exactly-once loads."""

from __future__ import annotations

import json
import re

import pytest

from conftest import REPO
from convlog import Client
from test_langgraph import cli

duckdb = pytest.importorskip("duckdb")


def duckdb_ddl() -> str:
    """The DuckDB statements of schema/warehouse.sql (its commented DuckDB section)."""
    text = (REPO / "schema" / "warehouse.sql").read_text()
    section = text.split("-- DuckDB")[1].split("-- Loading:")[0]
    return "\n".join(line[3:] for line in section.splitlines() if line.startswith("-- ") and not line.startswith("-- -"))


def load(connection, table: str, path: str) -> None:
    text = (REPO / "schema" / "warehouse.sql").read_text()
    statement = text.split("-- DuckDB")[1].split("-- Loading:")[1].split("-- ----")[0]
    statements = [s for s in "\n".join(line[3:] for line in statement.splitlines() if line.startswith("--")).split(";") if s.strip()]
    chosen = next(s for s in statements if f"conversations.{table}" in s)
    connection.execute(chosen.replace(f"'{'messages' if table == 'message_history' else 'sessions'}.csv'", f"'{path}'"))


def export(data_dir: str, table: str, output: str, since: int = 0) -> int:
    done = cli("export", "--data-dir", data_dir, "--table", table, "--format", "csv", "--since-sequence", str(since), "--output", output)
    assert done.returncode == 0, done.stderr
    return int(re.search(r"--since-sequence (\d+)", done.stderr).group(1))


def test_export_loads_into_duckdb_exactly_once(daemon_process, tmp_path):
    socket_path = daemon_process.start()
    client = Client(socket_path)
    client.create(session_id="a", user_id="ana", context={"db": "chinook"})
    client.add("a", "user", 'How many artists, "quoted", with commas, and\nnewlines?', metadata={"k": [1, "x,y"]}, message_id="q1")
    client.add("a", "assistant", {"rows": [86], "sql": "SELECT 1"}, message_id="a1")
    client.create(session_id="gone")
    client.add("gone", "user", "to be deleted")
    client.delete_session("gone")

    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    connection.execute(duckdb_ddl())
    first = export(daemon_process.data_dir, "message_history", str(tmp_path / "m1.csv"))
    load(connection, "message_history", str(tmp_path / "m1.csv"))
    rows = connection.execute("SELECT message_id, session_id, role, content, metadata FROM conversations.message_history ORDER BY sequence").fetchall()
    assert [r[:3] for r in rows] == [("q1", "a", "user"), ("a1", "a", "assistant")]
    assert rows[0][3] == 'How many artists, "quoted", with commas, and\nnewlines?'
    assert json.loads(rows[1][3]) == {"rows": [86], "sql": "SELECT 1"} and json.loads(rows[0][4]) == {"k": [1, "x,y"]}

    client.add("a", "user", "a follow-up", message_id="q2")
    second = export(daemon_process.data_dir, "message_history", str(tmp_path / "m2.csv"), since=first)
    assert second > first
    load(connection, "message_history", str(tmp_path / "m2.csv"))
    load(connection, "message_history", str(tmp_path / "m2.csv"))  # a retried load adds nothing
    assert [r[0] for r in connection.execute("SELECT message_id FROM conversations.message_history ORDER BY sequence").fetchall()] == ["q1", "a1", "q2"]

    export(daemon_process.data_dir, "sessions", str(tmp_path / "s.csv"))
    load(connection, "sessions", str(tmp_path / "s.csv"))
    sessions = connection.execute("SELECT session_id, user_id, context FROM conversations.sessions").fetchall()
    assert [(s[0], s[1], json.loads(s[2])) for s in sessions] == [("a", "ana", {"db": "chinook"})]
    jsonl = cli("export", "--data-dir", daemon_process.data_dir, "--table", "sessions", "--format", "jsonl")
    assert [json.loads(line)["session_id"] for line in jsonl.stdout.splitlines()] == ["a"]


def test_export_loads_into_postgresql_with_the_schema_file(daemon_process, postgres):
    import shutil

    psql = postgres.psql
    directory = postgres.directory

    client = Client(daemon_process.start())
    client.create(session_id="a", user_id="ana", context={"db": "chinook"})
    client.add("a", "user", 'Artists, "quoted", with commas,\nand newlines?', metadata={"k": "x,y"}, message_id="q1")
    client.add("a", "assistant", {"rows": [86]}, message_id="a1")
    # The whole file runs in psql: the PostgreSQL statements are live, the rest are comments.
    schema = f"{directory}/warehouse.sql"
    shutil.copy(REPO / "schema" / "warehouse.sql", schema)
    psql("-f", schema)
    text = (REPO / "schema" / "warehouse.sql").read_text()
    loading = text.split("-- Loading (psql):")[1].split("\n\n")[0]
    script = "\n".join(line[5:] for line in loading.splitlines() if line.startswith("--   "))
    for rounds in range(2):  # a second, identical load adds nothing
        for table, name in [("message_history", "messages.csv"), ("sessions", "sessions.csv")]:
            export(daemon_process.data_dir, table, f"{directory}/{name}")
            shutil.chown(f"{directory}/{name}", "postgres", "postgres")
        load_file = f"{directory}/load.sql"
        with open(load_file, "w") as handle:
            handle.write(script.replace("'messages.csv'", f"'{directory}/messages.csv'").replace("'sessions.csv'", f"'{directory}/sessions.csv'"))
        shutil.chown(load_file, "postgres", "postgres")
        psql("-f", load_file)
    rows = psql("-c", "SELECT message_id, role, content, metadata->>'k' FROM conversations.message_history ORDER BY sequence")
    assert rows == 'q1|user|Artists, "quoted", with commas,\nand newlines?|x,y\na1|assistant|{"rows":[86]}|\n'
    assert psql("-c", "SELECT session_id, user_id, context->>'db' FROM conversations.sessions") == "a|ana|chinook\n"
