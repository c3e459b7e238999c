"""Exceptions of the trio adapter.

Every exception a session raises to its caller is one of these (or a :class:`trio.Cancelled` /
:class:`trio.TooSlowError` of the caller's own making):

- :class:`MCPError`: the peer answered a request with a JSON-RPC error. A server handler may
  raise it too, to answer with that error.
- :class:`SessionClosed`: the session ended before the request was answered, or was already
  closed; :class:`PeerDisconnected` when it ended because the peer went away (EOF, broken pipe,
  killed process) or broke the protocol.
- :class:`ConnectError`: the handshake failed (the server refused ``initialize``, answered with
  a version this client does not support, or left before answering).
- :class:`RequestTimeout`: the session's default request timeout elapsed (the request was
  cancelled on the wire).
- :class:`TransportError`: a transport could not carry a message, said in one line fit for a
  user (``cannot connect to http://127.0.0.1:1/mcp: connection refused``); the exception that
  caused it is its ``__cause__``. A :class:`ConnectError` made from one has its message.
- :class:`ToolError`: raised by a tool handler to report a tool execution error (a result with
  ``isError: true``) rather than a protocol error.
- :class:`ResourceNotFound`: raised by a resource or template reader that has no such item; the
  server answers with the resource-not-found error of the negotiated revision.
- :class:`LifespanError`: a :class:`~trio_adapter.Server`'s lifespan failed to start or to
  finish.
"""

from __future__ import annotations

from typing import Any

import trio

from sansio import ErrorCode, RequestId

__all__ = [
    "ConnectError",
    "LifespanError",
    "MCPError",
    "PeerDisconnected",
    "RequestTimeout",
    "ResourceNotFound",
    "SessionClosed",
    "ToolError",
    "TransportError",
]


class MCPError(Exception):
    """A JSON-RPC error response: received from the peer, or raised by a handler to send one.

    Attributes:
        code: the JSON-RPC error code (an :class:`sansio.ErrorCode` when it is a known one).
        message: the error message.
        data: the error's ``data`` member, if any.
        method: the method of the request this error answered (``None`` when raised locally).
        request_id: the id of that request.
    """

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        *,
        method: str | None = None,
        request_id: RequestId | None = None,
    ) -> None:
        super().__init__(code, message)
        try:
            self.code: int = ErrorCode(code)
        except ValueError:
            self.code = code
        self.message = message
        self.data = data
        self.method = method
        self.request_id = request_id

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self.message} ({ErrorCode.describe(self.code)} {int(self.code)})"


class SessionClosed(Exception):
    """The session is closed: the call could not be made, or will never be answered.

    Attributes:
        reason: why the session closed.
        request_id: the id of the request this failure finishes, when there was one.
        method: that request's method.
    """

    def __init__(
        self,
        reason: str,
        *,
        request_id: RequestId | None = None,
        method: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id
        self.method = method

    def __str__(self) -> str:
        if self.request_id is None:
            return self.reason
        return f"{self.reason} (request {self.request_id!r}, {self.method})"

    def for_request(self, request_id: RequestId, method: str) -> SessionClosed:
        """Return a copy of this error naming one request."""
        return type(self)(self.reason, request_id=request_id, method=method)


class PeerDisconnected(SessionClosed):
    """The peer went away (EOF, broken pipe, killed process) or broke the protocol.

    Attributes:
        retry_safe: whether sending the failed request again (on a new connection) is known
            to be safe: always in the 2026-07-28 era (every request stands alone), only for
            read-only requests in the handshake era (a ``tools/call`` may have run), and
            always for a call that was never written. False when unknown.
    """

    def __init__(
        self,
        reason: str,
        *,
        request_id: RequestId | None = None,
        method: str | None = None,
        retry_safe: bool = False,
    ) -> None:
        super().__init__(reason, request_id=request_id, method=method)
        self.retry_safe = retry_safe

    def for_request(self, request_id: RequestId, method: str) -> PeerDisconnected:
        """Return a copy of this error naming one request (``retry_safe`` kept)."""
        return type(self)(self.reason, request_id=request_id, method=method,
                          retry_safe=self.retry_safe)


class ConnectError(Exception):
    """The handshake failed; the session was closed.

    Attributes:
        code: the JSON-RPC error code when the failure was an error response or a protocol
            violation (for example -32022 for an unsupported protocol version), else ``None``.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransportError(trio.BrokenResourceError):
    """A transport failed; ``str()`` is one line that says what and where, without reprs.

    A :class:`trio.BrokenResourceError`, so code that handles a broken transport handles it.
    The low-level exception (an :class:`OSError`, :class:`ssl.SSLError`, ...) is chained as
    ``__cause__``. A session that fails on one closes with its message, and a handshake that
    fails on one raises :class:`ConnectError` with the same message, chained from it.
    """


class RequestTimeout(TimeoutError):
    """The session's default request timeout elapsed; the request was cancelled on the wire.

    Attributes:
        request_id: the request's id.
        method: its method.
        timeout: the timeout, in seconds.
    """

    def __init__(self, request_id: RequestId, method: str, timeout: float) -> None:
        super().__init__(f"{method} (request {request_id!r}) timed out after {timeout:g} s")
        self.request_id = request_id
        self.method = method
        self.timeout = timeout


class ToolError(Exception):
    """Raised by a handler to send the client this exact message.

    In a tool, the call ends with ``isError: true`` and this message (the model sees it). In a
    resource reader, prompt or completion handler, the request is answered with a -32603
    error with this message. Either way nothing is logged: this is an expected outcome.

    Any other exception from a handler is unexpected: the server logs it with its traceback and
    the client sees only ``internal error in tool 'name'`` (or the exception's type and text
    with ``Server(mask_error_details=False)``). Raise :class:`MCPError` instead to answer with a
    protocol error of your choosing.
    """


class ResourceNotFound(Exception):
    """Raised by a resource or template reader: there is no resource at this URI.

    The server answers ``resources/read`` with the resource-not-found error of the negotiated
    revision (-32002 up to 2025-11-25, -32602 from 2026-07-28: see
    :func:`sansio.resource_not_found_code`), message ``resource not found: <uri>`` and
    ``data: {"uri": <uri>}`` with the requested URI. Raised from a tool, it ends the call with
    ``isError: true`` and that message.

    Attributes:
        uri: the URI given, or ``None``. It names the resource in a tool's message; in
            ``resources/read`` the answer always names the URI that was requested.
    """

    def __init__(self, uri: str | None = None) -> None:
        super().__init__(f"resource not found: {uri}" if uri else "resource not found")
        self.uri = uri


class LifespanError(Exception):
    """A server's lifespan (``Server(lifespan=...)``) raised on entering or on exiting.

    The original exception is the ``__cause__``.
    """
