"""LangChain chat history stored in convlog (``pip install convlog[langchain]``).

``clear()`` fits the append-only log: nothing is deleted. It records the last sequence of the
session in the session context (``langchain.clearedAfter``), and ``messages`` from then on shows
only later messages. The full conversation stays in the log for audits (``convlog replay``).
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict

from .client import Client
from .errors import SessionNotFound

#: The context key where ``clear()`` records the sequence the history restarts after.
CLEARED_AFTER_KEY = "langchain.clearedAfter"
#: The metadata key holding the rest of a LangChain message (``message_to_dict`` without its
#: content, which is the convlog message's content): tool calls, names, ids, response metadata.
MESSAGE_KEY = "langchain"

#: LangChain message types stored by convlog, and the convlog role of each.
ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
_TYPES = {"user": "human", "assistant": "ai", "system": "system", "tool": "tool"}

_shared_clients: dict[str | None, Client] = {}
_shared_lock = threading.Lock()


def shared_client(socket_path: str | None = None) -> Client:
    """One client per socket path for the whole process (a ``Client`` is thread-safe), so a
    ``get_session_history`` factory that builds a history per turn does not open a socket per turn."""
    with _shared_lock:
        client = _shared_clients.get(socket_path)
        if client is None:
            client = _shared_clients[socket_path] = Client(socket_path)
        return client


class ConvLogChatMessageHistory(BaseChatMessageHistory):
    """The messages of one convlog session, as LangChain messages.

    Messages are stored faithfully: the content as the convlog message's content (so follow-up
    analysis and ``getContext`` see it), everything else of the LangChain message (tool calls,
    ``tool_call_id``, ``name``, ``id``, ``additional_kwargs``, response metadata…) in its metadata
    under ``langchain``; reading gives back equal messages. ``messages`` returns the whole history
    since the last ``clear()``, paging through the log past the daemon's window; ``window`` limits it
    to the most recent messages instead. Without ``client``, histories share one client per socket.
    The session is created on the first message when it does not exist.
    """

    def __init__(self, session_id: str, client: Client | None = None, socket_path: str | None = None,
                 window: int | None = None) -> None:
        self.session_id = session_id
        self.client = client or shared_client(socket_path)
        self.window = window

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        try:
            cleared_after = self.client.get_session(self.session_id).context.get(CLEARED_AFTER_KEY, 0)
        except SessionNotFound:
            return []
        if self.window is not None:
            recent = self.client.get_context(self.session_id, window=self.window).messages
            return [to_langchain(m.role, m.content, m.message_id, m.metadata) for m in recent if m.sequence > cleared_after]
        stored: list[BaseMessage] = []
        start: int | None = cleared_after + 1
        while start is not None:
            page = self.client.read_events(from_sequence=start, session_id=self.session_id, limit=1000)
            for event in page.events:
                if event.type == "MessageAdded":
                    data = event.data
                    stored.append(to_langchain(data["role"], data["content"], data["messageId"], data.get("metadata", {})))
            start = page.next
        return stored

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        for message in messages:
            role = ROLES.get(message.type)
            if role is None:
                raise ValueError(f"convlog stores user, assistant, system and tool messages, not {message.type!r}")
            rest = message_to_dict(message)["data"]
            rest.pop("content", None)
            self.client.add(self.session_id, role, message.content, metadata={MESSAGE_KEY: rest}, message_id=message.id,
                            create_if_missing=True)

    def clear(self) -> None:
        """Starts the history afresh without deleting anything (see the module documentation)."""
        try:
            context = self.client.get_context(self.session_id, window=1)
        except SessionNotFound:
            return
        last = context.messages[-1].sequence if context.messages else 0
        self.client.update_context(self.session_id, {CLEARED_AFTER_KEY: last})


def to_langchain(role: str, content: Any, message_id: str, metadata: dict[str, Any]) -> BaseMessage:
    """A stored convlog message as the LangChain message it was stored from."""
    rest = dict(metadata.get(MESSAGE_KEY) or {})
    rest["content"] = content
    if rest.get("id") is None:
        rest["id"] = message_id
    if _TYPES[role] == "tool":
        # Messages stored before this format kept only the tool call id, under toolCallId.
        rest.setdefault("tool_call_id", str(metadata.get("toolCallId", "")))
    return messages_from_dict([{"type": _TYPES[role], "data": rest}])[0]
