"""The LangChain chat-history adapter, with langchain-core installed."""

from __future__ import annotations

import pytest

pytest.importorskip("langchain_core")

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402

from convlog import Client  # noqa: E402
from convlog.langchain import ConvLogChatMessageHistory, shared_client  # noqa: E402


def test_history_round_trip_and_clear(daemon):
    history = ConvLogChatMessageHistory("lc-1", client=Client(daemon))
    assert history.messages == []
    history.add_messages([SystemMessage("Be brief."), HumanMessage("How many artists start with A-E?", id="h1")])
    history.add_messages([AIMessage("86."), ToolMessage("SELECT 86", tool_call_id="call-1")])
    messages = history.messages
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage, AIMessage, ToolMessage]
    assert messages[1].content == "How many artists start with A-E?" and messages[1].id == "h1"
    assert messages[3].tool_call_id == "call-1"

    history.add_messages([HumanMessage("again", id="h1")])  # same id: a retry, not a new message
    assert len(history.messages) == 4

    history.clear()
    assert history.messages == []
    history.add_messages([HumanMessage("after clear")])
    assert [m.content for m in history.messages] == ["after clear"]
    # Nothing was deleted: the log still holds every message.
    assert Client(daemon).get_session("lc-1").message_count == 5


def test_messages_round_trip_with_tool_calls_and_every_field(daemon):
    history = ConvLogChatMessageHistory("lc-tools", client=Client(daemon))
    sent = [
        HumanMessage([{"type": "text", "text": "Plot sales by country"}], id="u1", name="ana"),
        AIMessage(
            "", id="a1", name="analyst",
            tool_calls=[{"name": "run_sql", "args": {"query": "SELECT country, sum(total) FROM invoices GROUP BY 1"}, "id": "call-7"}],
            additional_kwargs={"refusal": None}, response_metadata={"model_name": "m", "finish_reason": "tool_calls"},
        ),
        ToolMessage("[[\"USA\", 523.06]]", tool_call_id="call-7", id="t1", status="success", artifact={"rows": 1}),
        AIMessage("USA leads with 523.06.", id="a2"),
    ]
    history.add_messages(sent)
    assert history.messages == sent
    # The text stays the convlog message's content, for getContext and follow-up analysis.
    assert Client(daemon).get_context("lc-tools", window=1).messages[0].content == "USA leads with 523.06."


def test_history_pages_past_the_daemon_window_and_window_limits_it(daemon):
    client = Client(daemon)
    history = ConvLogChatMessageHistory("lc-long", client=client)
    sent = [HumanMessage(f"question {n}", id=f"q{n}") if n % 2 == 0 else AIMessage(f"answer {n}", id=f"a{n}") for n in range(130)]
    history.add_messages(sent)
    assert history.messages == sent, "every message, not the daemon's window of 50"
    assert ConvLogChatMessageHistory("lc-long", client=client, window=5).messages == sent[-5:]


def test_histories_without_a_client_share_one_per_socket(daemon):
    first = ConvLogChatMessageHistory("lc-a", socket_path=daemon)
    second = ConvLogChatMessageHistory("lc-b", socket_path=daemon)
    assert first.client is second.client is shared_client(daemon)
    first.add_messages([HumanMessage("hi", id="x")])
    assert [m.content for m in second.client.get_context("lc-a").messages] == ["hi"]
