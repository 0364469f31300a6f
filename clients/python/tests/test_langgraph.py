"""ConvLogSaver, the LangGraph checkpointer, against a real convlogd and real LangGraph graphs."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import uuid

import pytest

pytest.importorskip("langgraph")
conformance = pytest.importorskip("langgraph.checkpoint.conformance")

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.checkpoint.base import empty_checkpoint  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402

from conftest import REPO, cli  # noqa: E402
from convlog import Client, ThreadDeleted  # noqa: E402
from convlog.langgraph import ConvLogSaver  # noqa: E402


def chat_graph(saver: ConvLogSaver):
    """The graph users start from: a respond node over MessagesState."""
    def respond(state: MessagesState) -> dict:
        question = state["messages"][-1].content
        return {"messages": [AIMessage(f"answer {len(state['messages'])}: {question}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    builder.add_edge("respond", END)
    return builder.compile(checkpointer=saver)


def run_conformance(saver_type: type[ConvLogSaver], socket_path: str):
    @conformance.checkpointer_test(name=saver_type.__name__)
    async def make():
        saver = saver_type(socket_path)
        yield saver
        saver.close()

    return asyncio.run(conformance.validate(make, progress=conformance.report.ProgressCallbacks.quiet()))


def test_conformance_full(daemon):
    report = run_conformance(ConvLogSaver, daemon)
    report.print_report()
    assert report.conformance_level() == "FULL"
    assert report.passed_all()


class SyncDrivenSaver(ConvLogSaver):
    """Routes the async API the conformance suite calls to the sync API, so the suite checks the sync methods."""

    async def aget_tuple(self, config):
        return self.get_tuple(config)

    async def alist(self, config, *, filter=None, before=None, limit=None):
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config, checkpoint, metadata, new_versions):
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config, writes, task_id, task_path=""):
        return self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id):
        return self.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids):
        return self.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id, target_thread_id):
        return self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids, *, strategy="keep_latest"):
        return self.prune(thread_ids, strategy=strategy)


def test_conformance_through_the_sync_api(daemon):
    report = run_conformance(SyncDrivenSaver, daemon)
    report.print_report()
    assert report.conformance_level() == "FULL"


def test_graph_invoke_history_fork_and_one_memory(daemon):
    saver = ConvLogSaver(daemon)
    graph = chat_graph(saver)
    config = {"configurable": {"thread_id": "chat-1"}}
    graph.invoke({"messages": [HumanMessage("How many artists start with A-E?")]}, config)
    result = asyncio.run(graph.ainvoke({"messages": [HumanMessage("Who are those artists?")]}, config))
    assert [m.content for m in result["messages"]] == [
        "How many artists start with A-E?", "answer 1: How many artists start with A-E?",
        "Who are those artists?", "answer 3: Who are those artists?",
    ]
    history = list(graph.get_state_history(config))
    assert len(history) >= 6 and history[0].values["messages"][-1].content == "answer 3: Who are those artists?"

    # One memory: the thread is a convlog session holding its messages, once each, with roles.
    client = Client(daemon)
    context = client.get_context("chat-1", window=10)
    assert [(m.role, m.content) for m in context.messages] == [
        ("user", "How many artists start with A-E?"), ("assistant", "answer 1: How many artists start with A-E?"),
        ("user", "Who are those artists?"), ("assistant", "answer 3: Who are those artists?"),
    ]
    analysis = client.analyze_follow_up("chat-1", "and those in France?")
    assert analysis.is_follow_up

    # A fork: edit the second question (same message id, other text) before it was answered, and
    # run on from there. The edited message cannot reuse the stored one: the saver stores that list
    # as bytes. The original branch is unchanged.
    before_answer = next(s for s in history if s.next == ("respond",) and len(s.values["messages"]) == 3)
    question = before_answer.values["messages"][-1]
    forked = graph.update_state(before_answer.config, {"messages": [HumanMessage("Only the ones from Brazil?", id=question.id)]})
    branch = graph.invoke(None, forked)
    assert [m.content for m in branch["messages"]][2:] == ["Only the ones from Brazil?", "answer 3: Only the ones from Brazil?"]
    assert graph.get_state(config).values["messages"][-1].content == "answer 3: Only the ones from Brazil?"
    assert graph.get_state(history[0].config).values["messages"][2].content == "Who are those artists?"


def test_messages_are_stored_once(daemon):
    saver = ConvLogSaver(daemon)
    graph = chat_graph(saver)
    config = {"configurable": {"thread_id": "long-chat"}}
    for turn in range(15):
        graph.invoke({"messages": [HumanMessage(f"question marker-{turn:03d}")]}, config)
    assert len(graph.get_state(config).values["messages"]) == 30
    events = []
    start = 1
    client = Client(daemon)
    while start is not None:
        page = client.read_events(from_sequence=start, session_id="long-chat", limit=1000)
        events += page.events
        start = page.next
    # Every message's text is in exactly one event of the log: its MessageAdded.
    for turn in range(15):
        holding = [e for e in events if f"marker-{turn:03d}" in repr(e.data)]
        assert [e.type for e in holding] == ["MessageAdded", "MessageAdded"], turn  # the question, and the answer quoting it
    assert sum(e.type == "MessageAdded" for e in events) == 30
    # A fresh saver (nothing remembered) reads the same state.
    assert graph.get_state(config).values == chat_graph(ConvLogSaver(daemon)).get_state(config).values


def test_delete_thread_fences_late_writes(daemon):
    saver = ConvLogSaver(daemon)
    graph = chat_graph(saver)
    config = {"configurable": {"thread_id": "doomed"}}
    graph.invoke({"messages": [HumanMessage("hello")]}, config)
    latest = saver.get_tuple(config)
    saver.delete_thread("doomed")
    assert saver.get_tuple(config) is None
    # A worker that was still running writes late, for the deleted checkpoint: refused, not resurrected.
    with pytest.raises(ThreadDeleted):
        saver.put_writes(latest.config, [("messages", [HumanMessage("late")])], str(uuid.uuid4()))
    late = {**latest.checkpoint, "channel_values": {}}
    with pytest.raises(ThreadDeleted):
        saver.put(latest.parent_config or config, late, {"source": "loop", "step": 9}, {})
    assert saver.get_tuple(config) is None
    # A new conversation on the same thread id is accepted.
    graph.invoke({"messages": [HumanMessage("starting over")]}, config)
    assert [m.content for m in graph.get_state(config).values["messages"]] == ["starting over", "answer 1: starting over"]


def test_state_survives_restart_and_sigkill_between_writes_and_checkpoint(daemon_process):
    socket_path = daemon_process.start()
    saver = ConvLogSaver(socket_path)
    graph = chat_graph(saver)
    config = {"configurable": {"thread_id": "durable"}}
    graph.invoke({"messages": [HumanMessage("remember me")]}, config)
    stored = saver.get_tuple(config)
    # Pending writes for the next step, then a crash before its checkpoint.
    saver.put_writes(stored.config, [("messages", [HumanMessage("pending")])], "task-1")
    daemon_process.kill()
    assert cli("verify", "--data-dir", daemon_process.data_dir, "--projections").returncode == 0

    daemon_process.start()
    after = ConvLogSaver(socket_path).get_tuple(config)
    assert after.checkpoint["id"] == stored.checkpoint["id"]
    assert [m.content for m in after.checkpoint["channel_values"]["messages"]] == ["remember me", "answer 1: remember me"]
    assert [(w[0], w[1]) for w in after.pending_writes] == [("task-1", "messages")]
    graph = chat_graph(ConvLogSaver(socket_path))
    graph.invoke({"messages": [HumanMessage("still there?")]}, config)
    assert len(graph.get_state(config).values["messages"]) == 4
    daemon_process.stop()

    replay = cli("replay", "--data-dir", daemon_process.data_dir, "--session", "durable")
    assert replay.returncode == 0 and "CheckpointPut" in replay.stdout and "WritesPut" in replay.stdout
    rebuilt = cli("rebuild", "--data-dir", daemon_process.data_dir)
    assert rebuilt.returncode == 0, rebuilt.stderr
    verified = cli("verify", "--data-dir", daemon_process.data_dir, "--projections")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "checkpoints" in verified.stdout


def test_threads_share_one_saver(daemon):
    saver = ConvLogSaver(daemon)
    graph = chat_graph(saver)
    errors: list[BaseException] = []

    def chat(index: int) -> None:
        try:
            config = {"configurable": {"thread_id": f"parallel-{index}"}}
            for turn in range(5):
                graph.invoke({"messages": [HumanMessage(f"{index}/{turn}")]}, config)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=chat, args=(index,)) for index in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors
    for index in range(6):
        messages = graph.get_state({"configurable": {"thread_id": f"parallel-{index}"}}).values["messages"]
        assert [m.content for m in messages[::2]] == [f"{index}/{turn}" for turn in range(5)]


def test_bad_input_gets_typed_errors(daemon):
    saver = ConvLogSaver(daemon)
    client = Client(daemon)
    from convlog import InvalidParams
    with pytest.raises(InvalidParams) as error:
        saver.put({"configurable": {"thread_id": "has space"}}, empty_checkpoint(), {}, {})
    assert error.value.field == "threadId"
    with pytest.raises(InvalidParams) as error:
        client.call("putCheckpoint", threadId="t", checkpointId="c1", checkpoint={"type": "json", "data": "%%%"})
    assert error.value.field == "checkpoint.data"
    with pytest.raises(InvalidParams) as error:
        client.call("putWrites", threadId="t", checkpointId="c1", taskId="x", writes=[{"channel": "c", "type": "json"}])
    assert error.value.field == "writes[0].idx"
    with pytest.raises(InvalidParams) as error:
        client.call("prune", threadIds=["t"], strategy="everything")
    assert error.value.field == "strategy"


def test_example_continues_the_thread_across_a_daemon_restart(daemon_process):
    import sys

    def run_example() -> str:
        done = subprocess.run([sys.executable, str(REPO / "examples" / "langgraph_chat.py"), "--socket", daemon_process.socket_path],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    daemon_process.start()
    first = run_example()
    assert "standalone: How many artists start with A-E?" in first
    daemon_process.stop()
    daemon_process.start()
    second = run_example()
    assert "asked:      Who are those artists?" in second
    assert "standalone: Who are the artists that start with A-E?" in second
    assert second.count("human:") == 2 and second.count("ai:") == 2
