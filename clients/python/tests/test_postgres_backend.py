"""The PostgreSQL backend: several real convlogd on one real PostgreSQL (a throwaway cluster)."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable

import pytest

from conftest import DaemonProcess, PostgresCluster, cli
from convlog import Client, ConvLogError, StoreUnavailable, VersionConflict


@pytest.fixture
def fleet(postgres):
    """Starts daemons on the shared store: fleet(n) returns n DaemonProcess, each with its own mirror."""
    directories: list[tempfile.TemporaryDirectory] = []
    daemons: list[DaemonProcess] = []

    def start(count: int, *options: str) -> list[DaemonProcess]:
        for _ in range(count):
            directory = tempfile.TemporaryDirectory(prefix="convlog-fleet-", dir="/tmp")
            directories.append(directory)
            daemon = DaemonProcess(directory.name)
            daemon.start("--store", postgres.url, *options)
            daemons.append(daemon)
        return daemons[-count:]

    try:
        yield start
    finally:
        for daemon in daemons:
            daemon.kill()
        for directory in directories:
            directory.cleanup()


def texts(client: Client, session: str, window: int = 1000) -> list[str]:
    return [message.content for message in client.get_context(session, window=window).messages]


def run_concurrently(count: int, work: Callable[[int], None]) -> None:
    """Runs work(0) … work(count - 1) on as many threads at once; fails with every error raised."""
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            work(index)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors


def test_a_conversation_continues_on_another_daemon(fleet, postgres):
    a, b = fleet(2)
    with Client(a.socket_path) as on_a, Client(b.socket_path) as on_b:
        on_a.create(session_id="s", user_id="ana")
        on_a.add("s", "user", "How many artists start with A-E?", message_id="q1")
        # Read-your-writes across daemons: b answers with a's acknowledged write at once.
        on_b.add("s", "assistant", "42", message_id="a1")
        assert texts(on_a, "s") == ["How many artists start with A-E?", "42"]
        assert texts(on_b, "s") == ["How many artists start with A-E?", "42"]
        analysis = on_b.analyze_follow_up("s", "Who are those artists?")
        assert analysis.is_follow_up

        # A retry of q1 on the other daemon is a duplicate with the first position.
        first = on_a.add("s", "user", "retry", message_id="q2")
        retry = on_b.add("s", "user", "retry", message_id="q2")
        assert retry.duplicate and retry.sequence == first.sequence and retry.version == first.version

        # expectedVersion is checked against every daemon's writes.
        version = on_b.get_session("s").version
        on_a.add("s", "user", "next", expected_version=version)
        with pytest.raises(VersionConflict) as conflict:
            on_b.add("s", "user", "stale", expected_version=version)
        assert conflict.value.actual == version + 1

        # A session created on one daemon exists for the other.
        with pytest.raises(ConvLogError) as exists:
            on_b.create(session_id="s")
        assert exists.value.code == -32002

    # The database's own tables: one chain, the sessions projection in step.
    assert postgres.psql("-c", "SELECT count(*) FROM convlog_events") == f"{on_a.stats().head_sequence}\n"
    assert postgres.psql("-c", "SELECT version, deleted FROM convlog_sessions WHERE session_id = 's'") == f"{version + 1}|f\n"
    # Insert only: the database refuses to change a record.
    refused = cli_psql_error(postgres, "UPDATE convlog_events SET type = 'X' WHERE sequence = 1")
    assert "append-only" in refused


def cli_psql_error(postgres, sql: str) -> str:
    import subprocess

    done = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-h", postgres.directory, "-d", "postgres", "-c", sql],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    return done.stderr


def test_concurrent_writers_through_two_daemons_keep_one_order(fleet, postgres):
    daemons = fleet(2, "--window", "100")
    sessions = [f"s{i}" for i in range(4)]
    with Client(daemons[0].socket_path) as setup:
        for session in sessions:
            setup.create(session_id=session)
    acknowledged: dict[str, list[tuple[str, int]]] = {session: [] for session in sessions}
    lock = threading.Lock()

    def writer(index: int) -> None:
        with Client(daemons[index % 2].socket_path, timeout=30) as client:
            for n in range(40):
                session = sessions[(index + n) % len(sessions)]
                message_id = f"w{index}-{n}"
                added = client.add(session, "user", message_id, message_id=message_id)
                # Every other message is retried on the other daemon: still one message.
                if n % 2 == 0:
                    with Client(daemons[(index + 1) % 2].socket_path, timeout=30) as other:
                        again = other.add(session, "user", message_id, message_id=message_id)
                    assert again.duplicate and again.sequence == added.sequence
                with lock:
                    acknowledged[session].append((message_id, added.version))

    run_concurrently(6, writer)
    for daemon in daemons:
        with Client(daemon.socket_path) as client:
            for session in sessions:
                stored = client.get_context(session, window=1000).messages
                # Each acknowledged message once, in version order, the same on both daemons.
                assert sorted(m.message_id for m in stored) == sorted(m for m, _ in acknowledged[session])
                versions = {m: v for m, v in acknowledged[session]}
                assert [m.message_id for m in stored] == sorted(versions, key=versions.get)
    verified = cli("verify", "--store", postgres.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"chain: ok, {6 * 40 + len(sessions)} events" in verified.stdout


def test_daemons_appending_to_different_sessions_answer_the_positions_the_database_gave(fleet, postgres):
    # Appends of different sessions never collide: each daemon's commit goes after whatever the
    # other committed meanwhile, so the sequence it answers is the one the database placed it at.
    daemons = fleet(2, "--window", "100")
    acknowledged: dict[str, tuple[int, int]] = {}
    lock = threading.Lock()

    def writer(index: int) -> None:
        with Client(daemons[index % 2].socket_path, timeout=30) as client:
            for n in range(60):
                added = client.add(f"w{index}", "user", f"m{n}", message_id=f"w{index}-{n}", create_if_missing=True)
                with lock:
                    acknowledged[f"w{index}-{n}"] = (added.sequence, added.version)

    run_concurrently(8, writer)
    sequences = [sequence for sequence, _ in acknowledged.values()]
    assert len(set(sequences)) == len(sequences) == 8 * 60
    for daemon in daemons:
        with Client(daemon.socket_path) as client:
            stored = {m.message_id: (m.sequence, m.version) for i in range(8) for m in client.get_context(f"w{i}", window=1000).messages}
            assert stored == acknowledged
    # One chain: every message and each session's creation, in the order the database gave.
    verified = cli("verify", "--store", postgres.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"chain: ok, {8 * 60 + 8} events" in verified.stdout


def load(socket_path: str, session: str, acknowledged: list[str], failures: list[int], stop: threading.Event) -> None:
    """Adds messages until stopped, recording each acknowledged id and each error code."""
    n = 0
    while not stop.is_set():
        message_id = f"{session}-{n}"
        try:
            with Client(socket_path, timeout=15) as client:
                while not stop.is_set():
                    client.add(session, "user", message_id, message_id=message_id, create_if_missing=True)
                    acknowledged.append(message_id)
                    n += 1
                    message_id = f"{session}-{n}"
        except ConvLogError as error:
            failures.append(error.code)
            time.sleep(0.05)
        except OSError:
            failures.append(0)  # the daemon is gone
            time.sleep(0.05)


def test_sigkill_of_one_daemon_under_load_loses_no_acknowledged_write(fleet, postgres):
    a, b = fleet(2, "--window", "10000")
    stop = threading.Event()
    on_a: list[str] = []
    on_b: list[str] = []
    failures: list[int] = []
    threads = [threading.Thread(target=load, args=(a.socket_path, "ka", on_a, failures, stop), daemon=True),
               threading.Thread(target=load, args=(b.socket_path, "kb", on_b, failures, stop), daemon=True)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    a.kill()
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert len(on_a) > 10 and len(on_b) > 10
    with Client(b.socket_path) as client:
        stored_a = [m.message_id for m in client.get_context("ka", window=10_000).messages]
        stored_b = [m.message_id for m in client.get_context("kb", window=10_000).messages]
    # Every write a acknowledged before it died is in the shared log, in order; b went on.
    assert stored_a[: len(on_a)] == on_a and len(stored_a) <= len(on_a) + 1
    assert stored_b == on_b
    # a restarts on its mirror and catches up with what b wrote meanwhile.
    a.start("--store", postgres.url, "--window", "10000")
    with Client(a.socket_path) as client:
        assert [m.message_id for m in client.get_context("kb", window=10_000).messages] == on_b
    verified = cli("verify", "--store", postgres.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_postgres_restart_under_load_answers_typed_errors_then_resumes(fleet, postgres):
    (a,) = fleet(1, "--window", "10000")
    stop = threading.Event()
    acknowledged: list[str] = []
    failures: list[int] = []
    thread = threading.Thread(target=load, args=(a.socket_path, "r", acknowledged, failures, stop), daemon=True)
    thread.start()
    time.sleep(1.0)
    postgres.stop()
    time.sleep(1.0)
    with Client(a.socket_path) as client:
        with pytest.raises(StoreUnavailable) as unavailable:
            client.get_context("r")
        assert "unavailable" in unavailable.value.message
        assert client.health()  # the daemon itself is fine
    before = len(acknowledged)
    postgres.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < before + 20 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(timeout=60)
    assert len(acknowledged) >= before + 20, "appends did not resume after PostgreSQL came back"
    assert failures and set(failures) == {-32010}, failures
    with Client(a.socket_path) as client:
        stored = [m.message_id for m in client.get_context("r", window=10_000).messages]
    # Every acknowledged write is there once; a write whose commit outcome was unknown may be too.
    assert [m for m in stored if m in set(acknowledged)] == acknowledged
    assert len(stored) <= len(acknowledged) + len(failures)


def test_a_postgres_crash_under_load_loses_no_acknowledged_write_and_no_mirror_diverges(fleet, postgres):
    # Appends commit without waiting for their flush (the lock is released first) and are visible
    # a moment before they are durable: a crash then loses them, so no daemon may have mirrored
    # them. Each daemon appends to its sessions and reads the other's all along (each read mirrors
    # what the other appended), through a crash of PostgreSQL.
    a, b = fleet(2, "--window", "10000")
    owners = {"ca": a, "cb": b, "cc": a, "cd": b}
    acknowledged: dict[str, list[str]] = {session: [] for session in owners}
    failures: list[int] = []
    read_failures: list[int] = []
    stop = threading.Event()

    def read(daemon: DaemonProcess, sessions: list[str]) -> None:
        while not stop.is_set():
            try:
                with Client(daemon.socket_path, timeout=15) as client:
                    while not stop.is_set():
                        for session in sessions:
                            try:
                                client.get_context(session, window=1)
                            except ConvLogError as error:
                                if error.code not in (-32001, -32010):  # not created yet; PostgreSQL down
                                    read_failures.append(error.code)
            except OSError:
                time.sleep(0.05)

    threads = [threading.Thread(target=load, args=(daemon.socket_path, session, acknowledged[session], failures, stop), daemon=True)
               for session, daemon in owners.items()]
    threads += [threading.Thread(target=read, args=(daemon, [s for s, owner in owners.items() if owner is not daemon]), daemon=True)
                for daemon in (a, b)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    postgres.crash()
    before = {session: len(ids) for session, ids in acknowledged.items()}
    time.sleep(0.5)
    postgres.start()
    deadline = time.monotonic() + 30
    while any(len(acknowledged[s]) < before[s] + 20 for s in owners) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    after = {session: len(ids) for session, ids in acknowledged.items()}
    assert all(after[s] >= before[s] + 20 for s in owners), f"appends did not resume on both daemons after the crash: {before} → {after}, failures {failures[-5:]}"
    assert set(failures) <= {-32010}, failures
    assert not read_failures, read_failures
    for session, ids in acknowledged.items():
        with Client(a.socket_path) as on_a, Client(b.socket_path) as on_b:
            stored = [m.message_id for m in on_a.get_context(session, window=10_000).messages]
            assert [m.message_id for m in on_b.get_context(session, window=10_000).messages] == stored, "both mirrors hold the same records"
        # Every acknowledged write is there once, in order; one whose outcome was unknown may be too.
        assert [m for m in stored if m in set(ids)] == ids
        assert len(stored) <= len(ids) + len(failures)
    verified = cli("verify", "--store", postgres.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_daemons_mirror_only_records_marked_durable(fleet, postgres):
    # A record above the highest durability mark is one whose flush is still awaited: a PostgreSQL
    # crash could lose it, so no daemon reads it — until an append that needs it marks it durable.
    (a,) = fleet(1)
    with Client(a.socket_path) as on_a:
        on_a.create(session_id="s")
        on_a.add("s", "user", "first")
        on_a.add("s", "user", "second")
    assert postgres.psql("-c", "SELECT max(head) FROM convlog_durable") == "3\n"
    postgres.psql("-c", "UPDATE convlog_durable SET head = 2")  # as if record 3's mark were not committed yet
    (b,) = fleet(1)
    with Client(b.socket_path) as on_b:
        assert texts(on_b, "s") == ["first"]
        # b's append collides on the session's version with record 3; holding the append lock, it
        # marks every stored record durable, takes record 3 and builds its commit again.
        added = on_b.add("s", "user", "third")
        assert (added.sequence, added.version) == (4, 4)
        assert texts(on_b, "s") == ["first", "second", "third"]
    assert postgres.psql("-c", "SELECT max(head) FROM convlog_durable") == "4\n"
    verified = cli("verify", "--store", postgres.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_deleting_a_session_erases_its_payloads_in_postgres(fleet, postgres):
    a, b = fleet(2)
    with Client(a.socket_path) as on_a, Client(b.socket_path) as on_b:
        on_a.create(session_id="secret")
        on_a.add("secret", "user", "MARKER-payload-to-erase")
        on_a.create(session_id="kept")
        on_a.add("kept", "user", "MARKER-kept")
        on_b.delete_session("secret", reason="user request")
        with pytest.raises(ConvLogError) as gone:
            on_a.get_context("secret")
        assert gone.value.code == -32001
    rows = postgres.psql("-c", "SELECT count(*) FROM convlog_payloads WHERE position('MARKER'::bytea in payload) > 0")
    assert rows == "1\n"  # only the kept session's message
    assert postgres.psql("-c", "SELECT deleted FROM convlog_sessions WHERE session_id = 'secret'") == "t\n"
    verified = cli("verify", "--store", postgres.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_migrate_moves_a_local_log_into_postgres_with_its_chain(daemon_process, fleet, postgres):
    with Client(daemon_process.start()) as client:
        client.create(session_id="m", user_id="ana", context={"db": "chinook"})
        for n in range(30):
            client.add("m", "user" if n % 2 == 0 else "assistant", f"message {n}", message_id=f"m{n}")
        client.create(session_id="gone")
        client.add("gone", "user", "bye")
        client.delete_session("gone")
        local_context = client.get_context("m", window=100)
    daemon_process.stop()
    local = cli("verify", "--data-dir", daemon_process.data_dir)
    assert local.returncode == 0
    migrated = cli("migrate", "--from", daemon_process.data_dir, "--to", postgres.url)
    assert migrated.returncode == 0, migrated.stderr
    again = cli("migrate", "--from", daemon_process.data_dir, "--to", postgres.url)  # resumes: nothing to copy
    assert again.returncode == 0, again.stderr
    shared = cli("verify", "--store", postgres.url)
    assert shared.returncode == 0, shared.stdout + shared.stderr
    # The same chain, to the same head hash.
    assert local.stdout.split("head ")[1].split()[:2] == shared.stdout.split("head ")[1].split()[:2]
    # A new daemon on the store serves the migrated conversation; the old directory is a valid mirror.
    (fresh,) = fleet(1)
    with Client(fresh.socket_path) as client:
        assert client.get_context("m", window=100) == local_context
        client.add("m", "user", "after the move")
    daemon_process.start("--store", postgres.url)
    with Client(daemon_process.socket_path) as client:
        assert texts(client, "m")[-1] == "after the move"
    # Another log refuses to go into this database.
    with tempfile.TemporaryDirectory(dir="/tmp") as other:
        other_daemon = DaemonProcess(other)
        with Client(other_daemon.start()) as client:
            client.create(session_id="other")
        other_daemon.stop()
        refused = cli("migrate", "--from", other_daemon.data_dir, "--to", postgres.url)
        assert refused.returncode == 1 and "another convlog log" in refused.stderr
    # Replay, stats and rebuild read the store too.
    replay = cli("replay", "--store", postgres.url, "--session", "m", "--format", "jsonl")
    assert replay.returncode == 0 and replay.stdout.count("\n") >= 31
    rebuilt = cli("rebuild", "--store", postgres.url)
    assert rebuilt.returncode == 0 and "2 sessions" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr


def test_a_database_of_the_first_schema_is_migrated_and_its_chain_continued(fleet, postgres):
    (daemon,) = fleet(1)
    with Client(daemon.socket_path) as client:
        client.create(session_id="old")
        client.add("old", "user", "stored by schema 1", message_id="q1")
    daemon.stop()
    # What a database of the first schema looks like: the tables and records, no append procedure,
    # no durability marks.
    postgres.psql("-c", "DROP PROCEDURE convlog_append", "-c", "DROP TABLE convlog_durable",
                  "-c", "DELETE FROM convlog_migrations WHERE version >= 2")
    daemon.start("--store", postgres.url)
    with Client(daemon.socket_path) as client:
        added = client.add("old", "user", "appended after the migration", message_id="q2")
        assert added.sequence == 3 and added.version == 3
        assert texts(client, "old") == ["stored by schema 1", "appended after the migration"]
    assert postgres.psql("-c", "SELECT max(version) FROM convlog_migrations") == "3\n"
    assert postgres.psql("-c", "SELECT max(head) FROM convlog_durable") == "3\n"
    verified = cli("verify", "--store", postgres.url)
    assert verified.returncode == 0 and "chain: ok, 3 events" in verified.stdout, verified.stdout + verified.stderr


def test_tampering_in_postgres_is_caught_by_verify(fleet, postgres):
    (a,) = fleet(1)
    with Client(a.socket_path) as client:
        client.create(session_id="t")
        client.add("t", "user", "original")
    a.stop()
    changed = postgres.psql("-c", "UPDATE convlog_payloads SET payload = overlay(payload placing 'FORGED'::bytea "
                            "from position('original'::bytea in payload) for 6) WHERE position('original'::bytea in payload) > 0 RETURNING sequence")
    assert changed.strip().isdigit()
    verified = cli("verify", "--store", postgres.url)
    assert verified.returncode == 3, verified.stdout + verified.stderr
    assert "FAILED" in verified.stdout and "altered" in verified.stdout


def test_bad_store_settings_are_refused_clearly(postgres, tmp_path):
    daemon = DaemonProcess(str(tmp_path))
    with pytest.raises(RuntimeError) as password:
        daemon.start("--store", "postgres://postgres:secret@localhost/postgres")
    assert "password" in str(password.value) and "secret" not in str(password.value)
    with pytest.raises(RuntimeError) as unreachable:
        daemon.start("--store", f"postgres://postgres@/postgres?host={tmp_path}")
    assert "cannot open the event log" in str(unreachable.value)
    refused = cli("backup", "--store", postgres.url, str(tmp_path / "b"))
    assert refused.returncode == 1 and "pg_dump" in refused.stderr
    # A mirror of another database is refused, not mixed.
    fresh = DaemonProcess(str(tmp_path / "x"))
    with Client(fresh.start()) as client:
        client.create(session_id="local-only")
    fresh.stop()
    with pytest.raises(RuntimeError) as mixed:
        fresh.start("--store", postgres.url)
    assert "past the shared log's head" in str(mixed.value)
    assert os.path.exists(fresh.data_dir)


def test_a_password_comes_from_a_file_or_the_environment_never_the_url(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cluster = PostgresCluster(tcp_port=port)
    try:
        cluster.psql("-c", "CREATE ROLE app LOGIN PASSWORD 's3cret-pw'")
        cluster.psql("-c", "GRANT CREATE ON SCHEMA public TO app")
        cluster.require_password("app")
        url = f"postgres://app@127.0.0.1:{port}/postgres?sslmode=disable"
        password_file = tmp_path / "password"
        password_file.write_text("s3cret-pw\n")
        password_file.chmod(0o600)
        daemon = DaemonProcess(str(tmp_path / "d"))
        with Client(daemon.start("--store", url, "--store-password-file", str(password_file))) as client:
            client.create(session_id="p")
        daemon.stop()
        with Client(daemon.start("--store", url, environment={"CONVLOG_STORE_PASSWORD": "s3cret-pw"})) as client:
            client.add("p", "user", "through the environment")
        daemon.stop()
        password_file.write_text("wrong\n")
        with pytest.raises(RuntimeError) as refused:
            daemon.start("--store", url, "--store-password-file", str(password_file))
        assert "password authentication failed" in str(refused.value)
        assert "wrong" not in str(refused.value)
    finally:
        cluster.remove()
