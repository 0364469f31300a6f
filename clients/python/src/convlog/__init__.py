"""Python client for convlogd, the conversation-memory daemon for LLM orchestrators.

>>> from convlog import Client
>>> client = Client()                                   # doctest: +SKIP
>>> client.add("chat-1", "user", "Hi", create_if_missing=True)   # doctest: +SKIP
"""

from ._protocol import default_socket_path
from .aio import AsyncClient
from .client import Client
from .errors import (
    ConvLogError, InternalError, InvalidParams, InvalidRequest, MessageConflict, MethodNotFound, ParseError, PayloadTooLarge,
    SessionExists, SessionNotFound, ShuttingDown, StorageFull, StoreUnavailable, SubscriberTooSlow, ThreadDeleted, TransportError,
    VersionConflict,
)
from .subscription import AsyncSubscription, Subscription
from .types import (
    AddedMessage, Context, ContextUpdate, CreatedSession, Event, EventPage, FollowUpAnalysis, Health, Message, Session,
    SessionPage, Stats, Topic,
)

__all__ = [
    "AddedMessage", "AsyncClient", "AsyncSubscription", "Client", "Context", "ContextUpdate", "ConvLogError", "CreatedSession", "Event", "EventPage",
    "FollowUpAnalysis", "Health", "InternalError", "InvalidParams", "InvalidRequest", "Message", "MessageConflict", "MethodNotFound", "ParseError",
    "PayloadTooLarge", "Session", "SessionExists", "SessionNotFound", "SessionPage", "ShuttingDown", "Stats", "StorageFull", "StoreUnavailable",
    "SubscriberTooSlow", "Subscription", "ThreadDeleted", "Topic", "TransportError", "VersionConflict", "default_socket_path",
]
__version__ = "0.3.0"
