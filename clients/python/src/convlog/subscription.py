"""The live tail: the log's events from a sequence on, then as their commits become durable."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, Iterator

from . import _protocol
from .errors import ConvLogError, ShuttingDown, SubscriberTooSlow, TransportError
from .types import Event

_SUBSCRIBE_REQUEST_ID = 1


class _Resumption:
    """What a subscription remembers to subscribe again where it stopped, and when it may."""

    def __init__(self, from_sequence: int | None, session_id: str | None, types: list[str] | None,
                 resume: bool, reconnect_for: float) -> None:
        #: The next sequence to deliver (None until the daemon names it for a subscription "from now").
        self.next_sequence = from_sequence
        self.session_id = session_id
        self.types = list(types) if types is not None else None
        self.resume = resume
        self.reconnect_for = reconnect_for

    def params(self) -> dict[str, Any]:
        return {"fromSequence": self.next_sequence, "sessionId": self.session_id, "types": self.types}

    def resumable(self, error: BaseException) -> bool:
        """Whether `error` ends the subscription for good (False) or it may subscribe again."""
        if not self.resume or isinstance(error, TimeoutError):
            return False
        return isinstance(error, (SubscriberTooSlow, ShuttingDown, TransportError, ConnectionError))

    def delays(self) -> Iterator[float]:
        """The waits between attempts to subscribe again, for at most ``reconnect_for`` seconds."""
        deadline = time.monotonic() + self.reconnect_for
        delay = 0.05
        while time.monotonic() < deadline:
            yield min(delay, max(0.0, deadline - time.monotonic()))
            delay = min(delay * 2, 1.0)


class Subscription:
    """An iterator of :class:`Event`: the log's events from ``from_sequence`` on (default: only
    events committed from now on), then each new one as its commit becomes durable, in log
    order, each once. Made by :meth:`convlog.Client.subscribe`.

    It holds a connection of its own: close it, or use it as a context manager, to stop. With
    ``follow=False`` the iteration ends once the log as it stood has been delivered. When the
    reader falls too far behind, the daemon ends the subscription and iteration raises
    :class:`convlog.SubscriberTooSlow`, whose ``resume_from`` is where to subscribe again; with
    ``resume=True`` the subscription does that itself, and also reconnects (for up to
    ``reconnect_for`` seconds) when the daemon restarts, so the iteration goes on with the next
    event, none lost or repeated. Each wait for the next event is bounded by ``timeout`` seconds
    (None: no bound), after which ``TimeoutError`` is raised.
    """

    def __init__(self, socket_path: str, from_sequence: int | None = None, session_id: str | None = None,
                 types: list[str] | None = None, follow: bool = True, timeout: float | None = None,
                 connect_timeout: float = 30.0, resume: bool = False, reconnect_for: float = 60.0) -> None:
        self.follow = follow
        #: The last sequence of the log delivered when the subscription caught up (None before).
        self.caught_up_through: int | None = None
        #: The daemon's id of this subscription (a new one after each resumption).
        self.id = ""
        self._socket_path = socket_path
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._resumption = _Resumption(from_sequence, session_id, types, resume, reconnect_for)
        self._socket: socket.socket | None = None
        self._buffer = b""
        self._done = False
        self._open()

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> Event:
        while not self._done:
            try:
                notification = _protocol.decode_notification(self._read_line(), self.id)
            except BaseException as error:
                if not self._resumption.resumable(error):
                    self.close()
                    raise
                self._reopen(error)
                continue
            if notification is None:
                continue
            kind, value = notification
            if kind == "event":
                event = Event.from_json(value)
                self._resumption.next_sequence = event.sequence + 1
                return event
            self.caught_up_through = value
            if not self.follow:
                self.close()
        raise StopIteration

    def close(self) -> None:
        """Ends the subscription (closing its connection ends it on the daemon too)."""
        self._done = True
        self._disconnect()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._connect_timeout)
        self._socket, self._buffer = sock, b""
        try:
            sock.connect(self._socket_path)
            sock.sendall(_protocol.encode_request(_SUBSCRIBE_REQUEST_ID, "subscribe", self._resumption.params()))
            self.id, self._resumption.next_sequence = _protocol.decode_subscribed(self._read_line(), _SUBSCRIBE_REQUEST_ID)
        except OSError as error:
            self._disconnect()
            if isinstance(error, TimeoutError):
                raise
            raise TransportError(f"cannot subscribe at {self._socket_path}: {error}") from error
        except BaseException:
            self._disconnect()
            raise
        sock.settimeout(self._timeout)

    def _reopen(self, cause: BaseException) -> None:
        """Subscribes again from the next sequence, retrying while the daemon is away."""
        self._disconnect()
        last: BaseException = cause
        for delay in self._resumption.delays():
            try:
                self._open()
                return
            except BaseException as error:
                if not self._resumption.resumable(error):
                    self.close()
                    raise
                last = error
                time.sleep(delay)
        self.close()
        raise last

    def _disconnect(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = None

    def _read_line(self) -> bytes:
        if self._socket is None:
            raise TransportError("the subscription is closed")
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
                 connect_timeout: float = 30.0, resume: bool = False, reconnect_for: float = 60.0) -> None:
        self.follow = follow
        self.caught_up_through: int | None = None
        self.id = ""
        self._socket_path = socket_path
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._resumption = _Resumption(from_sequence, session_id, types, resume, reconnect_for)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._started = False
        self._done = False

    async def start(self) -> "AsyncSubscription":
        """Subscribes (done once; iteration calls it when needed)."""
        if not self._started:
            self._started = True
            await self._open()
        return self

    def __aiter__(self) -> "AsyncSubscription":
        return self

    async def __anext__(self) -> Event:
        await self.start()
        while not self._done:
            try:
                assert self._reader is not None
                line = await asyncio.wait_for(self._reader.readline(), self._timeout)
                if not line.endswith(b"\n"):
                    raise TransportError("convlogd closed the connection")
                notification = _protocol.decode_notification(line[:-1], self.id)
            except BaseException as error:
                if not self._resumption.resumable(error):
                    await self.aclose()
                    raise
                await self._reopen(error)
                continue
            if notification is None:
                continue
            kind, value = notification
            if kind == "event":
                event = Event.from_json(value)
                self._resumption.next_sequence = event.sequence + 1
                return event
            self.caught_up_through = value
            if not self.follow:
                await self.aclose()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Ends the subscription."""
        self._done = True
        await self._disconnect()

    async def __aenter__(self) -> "AsyncSubscription":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self._socket_path, limit=_protocol.MAX_LINE_BYTES), self._connect_timeout)
            self._writer.write(_protocol.encode_request(_SUBSCRIBE_REQUEST_ID, "subscribe", self._resumption.params()))
            await self._writer.drain()
            line = await asyncio.wait_for(self._reader.readline(), self._connect_timeout)
            self.id, self._resumption.next_sequence = _protocol.decode_subscribed(line.rstrip(b"\n"), _SUBSCRIBE_REQUEST_ID)
        except OSError as error:
            await self._disconnect()
            if isinstance(error, TimeoutError):
                raise
            raise TransportError(f"cannot subscribe at {self._socket_path}: {error}") from error
        except BaseException:
            await self._disconnect()
            raise

    async def _reopen(self, cause: BaseException) -> None:
        await self._disconnect()
        last: BaseException = cause
        for delay in self._resumption.delays():
            try:
                await self._open()
                return
            except BaseException as error:
                if not self._resumption.resumable(error):
                    await self.aclose()
                    raise
                last = error
                await asyncio.sleep(delay)
        await self.aclose()
        raise last

    async def _disconnect(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        self._reader = self._writer = None
