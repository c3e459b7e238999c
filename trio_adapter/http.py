"""Streamable HTTP for trio: :func:`serve_http` (server) and :class:`StreamableHTTPTransport`.

Every decision (status codes, sessions, which stream a message goes on, SSE ids, resumption)
is :mod:`sansio.http`'s (server) or :class:`sansio.http_client.StreamableHTTPClient`'s
(client: headers, what an answer means, when to resume, when to start a new session); the
modules behind this one (``_http_server``, ``_http_client``) own sockets, tasks and timeouts.
"""

from __future__ import annotations

from ._http_client import (
    EndpointUnreachable,
    HTTPTransportError,
    NotAnMCPEndpoint,
    SessionExpired,
    StreamableHTTPTransport,
    _Pool,
)
from ._http_server import (
    COALESCE_WINDOW,
    HTTPServerInfo,
    ListenError,
    _Conn,
    _Endpoint,
    serve_http,
)
from ._netfail import describe_failure

__all__ = [
    "COALESCE_WINDOW",
    "EndpointUnreachable",
    "HTTPServerInfo",
    "HTTPTransportError",
    "ListenError",
    "NotAnMCPEndpoint",
    "SessionExpired",
    "StreamableHTTPTransport",
    "describe_failure",
    "serve_http",
]
_PRIVATE_FOR_TESTS = (_Conn, _Endpoint, _Pool)
