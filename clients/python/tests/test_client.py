"""Every method and every error class, against a real daemon."""

from __future__ import annotations

import socket
import threading

import pytest

import convlog
from convlog._protocol import LineReader
from convlog import (
    Client, InvalidParams, MethodNotFound, PayloadTooLarge, SessionExists, SessionNotFound, TransportError, VersionConflict,
)


def test_conversation_round_trip(client):
    created = client.create(session_id="chat-1", user_id="alice", metadata={"app": "test"}, context={"db": "chinook"})
    assert created.session_id == "chat-1" and created.version == 2
    first = client.add("chat-1", "user", "How many artists start with A-E?", message_id="q1")
    assert first.message_id == "q1" and not first.duplicate
    second = client.add("chat-1", "assistant", {"answer": 86}, expected_version=first.version)
    assert second.version == first.version + 1

    context = client.get_context("chat-1", window=5)
    assert [m.role for m in context.messages] == ["user", "assistant"]
    assert context.messages[1].content == {"answer": 86}
    assert context.context == {"db": "chinook"}

    analysis = client.analyze_follow_up("chat-1", "Who are those artists?")
    assert analysis.is_follow_up
    assert analysis.standalone_query == "Who are the artists that start with A-E?"
    assert analysis.previous_topic and analysis.previous_topic.entity == "artists"
    assert analysis.method == "rules" and len(analysis.context_messages) == 2

    updated = client.update_context("chat-1", {"lastSql": "SELECT 1", "db": None})
    assert updated.context.get("lastSql") == "SELECT 1" and "db" not in updated.context

    session = client.get_session("chat-1")
    assert session.user_id == "alice" and session.message_count == 2 and session.metadata == {"app": "test"}
    assert session.last_topic and session.last_topic["entity"] == "artists"
    page = client.list_sessions(user_id="alice")
    assert [s.session_id for s in page.sessions] == ["chat-1"] and page.next is None

    events = client.read_events(session_id="chat-1")
    assert events.events[0].type == "SessionCreated" and events.events[0].session_version == 1
    assert client.health().status == "ok"
    assert client.stats().sessions == 1


def test_paging_and_time_travel(client):
    for index in range(5):
        client.create(session_id=f"s{index}", user_id="u")
    seen, after = [], None
    while True:
        page = client.list_sessions(limit=2, after=after, user_id="u")
        seen += [s.session_id for s in page.sessions]
        if page.next is None:
            break
        after = page.next
    assert sorted(seen) == [f"s{i}" for i in range(5)]
    first = client.add("s0", "user", "one")
    client.add("s0", "user", "two")
    assert [m.content for m in client.get_context("s0", window=10, as_of=first.sequence).messages] == ["one"]
    assert [m.content for m in client.get_context("s0", window=10, max_tokens=5).messages] == ["two"]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda c: c.get_context("missing"), SessionNotFound),
        (lambda c: c.create(session_id="dup") and c.create(session_id="dup"), SessionExists),
        (lambda c: c.get_context("bad id!"), InvalidParams),
        (lambda c: c.add("x", "robot", "hi", create_if_missing=True), InvalidParams),
        (lambda c: c.call("dropTables"), MethodNotFound),
        (lambda c: c.add("big", "user", "x" * 300_000, create_if_missing=True), PayloadTooLarge),
        # A request line over the daemon's frame limit is refused before it is parsed (id null).
        (lambda c: c.add("huge", "user", "x" * 1_100_000, create_if_missing=True), PayloadTooLarge),
    ],
)
def test_error_classes(client, call, error):
    with pytest.raises(error) as raised:
        call(client)
    assert raised.value.code == error.code
    assert isinstance(raised.value, convlog.ConvLogError)
    assert client.health().status == "ok"


def test_version_conflict_carries_versions(client):
    client.create(session_id="v")
    with pytest.raises(VersionConflict) as raised:
        client.add("v", "user", "x", expected_version=7)
    assert raised.value.expected == 7 and raised.value.actual == 1
    assert raised.value.field == "expectedVersion"


def test_invalid_params_names_the_field(client):
    with pytest.raises(InvalidParams) as raised:
        client.call("getContext", sessionId="s", window="five")
    assert raised.value.field == "window"


def test_unreachable_daemon_is_a_transport_error(tmp_path):
    with pytest.raises(TransportError):
        Client(str(tmp_path / "none.sock"), timeout=1).health()


def test_retry_after_a_dropped_connection_stores_one_message(client, monkeypatch):
    client.create(session_id="retry")
    original = LineReader.read_line
    dropped = []

    def drop_once(self):
        if not dropped:
            dropped.append(True)
            self.socket.shutdown(socket.SHUT_RDWR)  # the request was sent; the answer is lost
            raise ConnectionResetError("connection dropped after sending")
        return original(self)

    monkeypatch.setattr(LineReader, "read_line", drop_once)
    result = client.add("retry", "user", "exactly once")
    assert dropped and result.duplicate, "the retry was answered with the first attempt's result"
    monkeypatch.setattr(LineReader, "read_line", original)
    assert [m.content for m in client.get_context("retry", window=10).messages] == ["exactly once"]
    assert client.get_session("retry").message_count == 1


def test_threads_share_a_client(daemon):
    shared = Client(daemon, timeout=10)
    shared.create(session_id="threads")
    errors = []

    def work(worker):
        try:
            for index in range(50):
                shared.add("threads", "user", f"{worker}-{index}")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert shared.get_session("threads").message_count == 400
    versions = [e.session_version for e in shared.read_events(session_id="threads", limit=1000).events]
    assert versions == list(range(1, len(versions) + 1))
