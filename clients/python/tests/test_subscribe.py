"""The live tail: Client.subscribe, AsyncClient.subscribe and `convlog tail`, against a real daemon."""

from __future__ import annotations

import asyncio
import json
import select
import subprocess
import threading
import time

import pytest

from conftest import DaemonProcess, cli, cli_binary
from test_metrics import free_port, scrape
from convlog import AsyncClient, Client, InvalidParams, SubscriberTooSlow


def test_history_then_live_while_writers_append(client: Client, daemon: str):
    for index in range(20):
        client.add("chat", "user", f"before {index}", create_if_missing=True)

    def keep_writing() -> None:
        with Client(daemon) as writer:
            for index in range(300):
                writer.add(f"chat-{index % 3}", "user", f"during {index}", create_if_missing=True)
            writer.add("chat", "user", "the last one")

    with client.subscribe(from_sequence=1, timeout=20) as events:
        thread = threading.Thread(target=keep_writing)
        thread.start()
        sequences = []
        for event in events:
            sequences.append(event.sequence)
            if event.data.get("content") == "the last one":
                break
        thread.join(timeout=60)
        assert events.caught_up_through is not None
    head = client.stats().head_sequence
    assert sequences == list(range(1, head + 1)), "every event once, in order, history and live"


def test_follow_false_ends_at_the_end_of_the_log(client: Client):
    for index in range(5):
        client.add("chat", "user", f"message {index}", create_if_missing=True)
    head = client.stats().head_sequence
    with client.subscribe(from_sequence=1, follow=False) as events:
        delivered = list(events)
    assert [event.sequence for event in delivered] == list(range(1, head + 1))
    assert events.caught_up_through == head
    assert [event.data["content"] for event in delivered if event.type == "MessageAdded"] == [f"message {i}" for i in range(5)]


def test_async_subscription_filters_by_session_and_type(daemon: str):
    async def scenario() -> list[str]:
        async with AsyncClient(daemon) as writer:
            async with writer.subscribe(session_id="watched", types=["MessageAdded"], timeout=20) as events:
                for index in range(3):
                    await writer.add("other", "user", f"noise {index}", create_if_missing=True)
                    await writer.add("watched", "user", f"signal {index}", create_if_missing=True)
                contents = []
                async for event in events:
                    assert event.session_id == "watched" and event.type == "MessageAdded"
                    contents.append(event.data["content"])
                    if len(contents) == 3:
                        break
                return contents

    assert asyncio.run(scenario()) == ["signal 0", "signal 1", "signal 2"]


def test_bad_parameters_name_the_field(client: Client):
    with pytest.raises(InvalidParams) as bad_start:
        client.subscribe(from_sequence=0)
    assert bad_start.value.field == "fromSequence"
    with pytest.raises(InvalidParams) as bad_type:
        client.subscribe(types=["MesageAdded"])
    assert bad_type.value.field == "types" and "MessageAdded" in bad_type.value.message


def test_a_reader_that_falls_behind_is_told_where_to_resume(daemon_process: DaemonProcess):
    port = free_port()
    socket_path = daemon_process.start("--subscriber-buffer", "16", "--metrics-listen", f"127.0.0.1:{port}")
    client = Client(socket_path)
    client.create("big")
    with client.subscribe(timeout=20) as events:
        # 200 × 32 KiB while the subscriber reads nothing: more than the socket and its buffer hold.
        last = [client.add("big", "user", "x" * (32 << 10)).sequence for _ in range(200)][-1]
        seen = []
        with pytest.raises(SubscriberTooSlow) as ended:
            for event in events:
                seen.append(event.sequence)
    resume_from = ended.value.resume_from
    assert resume_from is not None and resume_from <= last
    assert seen == list(range(2, resume_from)), "delivered gap-free from the start (after the SessionCreated) up to resume_from"
    with client.subscribe(from_sequence=resume_from, follow=False) as rest:
        assert [event.sequence for event in rest] == list(range(resume_from, last + 1)), "nothing lost from resume_from on"
    samples = scrape(port)
    assert samples["convlog_subscriptions_ended_too_slow"] == 1 and samples["convlog_subscriptions"] == 0


def test_convlog_tail(client: Client, daemon: str):
    for index in range(12):
        client.add("chat", "user", f"line {index}", create_if_missing=True)
    head = client.stats().head_sequence

    done = cli("tail", "--socket", daemon, "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [event["sequence"] for event in printed] == list(range(head - 9, head + 1)), "the last 10 events"

    session = cli("tail", "--socket", daemon, "--session", "chat", "--type", "MessageAdded")
    assert session.returncode == 0, session.stderr
    lines = session.stdout.splitlines()
    assert lines[0].startswith("SEQ") and len(lines) == 13 and "user [" in lines[1] and lines[-1].endswith("line 11")

    typo = cli("tail", "--socket", daemon, "--type", "MesageAdded")
    assert typo.returncode == 1 and "types" in typo.stderr

    follower = subprocess.Popen([str(cli_binary()), "tail", "-f", "-n", "0", "--socket", daemon, "--format", "jsonl"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # let it subscribe: -n 0 starts after the head
        added = [client.add("chat", "assistant", f"live {index}").sequence for index in range(3)]
        followed = []
        deadline = time.monotonic() + 20
        while len(followed) < 3 and time.monotonic() < deadline:
            ready, _, _ = select.select([follower.stdout], [], [], 1)
            if ready:
                followed.append(json.loads(follower.stdout.readline()))
        assert [event["sequence"] for event in followed] == added
        assert [event["data"]["content"] for event in followed] == ["live 0", "live 1", "live 2"]
    finally:
        follower.terminate()
        follower.wait(timeout=20)


def test_resume_follows_across_a_daemon_restart(daemon_process: DaemonProcess):
    socket_path = daemon_process.start()
    with Client(socket_path) as client:
        for index in range(5):
            client.add("chat", "user", f"before {index}", create_if_missing=True)
    with Client(socket_path).subscribe(from_sequence=1, resume=True, reconnect_for=30, timeout=30) as events:
        before = [next(events).sequence for _ in range(6)]
        daemon_process.stop()
        daemon_process.start()
        with Client(socket_path) as client:
            after_restart = [client.add("chat", "user", f"after {index}").sequence for index in range(5)]
        # Only a new subscription on the restarted daemon can deliver these.
        after = [next(events).sequence for _ in range(5)]
    assert before == list(range(1, 7))
    assert after == after_restart == list(range(7, 12)), "the iteration went on after the restart, nothing lost or repeated"


def test_resume_after_falling_behind(daemon_process: DaemonProcess):
    socket_path = daemon_process.start("--subscriber-buffer", "16")
    client = Client(socket_path)
    client.create("big")
    with client.subscribe(resume=True, timeout=30) as events:
        first_id = events.id
        last = [client.add("big", "user", "x" * (32 << 10)).sequence for _ in range(200)][-1]
        sequences = []
        for event in events:
            sequences.append(event.sequence)
            if event.sequence == last:
                break
        assert events.id != first_id, "the daemon ended the first subscription (too slow)"
    assert sequences == list(range(2, last + 1)), "the subscription resumed by itself where the daemon ended it"


def test_convlog_tail_follows_across_a_daemon_restart(daemon_process: DaemonProcess):
    socket_path = daemon_process.start()
    Client(socket_path).create("chat")
    follower = subprocess.Popen([str(cli_binary()), "tail", "-f", "-n", "0", "--socket", socket_path, "--format", "jsonl"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def read_events(count: int) -> list[dict]:
        events, deadline = [], time.monotonic() + 30
        while len(events) < count and time.monotonic() < deadline:
            if select.select([follower.stdout], [], [], 1)[0]:
                events.append(json.loads(follower.stdout.readline()))
        return events

    try:
        time.sleep(0.5)  # let it subscribe
        before = [Client(socket_path).add("chat", "user", f"before {index}").sequence for index in range(2)]
        assert [event["sequence"] for event in read_events(2)] == before
        daemon_process.stop()
        daemon_process.start()
        after = [Client(socket_path).add("chat", "user", f"after {index}").sequence for index in range(2)]
        assert [event["sequence"] for event in read_events(2)] == after == [before[-1] + 1, before[-1] + 2]
    finally:
        follower.terminate()
        _, errors = follower.communicate(timeout=20)
    assert "following again from sequence" in errors
