"""Exceptions raised by the convlog client: one class per JSON-RPC error code."""

from __future__ import annotations

from typing import Any


class ConvLogError(Exception):
    """A call failed. ``code`` is the JSON-RPC error code (None for a transport failure)."""

    code: int | None = None

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data

    @property
    def field(self) -> str | None:
        """The parameter at fault, when the daemon named one."""
        return self.data.get("field") if isinstance(self.data, dict) else None


class TransportError(ConvLogError):
    """The daemon could not be reached, or the connection failed mid-call."""


class ParseError(ConvLogError):
    code = -32700


class InvalidRequest(ConvLogError):
    code = -32600


class MethodNotFound(ConvLogError):
    code = -32601


class InvalidParams(ConvLogError):
    code = -32602


class InternalError(ConvLogError):
    code = -32603


class SessionNotFound(ConvLogError):
    code = -32001


class SessionExists(ConvLogError):
    code = -32002


class VersionConflict(ConvLogError):
    """The session is not at the expected version: ``expected`` and ``actual`` say where it is."""

    code = -32003

    @property
    def expected(self) -> int | None:
        return self.data.get("expected") if isinstance(self.data, dict) else None

    @property
    def actual(self) -> int | None:
        return self.data.get("actual") if isinstance(self.data, dict) else None


class PayloadTooLarge(ConvLogError):
    code = -32004


class ShuttingDown(ConvLogError):
    code = -32005


class StorageFull(ConvLogError):
    code = -32006


class ThreadDeleted(ConvLogError):
    """A checkpoint write for a thread deleted at or after that checkpoint (a late write)."""
    code = -32007


class MessageConflict(ConvLogError):
    """A message sent with a checkpoint has a stored message's id but other content, or refers to
    no stored message. ``ConvLogSaver`` handles it by sending the channel another way."""
    code = -32008


class SubscriberTooSlow(ConvLogError):
    """The daemon ended a subscription whose reader fell behind the log by more than it holds for
    one subscriber. Nothing from ``resume_from`` on was delivered: subscribe again from there."""
    code = -32009

    @property
    def resume_from(self) -> int | None:
        return self.data.get("resumeFrom") if isinstance(self.data, dict) else None


class StoreUnavailable(ConvLogError):
    """The daemon's shared store (PostgreSQL) cannot be reached. Nothing was written, unless the
    message says the outcome of the commit is unknown: a retry with the same ``message_id`` is
    safe either way. The daemon answers again once the database is back."""
    code = -32010


_BY_CODE: dict[int, type[ConvLogError]] = {
    cls.code: cls  # type: ignore[misc]
    for cls in (
        ParseError, InvalidRequest, MethodNotFound, InvalidParams, InternalError, SessionNotFound,
        SessionExists, VersionConflict, PayloadTooLarge, ShuttingDown, StorageFull, ThreadDeleted, MessageConflict, SubscriberTooSlow,
        StoreUnavailable,
    )
}


def error_from_response(error: dict[str, Any]) -> ConvLogError:
    """The exception for a JSON-RPC error object."""
    code = error.get("code")
    message = str(error.get("message", "unknown error"))
    cls = _BY_CODE.get(code, ConvLogError) if isinstance(code, int) else ConvLogError
    return cls(message, code=code if isinstance(code, int) else None, data=error.get("data"))
