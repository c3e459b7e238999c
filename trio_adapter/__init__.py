"""trio-mcp's trio adapter: Client, Server and their sessions over trio transports.

The adapter drives the sans-IO engine in :mod:`sansio` and owns only I/O and concurrency:
one reader task per connection, one send lock, a task per incoming request, cancel scopes,
timeouts and process management. See ``docs/adapter.md`` (API) and ``docs/lifecycle.md``.

>>> import trio
>>> from trio_adapter import Client, Server, memory_transport_pair
>>> server = Server("demo", "1.0")
>>> @server.tool()
... async def add(a: int, b: int) -> int:
...     return a + b
>>> async def main() -> int:
...     client_end, server_end = memory_transport_pair()
...     async with trio.open_nursery() as nursery:
...         nursery.start_soon(server.serve, server_end)
...         async with Client("demo-client", "1.0").connect(client_end) as session:
...             result = await session.call_tool("add", {"a": 1, "b": 2})
...     return result.structured_content["result"]
>>> trio.run(main)
3
"""

from sansio.auth_server import Principal, TokenRejected

from ._auth_server import (
    IntrospectionVerifier,
    JWTVerifier,
    ProtectedResource,
    StaticTokenVerifier,
    TokenVerifier,
    VerifierUnavailable,
)
from ._process import CommandTransport, ProcessStartError, StdioTransport
from ._reconnect import Reconnect, ReconnectInfo
from ._schema import ToolDefinitionError
from ._session import BaseSession, ProgressCallback, RequestContext, SessionState, TraceHook
from ._task_client import (  # tasks, the client side (issue 13)
    TaskCancelled,
    TaskExpired,
    TaskFailed,
    TaskHandle,
    TaskStatusCallback,
)
from ._transport import MemoryTransport, StreamTransport, Transport, memory_transport_pair
from .client import Client, ClientSession, ConnectMode, Listener
from .content import Audio, Image
from .errors import (
    ConnectError,
    LifespanError,
    MCPError,
    PeerDisconnected,
    RequestTimeout,
    ResourceNotFound,
    SessionClosed,
    ToolError,
    TransportError,
)
from .http import HTTPServerInfo, SessionExpired, StreamableHTTPTransport, serve_http
from .server import Context, InputRequest, Server, ServerSession

__all__ = [
    "Audio",
    "BaseSession",
    "Client",
    "ClientSession",
    "CommandTransport",
    "ConnectError",
    "ConnectMode",
    "Context",
    "HTTPServerInfo",
    "Image",
    "InputRequest",
    "IntrospectionVerifier",
    "JWTVerifier",
    "LifespanError",
    "Listener",
    "MCPError",
    "MemoryTransport",
    "PeerDisconnected",
    "Principal",
    "ProcessStartError",
    "ProgressCallback",
    "ProtectedResource",
    "Reconnect",
    "ReconnectInfo",
    "RequestContext",
    "RequestTimeout",
    "ResourceNotFound",
    "Server",
    "ServerSession",
    "SessionClosed",
    "SessionExpired",
    "SessionState",
    "StaticTokenVerifier",
    "StdioTransport",
    "StreamTransport",
    "StreamableHTTPTransport",
    "TaskCancelled",
    "TaskExpired",
    "TaskFailed",
    "TaskHandle",
    "TaskStatusCallback",
    "TokenRejected",
    "TokenVerifier",
    "ToolDefinitionError",
    "ToolError",
    "TraceHook",
    "Transport",
    "TransportError",
    "VerifierUnavailable",
    "memory_transport_pair",
    "serve_http",
]
