"""Deletion and erasure, end to end: a real daemon, the real CLI, the raw bytes of the data directory."""

from __future__ import annotations

import os
import threading

import pytest

from conftest import DaemonProcess, cli
from convlog import Client, InvalidParams, SessionNotFound
from test_langgraph import chat_graph

langgraph = pytest.importorskip("langgraph")
from langchain_core.messages import HumanMessage  # noqa: E402

from convlog.langgraph import ConvLogSaver  # noqa: E402


def marker(session: str, index: int) -> str:
    return f"MARKER-{session}-{index:03d}-Q7X"


def raw_bytes(directory: str) -> bytes:
    """Every file of the data directory, concatenated."""
    chunks = []
    for root, _, names in os.walk(directory):
        for name in names:
            with open(os.path.join(root, name), "rb") as handle:
                chunks.append(handle.read())
    return b"".join(chunks)


def test_deleted_sessions_disappear_are_erased_and_leave_the_file_at_compaction(daemon_process: DaemonProcess):
    socket_path = daemon_process.start()
    client = Client(socket_path)
    for session in ["gone", "kept", "busy"]:
        client.create(session_id=session, metadata={"m": marker(session, 900)}, context={"c": marker(session, 901)})
        for index in range(20):
            client.add(session, "user" if index % 2 == 0 else "assistant", marker(session, index) + " " + "x" * 300,
                       metadata={"n": marker(session, 500 + index)})
    graph = chat_graph(ConvLogSaver(socket_path))
    for index in range(3):
        graph.invoke({"messages": [HumanMessage(marker("thread", index))]}, {"configurable": {"thread_id": "thread"}})

    # Deletions while another client appends: nothing acknowledged is lost.
    acknowledged: list[int] = []

    def append_meanwhile() -> None:
        writer = Client(socket_path)
        for index in range(100):
            acknowledged.append(writer.add("busy", "user", f"meanwhile {index}").sequence)

    appender = threading.Thread(target=append_meanwhile)
    appender.start()
    assert client.delete_session("gone", reason="user request") > 0
    ConvLogSaver(socket_path).delete_thread("thread")
    appender.join(timeout=60)
    assert len(acknowledged) == 100

    with pytest.raises(SessionNotFound, match="was deleted"):
        client.get_context("gone")
    with pytest.raises(SessionNotFound):
        client.analyze_follow_up("gone", "and those?")
    with pytest.raises(SessionNotFound):
        client.get_session("thread")
    assert {s.session_id for s in client.list_sessions().sessions} == {"kept", "busy"}
    assert graph.get_state({"configurable": {"thread_id": "thread"}}).values == {}
    stats = client.stats()
    assert (stats.sessions, stats.deleted_sessions) == (2, 2)
    # The deletion is an event of the log, with its reason.
    events = client.read_events(session_id="gone", limit=1000).events
    assert events[-1].type == "SessionDeleted" and events[-1].data["reason"] == "user request"
    assert len([e for e in client.read_events(session_id="busy", limit=1000).events if e.type == "MessageAdded"]) == 120

    # Bad input: typed errors.
    with pytest.raises(SessionNotFound):
        client.delete_session("gone")
    with pytest.raises(SessionNotFound):
        client.delete_session("never-existed")
    with pytest.raises(InvalidParams) as error:
        client.delete_session("bad id")
    assert error.value.field == "sessionId"

    daemon_process.stop()
    missing = cli("compact", "--data-dir", daemon_process.data_dir + "-typo")
    assert missing.returncode != 0 and "no event log" in missing.stderr and not os.path.exists(daemon_process.data_dir + "-typo")
    size_before = os.path.getsize(os.path.join(daemon_process.data_dir, "data.mdb"))
    compacted = cli("compact", "--data-dir", daemon_process.data_dir)
    assert compacted.returncode == 0, compacted.stderr
    assert os.path.getsize(os.path.join(daemon_process.data_dir, "data.mdb")) < size_before
    data = raw_bytes(daemon_process.data_dir)
    for index in list(range(20)) + [900, 901, 500]:
        assert marker("gone", index).encode() not in data, index
        assert marker("kept", index).encode() in data, index
    for index in range(3):
        assert marker("thread", index).encode() not in data, index
    verified = cli("verify", "--data-dir", daemon_process.data_dir, "--projections")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert cli("rebuild", "--data-dir", daemon_process.data_dir).returncode == 0
    assert cli("verify", "--data-dir", daemon_process.data_dir, "--projections").returncode == 0
    stats_text = cli("stats", "--data-dir", daemon_process.data_dir).stdout
    assert "2 live, 2 deleted" in stats_text and "0 deleted sessions still to erase" in stats_text

    # The daemon starts on the compacted log; a deleted id starts afresh.
    daemon_process.start()
    client = Client(socket_path)
    assert len(client.get_context("kept", window=50).messages) == 20
    client.add("gone", "user", "a new conversation", create_if_missing=True)
    assert [m.content for m in client.get_context("gone", window=50).messages] == ["a new conversation"]
    graph = chat_graph(ConvLogSaver(socket_path))
    graph.invoke({"messages": [HumanMessage("again")]}, {"configurable": {"thread_id": "thread"}})
    assert [m.content for m in graph.get_state({"configurable": {"thread_id": "thread"}}).values["messages"]] == ["again", "answer 1: again"]


def wait_until(condition, timeout: float = 15.0) -> bool:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def is_deleted(client: Client, session: str) -> bool:
    try:
        client.get_session(session)
        return False
    except SessionNotFound:
        return True


def test_sessions_expire_by_their_ttl_and_by_the_default_retention(daemon_process: DaemonProcess):
    import time

    socket_path = daemon_process.start("--sweep-interval", "1")
    client = Client(socket_path)
    client.create(session_id="short", ttl_seconds=1)
    client.add("short", "user", marker("short", 1))
    client.create(session_id="long")
    client.add("long", "user", marker("long", 1))
    assert client.get_session("short").expires_at is not None
    assert client.get_session("long").expires_at is None
    for bad in [0, -5, 10**12]:
        with pytest.raises(InvalidParams) as error:
            client.create(session_id="bad", ttl_seconds=bad)
        assert error.value.field == "ttlSeconds"
    assert wait_until(lambda: is_deleted(client, "short"))
    assert not is_deleted(client, "long")
    expired = [e for e in client.read_events(session_id="short", limit=100).events if e.type == "SessionDeleted"]
    assert expired and expired[0].data["reason"] == "expired"
    daemon_process.stop()

    # A default retention: idle sessions go; one written to all along stays, and loses no write.
    socket_path = daemon_process.start("--retention", "2", "--sweep-interval", "1")
    client = Client(socket_path)
    assert client.get_session("long").expires_at is not None
    client.create(session_id="active")
    acknowledged = []
    started = time.monotonic()
    while time.monotonic() - started < 4.5:
        acknowledged.append(client.add("active", "user", f"still here {len(acknowledged)}").message_id)
        time.sleep(0.2)
    assert wait_until(lambda: is_deleted(client, "long"))
    stored = [m.message_id for m in client.get_context("active", window=100).messages]
    assert stored == acknowledged
    daemon_process.stop()
    assert cli("verify", "--data-dir", daemon_process.data_dir, "--projections").returncode == 0
    # Expired sessions are erased like deleted ones.
    assert cli("compact", "--data-dir", daemon_process.data_dir).returncode == 0
    data = raw_bytes(daemon_process.data_dir)
    assert marker("short", 1).encode() not in data and marker("long", 1).encode() not in data
    assert b"still here 0" in data
    assert cli("verify", "--data-dir", daemon_process.data_dir, "--projections").returncode == 0
