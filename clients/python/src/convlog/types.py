"""Typed results of the convlog methods (snake_case fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CreatedSession:
    session_id: str
    created_at: str
    version: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "CreatedSession":
        return cls(d["sessionId"], d["createdAt"], d["version"])


@dataclass(frozen=True)
class AddedMessage:
    session_id: str
    message_id: str
    version: int
    """The session's version after the call."""
    sequence: int
    timestamp: str
    duplicate: bool
    """True when the message id was already stored: this is the original message."""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "AddedMessage":
        return cls(d["sessionId"], d["messageId"], d["version"], d["sequence"], d["timestamp"], d["duplicate"])


@dataclass(frozen=True)
class Message:
    message_id: str
    role: str
    content: Any
    metadata: dict[str, Any]
    sequence: int
    version: int
    timestamp: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Message":
        return cls(d["messageId"], d["role"], d["content"], d.get("metadata", {}), d["sequence"], d["version"], d["timestamp"])


@dataclass(frozen=True)
class Context:
    session_id: str
    messages: list[Message]
    context: dict[str, Any]
    version: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Context":
        return cls(d["sessionId"], [Message.from_json(m) for m in d["messages"]], d["context"], d["version"])


@dataclass(frozen=True)
class Topic:
    entity: str | None = None
    metric: str | None = None
    filters: list[str] = field(default_factory=list)
    time_range: str | None = None
    source_message_id: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> "Topic | None":
        if not d:
            return None
        return cls(d.get("entity"), d.get("metric"), list(d.get("filters", [])), d.get("timeRange"), d.get("sourceMessageId"))


@dataclass(frozen=True)
class FollowUpAnalysis:
    is_follow_up: bool
    confidence: float
    reasons: list[str]
    previous_topic: Topic | None
    standalone_query: str
    method: str
    context_messages: list[Message]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "FollowUpAnalysis":
        return cls(
            d["isFollowUp"], d["confidence"], list(d["reasons"]), Topic.from_json(d.get("previousTopic")),
            d["standaloneQuery"], d["method"], [Message.from_json(m) for m in d["contextMessages"]],
        )


@dataclass(frozen=True)
class ContextUpdate:
    version: int
    context: dict[str, Any]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ContextUpdate":
        return cls(d["version"], d["context"])


@dataclass(frozen=True)
class Session:
    session_id: str
    created_at: str
    last_updated: str
    user_id: str | None
    metadata: dict[str, Any]
    message_count: int
    version: int
    context: dict[str, Any]
    last_topic: Any = None
    #: When the session expires (ISO 8601), or None when it never does.
    expires_at: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Session":
        return cls(
            d["sessionId"], d["createdAt"], d["lastUpdated"], d.get("userId"), d.get("metadata", {}),
            d["messageCount"], d["version"], d.get("context", {}), d.get("lastTopic"), d.get("expiresAt"),
        )


@dataclass(frozen=True)
class SessionPage:
    sessions: list[Session]
    next: str | None
    """Pass as ``after`` to get the next page; None on the last page."""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "SessionPage":
        return cls([Session.from_json(s) for s in d["sessions"]], d.get("next"))


@dataclass(frozen=True)
class Event:
    sequence: int
    session_id: str
    session_version: int
    type: str
    timestamp: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Event":
        return cls(d["sequence"], d["sessionId"], d["sessionVersion"], d["type"], d["timestamp"], d["data"], d["prevHash"], d["hash"])


@dataclass(frozen=True)
class EventPage:
    events: list[Event]
    next: int | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "EventPage":
        return cls([Event.from_json(e) for e in d["events"]], d.get("next"))


@dataclass(frozen=True)
class Health:
    status: str
    version: str
    uptime_seconds: float

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Health":
        return cls(d["status"], d["version"], d["uptimeSeconds"])


@dataclass(frozen=True)
class Stats:
    events: int
    #: Live sessions.
    sessions: int
    head_sequence: int
    head_hash: str
    map_size: int
    window_capacity: int
    #: Sessions deleted (and not started again).
    deleted_sessions: int = 0
    #: Bytes of free pages in the data file (removed by ``convlog compact``).
    reclaimable_bytes: int = 0
    #: Deleted sessions whose records are not all erased yet.
    pending_erasures: int = 0
    #: Live-tail subscriptions open now.
    subscriptions: int = 0

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Stats":
        return cls(d["events"], d["sessions"], d["headSequence"], d["headHash"], d["mapSize"], d["windowCapacity"],
                   d.get("deletedSessions", 0), d.get("reclaimableBytes", 0), d.get("pendingErasures", 0), d.get("subscriptions", 0))
