"""JSON-RPC framing and method parameters shared by the sync and async clients."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from .errors import TransportError, error_from_response

MAX_LINE_BYTES = 64 << 20


def default_socket_path() -> str:
    """The daemon's default socket, resolved as convlogd does.

    ``$CONVLOG_SOCKET``; else ``<data dir>/convlogd.sock`` where the data dir is
    ``$CONVLOG_DATA_DIR``, else ``$XDG_DATA_HOME/convlog``, else ``~/.local/share/convlog``.
    """
    explicit = os.environ.get("CONVLOG_SOCKET")
    if explicit:
        return explicit
    data_dir = os.environ.get("CONVLOG_DATA_DIR")
    if not data_dir:
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        data_dir = str(Path(data_home) / "convlog")
    return str(Path(data_dir) / "convlogd.sock")


def encode_request(request_id: int, method: str, params: dict[str, Any]) -> bytes:
    """One request line."""
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {k: v for k, v in params.items() if v is not None}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode_response(line: bytes, request_id: int) -> Any:
    """The result of an answer line, or the matching exception."""
    try:
        response = json.loads(line)
    except ValueError as error:
        raise TransportError(f"unreadable answer from convlogd: {error}") from error
    if not isinstance(response, dict):
        raise TransportError(f"answer to request {request_id} is not a JSON-RPC response")
    if response.get("id") is None and "error" in response:
        # Refused as a line (longer than the daemon's --max-frame-bytes, or not JSON): the daemon
        # could not read an id, and this client has one request in flight per connection.
        raise error_from_response(response["error"])
    if response.get("id") != request_id:
        raise TransportError(f"answer does not match request {request_id}")
    if "error" in response:
        raise error_from_response(response["error"])
    return response.get("result")


def decode_subscribed(line: bytes, request_id: int) -> tuple[str, int]:
    """The subscription id and first sequence of the answer to a ``subscribe`` request."""
    result = decode_response(line, request_id)
    if not isinstance(result, dict) or not isinstance(result.get("subscription"), str) or not isinstance(result.get("fromSequence"), int):
        raise TransportError("subscribe answered without a subscription id and fromSequence")
    return result["subscription"], result["fromSequence"]


def decode_notification(line: bytes, subscription_id: str) -> tuple[str, Any] | None:
    """A notification of subscription ``subscription_id``: ``("event", event JSON)`` or
    ``("caughtUp", sequence)``; raises the daemon's error when it ended the subscription; None
    for any other line."""
    try:
        message = json.loads(line)
    except ValueError as error:
        raise TransportError(f"unreadable notification from convlogd: {error}") from error
    if not isinstance(message, dict) or "id" in message:
        return None
    params = message.get("params")
    if not isinstance(params, dict) or params.get("subscription") != subscription_id:
        return None
    method = message.get("method")
    if method == "event":
        return ("event", params["event"])
    if method == "caughtUp":
        return ("caughtUp", int(params["sequence"]))
    if method == "subscriptionEnded":
        raise error_from_response(params.get("error") or {})
    return None


class LineReader:
    """Reads newline-terminated lines from a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock
        self._buffer = b""

    def read_line(self) -> bytes:
        """The next line, without its newline."""
        while b"\n" not in self._buffer:
            chunk = self.socket.recv(1 << 16)
            if not chunk:
                raise TransportError("convlogd closed the connection")
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE_BYTES:
                raise TransportError(f"a line from convlogd exceeds {MAX_LINE_BYTES} bytes")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """The next line of an asyncio stream, without its newline."""
    line = await reader.readline()
    if not line.endswith(b"\n"):
        raise TransportError("convlogd closed the connection")
    return line[:-1]


async def close_writer(writer: asyncio.StreamWriter | None) -> None:
    """Closes an asyncio connection, ignoring that it may be broken already."""
    if writer is not None:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


def new_id() -> str:
    """A fresh message or session id."""
    return str(uuid.uuid4())


#: Methods whose calls may be sent again after a timeout or a lost connection. `add` is safe
#: because the client always sends a message id; the others only read.
RETRYABLE = {
    "add", "getContext", "analyzeFollowUp", "getSession", "listSessions", "readEvents", "health", "stats",
    # The checkpointer's methods are all idempotent (see schema/openrpc.json).
    "putCheckpoint", "putWrites", "getCheckpoint", "listCheckpoints", "deleteThread", "deleteForRuns", "copyThread", "prune",
}
