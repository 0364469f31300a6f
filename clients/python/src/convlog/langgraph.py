"""LangGraph checkpointer stored in convlog (``pip install convlog[langgraph]``).

>>> from convlog.langgraph import ConvLogSaver
>>> graph = builder.compile(checkpointer=ConvLogSaver())          # doctest: +SKIP

Checkpoints, channel values and pending writes live in convlogd's append-only, hash-chained log,
acknowledged once fsync'd. Values are serialized by the saver's ``serde`` (LangGraph's
``JsonPlusSerializer`` by default); the daemon never decodes them, with one exception that makes
long chats cheap: the root graph's ``messages`` channel, when it holds LangChain messages with ids,
is sent as messages. The daemon stores each message once, in the convlog session named by the
thread id, and the checkpoint keeps references, so a chat of N messages costs O(N) bytes instead
of O(N²). That session is the thread's conversation for the rest of convlog: ``getContext``,
``analyzeFollowUp``, ``convlog replay`` work on the thread id.

``delete_thread`` fences the thread: a late write from a still-running worker for a checkpoint at
or below the deleted ones raises :class:`convlog.ThreadDeleted` instead of resurrecting it; a new
conversation on the same thread id (newer checkpoint ids) is accepted.

Thread ids must be session ids: 1–128 characters of ``A-Z a-z 0-9 . _ : -``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP, BaseCheckpointSaver, ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple,
    get_checkpoint_id, get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from ._protocol import default_socket_path
from .aio import AsyncClient
from .client import Client
from .errors import MessageConflict
from .langchain import MESSAGE_KEY, ROLES, to_langchain

#: The channel whose LangChain messages are stored once each (root namespace only).
MESSAGES_CHANNEL = "messages"
#: Threads whose stored message versions the saver remembers (least recently used are forgotten).
_REMEMBERED_THREADS = 1024
#: Idle connections kept per saver (and per event loop).
_IDLE_CONNECTIONS = 8
#: Checkpoints fetched per ``listCheckpoints`` call while listing.
_PAGE = 500


class ConvLogSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer backed by convlogd: durable, shared by processes, thread-safe.

    Implements the sync and the async ``BaseCheckpointSaver`` APIs, including ``delete_for_runs``,
    ``copy_thread`` and ``prune``. ``socket_path`` defaults to the socket ``Client()`` finds.
    """

    def __init__(self, socket_path: str | None = None, *, serde: SerializerProtocol | None = None, timeout: float = 30.0,
                 store_messages_once: bool = True) -> None:
        super().__init__(serde=serde)
        self.socket_path = socket_path or default_socket_path()
        self.timeout = timeout
        self.store_messages_once = store_messages_once
        self._lock = threading.Lock()
        # Idle connections: LangGraph writes a step's checkpoint and its tasks' writes concurrently,
        # and the daemon commits concurrent writes together (one fsync).
        self._idle: list[Client] = []
        self._async_idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[AsyncClient]] = weakref.WeakKeyDictionary()
        # thread id -> the message objects the saver stored or read for it
        self._stored: OrderedDict[str, _ThreadMessages] = OrderedDict()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()

    # -- versions ------------------------------------------------------------------------------

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Monotonic string versions, as LangGraph's own savers make them."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(str(current).split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    # -- sync API ------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        hinted = self._call("getCheckpoint", **self._with_hints(_where(config)))
        try:
            return self._tuple(hinted)
        except _Forgotten:
            return self._tuple(self._call("getCheckpoint", **_where(config)))

    def list(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None, before: RunnableConfig | None = None,
             limit: int | None = None) -> Iterator[CheckpointTuple]:
        query = _ListQuery(config, filter, before, limit)
        while (params := query.next_page()) is not None:
            yield from query.take(self._call("listCheckpoints", **params)["checkpoints"], self._tuple)

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        for attempt in self._put_attempts(config, checkpoint, metadata, new_versions):
            try:
                result = self._call("putCheckpoint", **attempt.params)
            except MessageConflict:
                continue
            return attempt.stored(result)
        raise AssertionError("the last attempt sends every value as bytes")

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        self._call("putWrites", **self._writes_params(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._forget(thread_id)
        self._call("deleteThread", threadId=thread_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            self._call("deleteForRuns", runIds=list(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._call("copyThread", sourceThreadId=source_thread_id, targetThreadId=target_thread_id)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if thread_ids:
            self._call("prune", threadIds=list(thread_ids), strategy=strategy)

    # -- async API -----------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        hinted = await self._acall("getCheckpoint", **self._with_hints(_where(config)))
        try:
            return self._tuple(hinted)
        except _Forgotten:
            return self._tuple(await self._acall("getCheckpoint", **_where(config)))

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
                    before: RunnableConfig | None = None, limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        query = _ListQuery(config, filter, before, limit)
        while (params := query.next_page()) is not None:
            for item in query.take((await self._acall("listCheckpoints", **params))["checkpoints"], self._tuple):
                yield item

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: ChannelVersions) -> RunnableConfig:
        for attempt in self._put_attempts(config, checkpoint, metadata, new_versions):
            try:
                result = await self._acall("putCheckpoint", **attempt.params)
            except MessageConflict:
                continue
            return attempt.stored(result)
        raise AssertionError("the last attempt sends every value as bytes")

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        await self._acall("putWrites", **self._writes_params(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        self._forget(thread_id)
        await self._acall("deleteThread", threadId=thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            await self._acall("deleteForRuns", runIds=list(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._acall("copyThread", sourceThreadId=source_thread_id, targetThreadId=target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if thread_ids:
            await self._acall("prune", threadIds=list(thread_ids), strategy=strategy)

    def _call(self, method: str, **params: Any) -> Any:
        """Calls on an idle connection (a new one when all are busy), so concurrent calls run concurrently."""
        with self._lock:
            client = self._idle.pop() if self._idle else None
        client = client or Client(self.socket_path, timeout=self.timeout)
        try:
            result = client.call(method, **params)
        except BaseException:
            client.close()
            raise
        with self._lock:
            if len(self._idle) < _IDLE_CONNECTIONS:
                self._idle.append(client)
                return result
        client.close()
        return result

    async def _acall(self, method: str, **params: Any) -> Any:
        """``_call`` for asyncio: connections belong to their event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            idle = self._async_idle.setdefault(loop, [])
            client = idle.pop() if idle else None
        client = client or AsyncClient(self.socket_path, timeout=self.timeout)
        try:
            result = await client.call(method, **params)
        except BaseException:
            await client.close()
            raise
        with self._lock:
            if len(idle) < _IDLE_CONNECTIONS:
                idle.append(client)
                return result
        await client.close()
        return result

    # -- requests and results --------------------------------------------------------------------

    def _put_attempts(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                      new_versions: ChannelVersions) -> Iterator[_PutAttempt]:
        """The ways to send a checkpoint, tried in order after a ``MessageConflict``: messages as
        references to what the thread holds, then every message in full (the remembered versions
        were stale), then the channel as opaque bytes (a message was edited under its id)."""
        yield _PutAttempt(self, config, checkpoint, metadata, new_versions, messages="references")
        thread_id = config["configurable"]["thread_id"]
        self._forget(thread_id)
        yield _PutAttempt(self, config, checkpoint, metadata, new_versions, messages="full")
        yield _PutAttempt(self, config, checkpoint, metadata, new_versions, messages="bytes")

    def _writes_params(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                       task_path: str) -> dict[str, Any]:
        configurable = config["configurable"]
        return {
            "threadId": configurable["thread_id"],
            "checkpointNs": configurable.get("checkpoint_ns", ""),
            "checkpointId": configurable["checkpoint_id"],
            "taskId": task_id,
            "taskPath": task_path,
            "writes": [
                {"idx": WRITES_IDX_MAP.get(channel, index), "channel": channel, **_typed(self.serde.dumps_typed(value))}
                for index, (channel, value) in enumerate(writes)
            ],
        }

    def _tuple(self, stored: dict[str, Any] | None) -> CheckpointTuple | None:
        if stored is None:
            return None
        thread_id, namespace = stored["threadId"], stored["checkpointNs"]
        checkpoint = self.serde.loads_typed(_untyped(stored["checkpoint"]))
        values: dict[str, Any] = {}
        for value in stored["values"]:
            if "messages" in value:
                values[value["channel"]] = [self._message(thread_id, entry) for entry in value["messages"]]
            elif value["type"] != "empty":
                values[value["channel"]] = self.serde.loads_typed(_untyped(value))
        parent_id = stored.get("parentCheckpointId")
        return CheckpointTuple(
            config=_config(thread_id, namespace, stored["checkpointId"]),
            checkpoint={**checkpoint, "channel_values": values},
            metadata=stored["metadata"],
            parent_config=_config(thread_id, namespace, parent_id) if parent_id else None,
            pending_writes=[(write["taskId"], write["channel"], self.serde.loads_typed(_untyped(write)))
                            for write in stored["pendingWrites"]],
        )

    def _message(self, thread_id: str, entry: dict[str, Any]) -> BaseMessage:
        """The message of a stored entry: the object already made for it when the saver has one
        (an entry answered without body, because the request said the saver holds it), else a new one."""
        with self._lock:
            thread = self._stored.get(thread_id)
            known = thread.by_version.get(entry["version"]) if thread else None
        if known is not None and known.unchanged():
            return known.message
        if "role" not in entry:
            raise _Forgotten()
        message = to_langchain(entry["role"], entry["content"], entry["id"], entry.get("metadata", {}))
        self._remember(thread_id, entry["version"], message)
        return message

    # -- what the saver knows the threads hold -------------------------------------------------------

    def _with_hints(self, params: dict[str, Any]) -> dict[str, Any]:
        """Read parameters naming the message versions of the thread the saver holds objects for:
        those come back without their bodies."""
        with self._lock:
            thread = self._stored.get(params["threadId"])
            versions = sorted(thread.by_version) if thread else []
        return {**params, "knownMessageVersions": versions} if versions else params

    def _known(self, thread_id: str, message: BaseMessage) -> int | None:
        """The session version of `message` when the thread holds it as it is now: the very object
        stored or read, with none of its fields reassigned since."""
        with self._lock:
            thread = self._stored.get(thread_id)
            known = thread.by_id.get(message.id or "") if thread else None
        if known is not None and known.message is message and known.unchanged():
            return known.version
        return None

    def _remember(self, thread_id: str, version: int, message: BaseMessage) -> None:
        with self._lock:
            thread = self._stored.setdefault(thread_id, _ThreadMessages())
            self._stored.move_to_end(thread_id)
            stored = _StoredMessage(version, message)
            thread.by_id[message.id] = thread.by_version[version] = stored
            while len(self._stored) > _REMEMBERED_THREADS:
                self._stored.popitem(last=False)

    def _forget(self, thread_id: str) -> None:
        with self._lock:
            self._stored.pop(thread_id, None)


class _Forgotten(Exception):
    """A read answered without the body of a message the saver no longer holds: read again without hints."""


class _ThreadMessages:
    """The message objects of one thread the saver holds, by id and by session version."""

    __slots__ = ("by_id", "by_version")

    def __init__(self) -> None:
        self.by_id: dict[str, _StoredMessage] = {}
        self.by_version: dict[int, _StoredMessage] = {}


class _StoredMessage:
    """A message object the saver stored or read, at its session version, with a shallow copy of
    its fields to notice a field reassigned later (such a message is sent in full again)."""

    __slots__ = ("version", "message", "fields")

    def __init__(self, version: int, message: BaseMessage) -> None:
        self.version = version
        self.message = message
        self.fields = dict(message.__dict__)

    def unchanged(self) -> bool:
        return self.message.__dict__ == self.fields


class _PutAttempt:
    """One way of sending a checkpoint (see ``ConvLogSaver._put_attempts``)."""

    def __init__(self, saver: ConvLogSaver, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                 new_versions: ChannelVersions, messages: str) -> None:
        self.saver = saver
        configurable = config["configurable"]
        self.thread_id = configurable["thread_id"]
        self.namespace = configurable.get("checkpoint_ns", "")
        self.checkpoint_id = checkpoint["id"]
        self.sent_messages: dict[str, list[BaseMessage]] = {}
        body = dict(checkpoint)
        channel_values = body.pop("channel_values", {}) or {}
        values = []
        for channel, version in new_versions.items():
            if channel not in channel_values:
                values.append({"channel": channel, "version": str(version), "type": "empty"})
                continue
            value = channel_values[channel]
            entries = self._entries(channel, value, messages) if messages != "bytes" else None
            if entries is None:
                values.append({"channel": channel, "version": str(version), **_typed(saver.serde.dumps_typed(value))})
            else:
                values.append({"channel": channel, "version": str(version), "messages": entries})
        self.params = {
            "threadId": self.thread_id,
            "checkpointNs": self.namespace,
            "checkpointId": self.checkpoint_id,
            "parentCheckpointId": configurable.get("checkpoint_id"),
            "checkpoint": _typed(saver.serde.dumps_typed(body)),
            "metadata": _json_safe(get_serializable_checkpoint_metadata(config, metadata)),
            "channelVersions": {channel: str(version) for channel, version in checkpoint["channel_versions"].items()},
            "values": values,
        }

    def _entries(self, channel: str, value: Any, mode: str) -> list[dict[str, Any]] | None:
        """The channel as message entries, or None when it is not a list of storable messages."""
        if not (self.saver.store_messages_once and self.namespace == "" and channel == MESSAGES_CHANNEL and isinstance(value, list)):
            return None
        if not all(isinstance(message, BaseMessage) and message.id and message.type in ROLES for message in value):
            return None
        entries, sent = [], []
        for message in value:
            version = self.saver._known(self.thread_id, message) if mode == "references" else None
            if version is not None:
                entries.append({"id": message.id, "version": version})
            else:
                entry = _message_entry(message)
                if entry is None:
                    return None
                entries.append(entry)
            sent.append(message)
        self.sent_messages[channel] = sent
        return entries

    def stored(self, result: dict[str, Any]) -> RunnableConfig:
        """Remembers the stored messages' versions; the config of the stored checkpoint."""
        for channel, versions in result.get("messageVersions", {}).items():
            for message, version in zip(self.sent_messages.get(channel, []), versions):
                self.saver._remember(self.thread_id, version, message)
        return _config(self.thread_id, self.namespace, self.checkpoint_id)


class _ListQuery:
    """``list``'s paging: newest first, ``before``, ``limit``, metadata ``filter`` (on the daemon)."""

    def __init__(self, config: RunnableConfig | None, filter: dict[str, Any] | None, before: RunnableConfig | None,
                 limit: int | None) -> None:
        configurable = (config or {}).get("configurable", {})
        self.params: dict[str, Any] = {"filter": _json_safe(filter or {})}
        if configurable.get("thread_id") is not None:
            self.params["threadId"] = configurable["thread_id"]
        if "checkpoint_ns" in configurable:
            self.params["checkpointNs"] = configurable["checkpoint_ns"]
        self.only_id = get_checkpoint_id(config) if config else None
        self.before = get_checkpoint_id(before) if before else None
        self.remaining = limit
        self.done = False

    def next_page(self) -> dict[str, Any] | None:
        if self.done or (self.remaining is not None and self.remaining <= 0):
            return None
        page = _PAGE if self.remaining is None else min(_PAGE, self.remaining)
        params = {**self.params, "limit": page}
        if self.before:
            params["before"] = self.before
        self.page = page
        return params

    def take(self, stored: list[dict[str, Any]], convert: Any) -> Iterator[CheckpointTuple]:
        self.done = len(stored) < self.page
        if stored:
            self.before = stored[-1]["checkpointId"]
        for item in stored:
            if self.only_id and item["checkpointId"] != self.only_id:
                continue
            if self.remaining is not None:
                self.remaining -= 1
            yield convert(item)


def _message_entry(message: BaseMessage) -> dict[str, Any] | None:
    """A LangChain message as a convlog message (as ``ConvLogChatMessageHistory`` stores it), or
    None when it cannot be one faithfully (content or fields that are not JSON)."""
    rest = message_to_dict(message)["data"]
    content = rest.pop("content", "")
    entry = {"id": message.id, "role": ROLES[message.type], "content": content, "metadata": {MESSAGE_KEY: rest}}
    try:
        json.dumps(entry, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return entry


def _typed(value: tuple[str, bytes]) -> dict[str, str]:
    kind, data = value
    return {"type": kind, "data": base64.b64encode(data).decode("ascii")}


def _untyped(value: dict[str, Any]) -> tuple[str, bytes]:
    return value["type"], base64.b64decode(value.get("data") or "")


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """Metadata as JSON: values JSON cannot hold are stored as their ``str()``."""
    return json.loads(json.dumps(value, default=str))


def _where(config: RunnableConfig) -> dict[str, Any]:
    configurable = config["configurable"]
    return {
        "threadId": configurable["thread_id"],
        "checkpointNs": configurable.get("checkpoint_ns", ""),
        "checkpointId": get_checkpoint_id(config),
    }


def _config(thread_id: str, namespace: str, checkpoint_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": namespace, "checkpoint_id": checkpoint_id}}
