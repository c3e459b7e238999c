"""trio-mcp's sans-IO core: a Model Context Protocol engine with no I/O.

This package never imports trio, asyncio, anyio, socket, select, selectors, threading,
subprocess or time, and never reads a clock. Drive it from any runtime: feed it bytes or
messages, take events out, send frames it produces.

>>> from sansio import Connection, Role
>>> client = Connection(Role.CLIENT)
>>> request_id = client.send_initialize({"name": "demo", "version": "1.0"})
>>> client.data_to_send()[:40]
b'{"jsonrpc":"2.0","id":1,"method":"initia'
"""

from ._codec import BACKEND as JSON_BACKEND
from .connection import DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_SIZE, Connection
from .errors import (
    ErrorCode,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    resource_not_found_code,
)
from .events import (
    NEED_DATA,
    Closed,
    ErrorReceived,
    Event,
    Initialized,
    InitializeRequested,
    InputRequired,
    ListenAcknowledged,
    ListenEnded,
    NeedData,
    NotificationReceived,
    PeerDisconnected,
    ProgressReceived,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
)
from .frames import Frame, FrameKind
from .jsonrpc import ErrorObject, RequestId
from .mrtr import HmacRequestStateCodec, RequestStateCodec, RequestStateError
from .state import Role, State
from .subscriptions import (
    ClientSubscriptions,
    ListenRefused,
    ServerSubscriptions,
    SubscriptionFilter,
    SubscriptionViolation,
)
from .versions import (
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    LATEST_VERSION,
    STATELESS_VERSIONS,
    SUPPORTED_VERSIONS,
    Era,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FRAME_SIZE",
    "HANDSHAKE_VERSIONS",
    "JSON_BACKEND",
    "LATEST_HANDSHAKE_VERSION",
    "LATEST_VERSION",
    "NEED_DATA",
    "STATELESS_VERSIONS",
    "SUPPORTED_VERSIONS",
    "ClientSubscriptions",
    "Closed",
    "Connection",
    "Era",
    "ErrorCode",
    "ErrorObject",
    "ErrorReceived",
    "Event",
    "Frame",
    "FrameKind",
    "HmacRequestStateCodec",
    "InitializeRequested",
    "Initialized",
    "InputRequired",
    "ListenAcknowledged",
    "ListenEnded",
    "ListenRefused",
    "LocalProtocolError",
    "NeedData",
    "NotificationReceived",
    "PeerDisconnected",
    "ProgressReceived",
    "ProtocolError",
    "RemoteProtocolError",
    "RequestCancelled",
    "RequestId",
    "RequestReceived",
    "RequestStateCodec",
    "RequestStateError",
    "ResponseReceived",
    "Role",
    "ServerSubscriptions",
    "State",
    "SubscriptionFilter",
    "SubscriptionViolation",
    "resource_not_found_code",
]

__version__ = "0.1.0"
