"""The LangChain chat-history adapter, with langchain-core installed."""

from __future__ import annotations

import pytest

pytest.importorskip("langchain_core")

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402

from convlog import Client  # noqa: E402
from convlog.langchain import ConvLogChatMessageHistory  # noqa: E402


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
