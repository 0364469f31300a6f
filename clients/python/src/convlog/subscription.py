"""The live tail: the log's events from a sequence on, then as their commits become durable."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from . import _protocol
from .errors import TransportError
from .types import Event

_SUBSCRIBE_REQUEST_ID = 1


def _subscribe_params(from_sequence: int | None, session_id: str | None, types: list[str] | None) -> dict[str, Any]:
    return {"fromSequence": from_sequence, "sessionId": session_id, "types": list(types) if types is not None else None}


class Subscription:
    """An iterator of :class:`Event`: the log's events from ``from_sequence`` on (default: only
    events committed from now on), then each new one as its commit becomes durable, in log
    order, each once. Made by :meth:`convlog.Client.subscribe`.

    It holds a connection of its own: close it, or use it as a context manager, to stop. With
    ``follow=False`` the iteration ends once the log as it stood has been delivered. When the
    reader falls too far behind, the daemon ends the subscription and iteration raises
    :class:`convlog.SubscriberTooSlow`, whose ``resume_from`` is where to subscribe again. Each
    wait for the next event is bounded by ``timeout`` seconds (None: no bound; the default when
    following), after which ``TimeoutError`` is raised.
    """

    def __init__(self, socket_path: str, from_sequence: int | None = None, session_id: str | None = None,
                 types: list[str] | None = None, follow: bool = True, timeout: float | None = None,
                 connect_timeout: float = 30.0) -> None:
        self.follow = follow
        #: The last sequence of the log delivered when the subscription caught up (None before).
        self.caught_up_through: int | None = None
        self._done = False
        self._buffer = b""
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(connect_timeout)
        try:
            self._socket.connect(socket_path)
            self._socket.sendall(_protocol.encode_request(
                _SUBSCRIBE_REQUEST_ID, "subscribe", _subscribe_params(from_sequence, session_id, types)))
            #: The daemon's id of this subscription.
            self.id = _protocol.decode_subscribed(self._read_line(), _SUBSCRIBE_REQUEST_ID)
        except OSError as error:
            self._socket.close()
            raise TransportError(f"cannot subscribe at {socket_path}: {error}") from error
        except BaseException:
            self._socket.close()
            raise
        self._socket.settimeout(timeout)

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> Event:
        while not self._done:
            try:
                notification = _protocol.decode_notification(self._read_line(), self.id)
            except BaseException:
                self.close()
                raise
            if notification is None:
                continue
            kind, value = notification
            if kind == "event":
                return Event.from_json(value)
            self.caught_up_through = value
            if not self.follow:
                self.close()
        raise StopIteration

    def close(self) -> None:
        """Ends the subscription (closing its connection ends it on the daemon too)."""
        self._done = True
        self._socket.close()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = self._socket.recv(1 << 16)
            if not chunk:
                raise TransportError("convlogd closed the connection")
            self._buffer += chunk
            if len(self._buffer) > _protocol.MAX_LINE_BYTES:
                raise TransportError("notification too long")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


class AsyncSubscription:
    """The asyncio form of :class:`Subscription`: an async iterator of :class:`Event`, made by
    :meth:`convlog.AsyncClient.subscribe`; it subscribes on entering ``async with`` (or on the
    first ``async for`` step)."""

    def __init__(self, socket_path: str, from_sequence: int | None = None, session_id: str | None = None,
                 types: list[str] | None = None, follow: bool = True, timeout: float | None = None,
                 connect_timeout: float = 30.0) -> None:
        self.follow = follow
        self.caught_up_through: int | None = None
        self.id: str | None = None
        self._socket_path = socket_path
        self._params = _subscribe_params(from_sequence, session_id, types)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._done = False

    async def start(self) -> "AsyncSubscription":
        """Subscribes (done once; iteration calls it when needed)."""
        if self._writer is not None:
            return self
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self._socket_path, limit=_protocol.MAX_LINE_BYTES), self._connect_timeout)
            self._writer.write(_protocol.encode_request(_SUBSCRIBE_REQUEST_ID, "subscribe", self._params))
            await self._writer.drain()
            line = await asyncio.wait_for(self._reader.readline(), self._connect_timeout)
            self.id = _protocol.decode_subscribed(line.rstrip(b"\n"), _SUBSCRIBE_REQUEST_ID)
        except OSError as error:
            await self.aclose()
            raise TransportError(f"cannot subscribe at {self._socket_path}: {error}") from error
        except BaseException:
            await self.aclose()
            raise
        return self

    def __aiter__(self) -> "AsyncSubscription":
        return self

    async def __anext__(self) -> Event:
        await self.start()
        assert self._reader is not None and self.id is not None
        while not self._done:
            try:
                line = await asyncio.wait_for(self._reader.readline(), self._timeout)
                if not line.endswith(b"\n"):
                    raise TransportError("convlogd closed the connection")
                notification = _protocol.decode_notification(line[:-1], self.id)
            except BaseException:
                await self.aclose()
                raise
            if notification is None:
                continue
            kind, value = notification
            if kind == "event":
                return Event.from_json(value)
            self.caught_up_through = value
            if not self.follow:
                await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Ends the subscription."""
        self._done = True
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass

    async def __aenter__(self) -> "AsyncSubscription":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
