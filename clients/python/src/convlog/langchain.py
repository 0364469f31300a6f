"""LangChain chat history stored in convlog (``pip install convlog[langchain]``).

``clear()`` fits the append-only log: nothing is deleted. It records the last sequence of the
session in the session context (``langchain.clearedAfter``), and ``messages`` from then on shows
only later messages. The full conversation stays in the log for audits (``convlog replay``).
"""

from __future__ import annotations

from typing import Any, Sequence

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from .client import Client
from .errors import SessionNotFound

#: The context key where ``clear()`` records the sequence the history restarts after.
CLEARED_AFTER_KEY = "langchain.clearedAfter"

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class ConvLogChatMessageHistory(BaseChatMessageHistory):
    """The messages of one convlog session, as LangChain messages.

    ``window`` bounds how many recent messages ``messages`` returns (the daemon's ``--window``
    caps it too). The session is created on the first message when it does not exist.
    """

    def __init__(self, session_id: str, client: Client | None = None, socket_path: str | None = None, window: int = 50) -> None:
        self.session_id = session_id
        self.client = client or Client(socket_path)
        self.window = window

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        try:
            context = self.client.get_context(self.session_id, window=self.window)
        except SessionNotFound:
            return []
        cleared_after = context.context.get(CLEARED_AFTER_KEY, 0)
        return [_to_langchain(m.role, m.content, m.message_id, m.metadata) for m in context.messages if m.sequence > cleared_after]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        for message in messages:
            role = _ROLES.get(message.type)
            if role is None:
                raise ValueError(f"convlog stores user, assistant, system and tool messages, not {message.type!r}")
            metadata: dict[str, Any] = {}
            if isinstance(message, ToolMessage):
                metadata["toolCallId"] = message.tool_call_id
            if message.name:
                metadata["name"] = message.name
            self.client.add(self.session_id, role, message.content, metadata=metadata or None, message_id=message.id,
                            create_if_missing=True)

    def clear(self) -> None:
        """Starts the history afresh without deleting anything (see the module documentation)."""
        try:
            context = self.client.get_context(self.session_id, window=1)
        except SessionNotFound:
            return
        last = context.messages[-1].sequence if context.messages else 0
        self.client.update_context(self.session_id, {CLEARED_AFTER_KEY: last})


def _to_langchain(role: str, content: Any, message_id: str, metadata: dict[str, Any]) -> BaseMessage:
    text = content if isinstance(content, (str, list)) else str(content)
    if role == "user":
        return HumanMessage(content=text, id=message_id)
    if role == "assistant":
        return AIMessage(content=text, id=message_id)
    if role == "system":
        return SystemMessage(content=text, id=message_id)
    return ToolMessage(content=text, id=message_id, tool_call_id=str(metadata.get("toolCallId", "")))
