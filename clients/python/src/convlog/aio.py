"""The asyncio client."""

from __future__ import annotations

import asyncio
from typing import Any

from . import _protocol
from .errors import TransportError
from .subscription import AsyncSubscription
from .types import (
    AddedMessage, Context, ContextUpdate, CreatedSession, EventPage, FollowUpAnalysis, Health, Session, SessionPage, Stats,
)


class AsyncClient:
    """The asyncio form of :class:`convlog.Client`: the same methods, awaited.

    Calls on one client are serialised on its connection (an asyncio lock), so it can be shared
    by tasks; create several clients to run calls in parallel. Retries as :class:`Client` does.
    """

    def __init__(self, socket_path: str | None = None, timeout: float = 30.0, retries: int = 1) -> None:
        self.socket_path = socket_path or _protocol.default_socket_path()
        self.timeout = timeout
        self.retries = retries
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._next_id = 1

    async def close(self) -> None:
        async with self._lock:
            await self._disconnect()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, method: str, **params: Any) -> Any:
        """Calls any method with named parameters (camelCase) and returns its raw result."""
        attempts = 1 + (self.retries if method in _protocol.RETRYABLE else 0)
        async with self._lock:
            for attempt in range(attempts):
                try:
                    return await asyncio.wait_for(self._round_trip(method, params), self.timeout)
                except (TransportError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
                    await self._disconnect()
                    if attempt + 1 == attempts:
                        if isinstance(error, TransportError):
                            raise
                        raise TransportError(f"{method}: {error!r}") from error
        raise AssertionError("unreachable")

    async def _round_trip(self, method: str, params: dict[str, Any]) -> Any:
        if self._writer is None:
            try:
                self._reader, self._writer = await asyncio.open_unix_connection(self.socket_path, limit=_protocol.MAX_LINE_BYTES)
            except OSError as error:
                raise TransportError(f"cannot connect to convlogd at {self.socket_path}: {error}") from error
        assert self._reader is not None and self._writer is not None
        request_id = self._next_id
        self._next_id += 1
        self._writer.write(_protocol.encode_request(request_id, method, params))
        await self._writer.drain()
        return _protocol.decode_response(await _protocol.read_line(self._reader), request_id)

    async def _disconnect(self) -> None:
        await _protocol.close_writer(self._writer)
        self._reader = self._writer = None

    async def create(self, session_id: str | None = None, user_id: str | None = None, metadata: dict | None = None,
                     context: dict | None = None, ttl_seconds: int | None = None) -> CreatedSession:
        """Starts a session; with ``ttl_seconds`` it is deleted that long after its last write."""
        return CreatedSession.from_json(await self.call("create", sessionId=session_id, userId=user_id, metadata=metadata, context=context,
                                                   ttlSeconds=ttl_seconds))

    async def add(self, session_id: str, role: str, content: Any, metadata: dict | None = None, message_id: str | None = None,
                  expected_version: int | None = None, create_if_missing: bool | None = None) -> AddedMessage:
        return AddedMessage.from_json(await self.call(
            "add", sessionId=session_id, role=role, content=content, metadata=metadata,
            messageId=message_id or _protocol.new_id(), expectedVersion=expected_version, createIfMissing=create_if_missing,
        ))

    async def get_context(self, session_id: str, window: int | None = None, max_tokens: int | None = None,
                          as_of: int | None = None) -> Context:
        return Context.from_json(await self.call("getContext", sessionId=session_id, window=window, maxTokens=max_tokens, asOf=as_of))

    async def analyze_follow_up(self, session_id: str, query: str, window: int | None = None,
                                rewrite: str | None = None) -> FollowUpAnalysis:
        return FollowUpAnalysis.from_json(await self.call("analyzeFollowUp", sessionId=session_id, query=query, window=window, rewrite=rewrite))

    async def update_context(self, session_id: str, changes: dict, expected_version: int | None = None) -> ContextUpdate:
        return ContextUpdate.from_json(await self.call("updateContext", sessionId=session_id, changes=changes, expectedVersion=expected_version))

    async def delete_session(self, session_id: str, reason: str | None = None) -> int:
        """Deletes a session (gone from every read, its messages erased from the log); returns its version after."""
        return int((await self.call("deleteSession", sessionId=session_id, reason=reason))["version"])

    async def get_session(self, session_id: str) -> Session:
        return Session.from_json(await self.call("getSession", sessionId=session_id))

    async def list_sessions(self, limit: int | None = None, after: str | None = None, user_id: str | None = None) -> SessionPage:
        return SessionPage.from_json(await self.call("listSessions", limit=limit, after=after, userId=user_id))

    async def read_events(self, from_sequence: int | None = None, limit: int | None = None,
                          session_id: str | None = None) -> EventPage:
        return EventPage.from_json(await self.call("readEvents", sessionId=session_id, limit=limit, **{"from": from_sequence}))

    def subscribe(self, from_sequence: int | None = None, session_id: str | None = None, types: list[str] | None = None,
                  follow: bool = True, timeout: float | None = None, resume: bool = False,
                  reconnect_for: float = 60.0) -> AsyncSubscription:
        """The live tail as an async iterator (``async with client.subscribe() as events: async
        for event in events``); see :class:`convlog.Subscription`."""
        return AsyncSubscription(self.socket_path, from_sequence, session_id, types, follow, timeout, connect_timeout=self.timeout,
                            resume=resume, reconnect_for=reconnect_for)

    async def health(self) -> Health:
        return Health.from_json(await self.call("health"))

    async def stats(self) -> Stats:
        return Stats.from_json(await self.call("stats"))
