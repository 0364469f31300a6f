"""The blocking client."""

from __future__ import annotations

import socket
import threading
from typing import Any

from . import _protocol
from .errors import TransportError
from .subscription import Subscription
from .types import (
    AddedMessage, Context, ContextUpdate, CreatedSession, EventPage, FollowUpAnalysis, Health, Session, SessionPage, Stats,
)


class Client:
    """A client of convlogd over its Unix socket.

    One connection, reused across calls and reopened when it breaks. Thread-safe: calls from
    several threads are serialised on the connection (create one client per thread to run them in
    parallel). ``timeout`` bounds each call, in seconds. A call to a retryable method (``add`` and
    the reads) that times out or loses its connection is sent again ``retries`` times; ``add``
    always carries a message id, so the retry is answered with the first result and never stores
    the message twice.
    """

    def __init__(self, socket_path: str | None = None, timeout: float = 30.0, retries: int = 1) -> None:
        self.socket_path = socket_path or _protocol.default_socket_path()
        self.timeout = timeout
        self.retries = retries
        self._lock = threading.Lock()
        self._lines: _protocol.LineReader | None = None
        self._next_id = 1

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, **params: Any) -> Any:
        """Calls any method with named parameters (camelCase) and returns its raw result."""
        attempts = 1 + (self.retries if method in _protocol.RETRYABLE else 0)
        with self._lock:
            for attempt in range(attempts):
                try:
                    return self._round_trip(method, params)
                except (TransportError, OSError) as error:
                    self._disconnect()
                    if attempt + 1 == attempts:
                        if isinstance(error, TransportError):
                            raise
                        raise TransportError(f"{method}: {error}") from error
        raise AssertionError("unreachable")

    def _round_trip(self, method: str, params: dict[str, Any]) -> Any:
        if self._lines is None:
            self._connect()
        assert self._lines is not None
        request_id = self._next_id
        self._next_id += 1
        self._lines.socket.sendall(_protocol.encode_request(request_id, method, params))
        return _protocol.decode_response(self._lines.read_line(), request_id)

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as error:
            sock.close()
            raise TransportError(f"cannot connect to convlogd at {self.socket_path}: {error}") from error
        self._lines = _protocol.LineReader(sock)

    def _disconnect(self) -> None:
        if self._lines is not None:
            self._lines.socket.close()
        self._lines = None

    # -- methods --------------------------------------------------------------------------

    def create(self, session_id: str | None = None, user_id: str | None = None, metadata: dict | None = None,
               context: dict | None = None, ttl_seconds: int | None = None) -> CreatedSession:
        """Starts a session; with ``ttl_seconds`` it is deleted that long after its last write."""
        return CreatedSession.from_json(self.call("create", sessionId=session_id, userId=user_id, metadata=metadata, context=context,
                                                   ttlSeconds=ttl_seconds))

    def add(self, session_id: str, role: str, content: Any, metadata: dict | None = None, message_id: str | None = None,
            expected_version: int | None = None, create_if_missing: bool | None = None) -> AddedMessage:
        return AddedMessage.from_json(self.call(
            "add", sessionId=session_id, role=role, content=content, metadata=metadata,
            messageId=message_id or _protocol.new_id(), expectedVersion=expected_version, createIfMissing=create_if_missing,
        ))

    def get_context(self, session_id: str, window: int | None = None, max_tokens: int | None = None,
                    as_of: int | None = None) -> Context:
        return Context.from_json(self.call("getContext", sessionId=session_id, window=window, maxTokens=max_tokens, asOf=as_of))

    def analyze_follow_up(self, session_id: str, query: str, window: int | None = None, rewrite: str | None = None) -> FollowUpAnalysis:
        return FollowUpAnalysis.from_json(self.call("analyzeFollowUp", sessionId=session_id, query=query, window=window, rewrite=rewrite))

    def update_context(self, session_id: str, changes: dict, expected_version: int | None = None) -> ContextUpdate:
        return ContextUpdate.from_json(self.call("updateContext", sessionId=session_id, changes=changes, expectedVersion=expected_version))

    def delete_session(self, session_id: str, reason: str | None = None) -> int:
        """Deletes a session (gone from every read, its messages erased from the log); returns its version after."""
        return int((self.call("deleteSession", sessionId=session_id, reason=reason))["version"])

    def get_session(self, session_id: str) -> Session:
        return Session.from_json(self.call("getSession", sessionId=session_id))

    def list_sessions(self, limit: int | None = None, after: str | None = None, user_id: str | None = None) -> SessionPage:
        return SessionPage.from_json(self.call("listSessions", limit=limit, after=after, userId=user_id))

    def read_events(self, from_sequence: int | None = None, limit: int | None = None, session_id: str | None = None) -> EventPage:
        return EventPage.from_json(self.call("readEvents", sessionId=session_id, limit=limit, **{"from": from_sequence}))

    def subscribe(self, from_sequence: int | None = None, session_id: str | None = None, types: list[str] | None = None,
                  follow: bool = True, timeout: float | None = None, resume: bool = False,
                  reconnect_for: float = 60.0) -> Subscription:
        """The live tail: an iterator of the log's events from ``from_sequence`` on (default: from
        now), of one session and of some types if given, then each new one as it commits; see
        :class:`convlog.Subscription`. It uses a connection of its own. With ``resume=True`` it
        subscribes again by itself after falling behind or a daemon restart, losing nothing."""
        return Subscription(self.socket_path, from_sequence, session_id, types, follow, timeout, connect_timeout=self.timeout,
                            resume=resume, reconnect_for=reconnect_for)

    def health(self) -> Health:
        return Health.from_json(self.call("health"))

    def stats(self) -> Stats:
        return Stats.from_json(self.call("stats"))
