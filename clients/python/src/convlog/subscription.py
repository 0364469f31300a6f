"""The live tail: the log's events from a sequence on, then as their commits become durable."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, Iterator

from . import _protocol
from .errors import ShuttingDown, SubscriberTooSlow, TransportError
from .types import Event

_SUBSCRIBE_REQUEST_ID = 1


class _Progress:
    """Where a subscription stands, to subscribe again where it stopped, and when it may."""

    def __init__(self, from_sequence: int | None, session_id: str | None, types: list[str] | None,
                 follow: bool, resume: bool, reconnect_for: float) -> None:
        #: The next sequence to deliver (None until the daemon names it for a subscription "from now").
        self.next_sequence = from_sequence
        self.caught_up_through: int | None = None
        self.session_id = session_id
        self.types = list(types) if types is not None else None
        self.follow = follow
        self.resume = resume
        self.reconnect_for = reconnect_for

    def params(self) -> dict[str, Any]:
        return {"fromSequence": self.next_sequence, "sessionId": self.session_id, "types": self.types}

    def take(self, notification: tuple[str, Any]) -> tuple[Event | None, bool]:
        """The event a notification delivers (or None), and whether the subscription is over
        (it caught up, and does not follow)."""
        kind, value = notification
        if kind == "event":
            event = Event.from_json(value)
            self.next_sequence = event.sequence + 1
            return event, False
        self.caught_up_through = value
        return None, not self.follow

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


class _Subscribing:
    """What the blocking and the asyncio subscription share: where they connect, and their progress."""

    def __init__(self, socket_path: str, from_sequence: int | None, session_id: str | None, types: list[str] | None,
                 follow: bool, timeout: float | None, connect_timeout: float, resume: bool, reconnect_for: float) -> None:
        #: The daemon's id of this subscription (a new one after each resumption).
        self.id = ""
        self._socket_path = socket_path
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._progress = _Progress(from_sequence, session_id, types, follow, resume, reconnect_for)
        self._done = False

    @property
    def caught_up_through(self) -> int | None:
        """The last sequence of the log delivered when the subscription caught up (None before)."""
        return self._progress.caught_up_through


class Subscription(_Subscribing):
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
        super().__init__(socket_path, from_sequence, session_id, types, follow, timeout, connect_timeout, resume, reconnect_for)
        self._lines: _protocol.LineReader | None = None
        self._open()

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> Event:
        while not self._done:
            try:
                if self._lines is None:
                    raise TransportError("the subscription is closed")
                notification = _protocol.decode_notification(self._lines.read_line(), self.id)
            except BaseException as error:
                if not self._progress.resumable(error):
                    self.close()
                    raise
                self._reopen(error)
                continue
            event, over = self._progress.take(notification) if notification else (None, False)
            if event:
                return event
            if over:
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
        self._lines = _protocol.LineReader(sock)
        try:
            sock.connect(self._socket_path)
            sock.sendall(_protocol.encode_request(_SUBSCRIBE_REQUEST_ID, "subscribe", self._progress.params()))
            self.id, self._progress.next_sequence = _protocol.decode_subscribed(self._lines.read_line(), _SUBSCRIBE_REQUEST_ID)
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
        for delay in self._progress.delays():
            try:
                self._open()
                return
            except BaseException as error:
                if not self._progress.resumable(error):
                    self.close()
                    raise
                last = error
                time.sleep(delay)
        self.close()
        raise last

    def _disconnect(self) -> None:
        if self._lines is not None:
            self._lines.socket.close()
        self._lines = None


class AsyncSubscription(_Subscribing):
    """The asyncio form of :class:`Subscription`: an async iterator of :class:`Event`, made by
    :meth:`convlog.AsyncClient.subscribe`; it subscribes on entering ``async with`` (or on the
    first ``async for`` step)."""

    def __init__(self, socket_path: str, from_sequence: int | None = None, session_id: str | None = None,
                 types: list[str] | None = None, follow: bool = True, timeout: float | None = None,
                 connect_timeout: float = 30.0, resume: bool = False, reconnect_for: float = 60.0) -> None:
        super().__init__(socket_path, from_sequence, session_id, types, follow, timeout, connect_timeout, resume, reconnect_for)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._started = False

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
                if self._reader is None:
                    raise TransportError("the subscription is closed")
                line = await asyncio.wait_for(_protocol.read_line(self._reader), self._timeout)
                notification = _protocol.decode_notification(line, self.id)
            except BaseException as error:
                if not self._progress.resumable(error):
                    await self.aclose()
                    raise
                await self._reopen(error)
                continue
            event, over = self._progress.take(notification) if notification else (None, False)
            if event:
                return event
            if over:
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
            self._writer.write(_protocol.encode_request(_SUBSCRIBE_REQUEST_ID, "subscribe", self._progress.params()))
            await self._writer.drain()
            line = await asyncio.wait_for(_protocol.read_line(self._reader), self._connect_timeout)
            self.id, self._progress.next_sequence = _protocol.decode_subscribed(line, _SUBSCRIBE_REQUEST_ID)
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
        for delay in self._progress.delays():
            try:
                await self._open()
                return
            except BaseException as error:
                if not self._progress.resumable(error):
                    await self.aclose()
                    raise
                last = error
                await asyncio.sleep(delay)
        await self.aclose()
        raise last

    async def _disconnect(self) -> None:
        await _protocol.close_writer(self._writer)
        self._reader = self._writer = None
