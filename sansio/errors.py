"""Error codes and the exceptions the engine raises.

Two exception families, after h11 and h2:

* :class:`LocalProtocolError` -- *you* misused the API (sent something the protocol forbids in the
  current state, sent a request the peer cannot serve, answered a request twice...). Raised only
  by the outbound calls (``send_*``, ``cancel``). Nothing is queued and the state is unchanged:
  the connection stays usable. (Constructors raise ``ValueError`` for bad arguments.)
* :class:`RemoteProtocolError` -- the *peer* broke the protocol. Raised only from
  :meth:`sansio.Connection.next_event` (``receive_data``/``receive_message`` only buffer). It
  carries the JSON-RPC error ``code`` and, when the protocol requires an answer,
  ``response_hint``: the ready-to-write frame of the error response. The engine never writes on
  its own; the adapter writes the hint.

A :class:`RemoteProtocolError` is *recoverable* (``fatal`` is false) when it concerns one frame
(a bad line, an unknown method, a response to an unknown id): keep calling ``next_event``. A fatal
one moves the connection to the ``ERROR`` state for good.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from .versions import STATELESS_VERSIONS

if TYPE_CHECKING:
    from .frames import Frame

__all__ = [
    "ErrorCode",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "resource_not_found_code",
]


class ErrorCode(enum.IntEnum):
    """Every JSON-RPC and MCP error code the engine knows.

    The first five are JSON-RPC 2.0's (https://www.jsonrpc.org/specification#error_object);
    the rest are MCP's, named after the spec's schema.
    """

    PARSE_ERROR = -32700
    """Invalid JSON was received."""
    INVALID_REQUEST = -32600
    """The JSON sent is not a valid request object (or not allowed now)."""
    METHOD_NOT_FOUND = -32601
    """The method does not exist, or the capability it needs was not advertised."""
    INVALID_PARAMS = -32602
    """Invalid method parameters."""
    INTERNAL_ERROR = -32603
    """Internal JSON-RPC error."""

    RESOURCE_NOT_FOUND = -32002
    """MCP: ``resources/read`` of an unknown URI (2024-11-05 .. 2025-11-25; later revisions
    use ``INVALID_PARAMS``: see :func:`resource_not_found_code`)."""
    URL_ELICITATION_REQUIRED = -32042
    """MCP 2025-11-25+: ``URLElicitationRequiredError``."""
    HEADER_MISMATCH = -32020
    """MCP 2026-07-28: an HTTP header disagrees with the body."""
    MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
    """MCP 2026-07-28: the request needs a client capability the client did not declare."""
    UNSUPPORTED_PROTOCOL_VERSION = -32022
    """MCP 2026-07-28: the per-request protocol version is not supported."""
    SERVER_BUSY = -32050
    """trio-mcp (JSON-RPC's implementation-defined server range, -32000 to -32099): the
    request was refused, unserved, because the session already serves
    ``max_concurrent_requests`` requests; retrying later may succeed."""

    @classmethod
    def describe(cls, code: int) -> str:
        """Return the member name for a known ``code``, or ``"error <code>"`` otherwise."""
        try:
            return cls(code).name
        except ValueError:
            return f"error {code}"


def resource_not_found_code(version: str | None) -> ErrorCode:
    """Return the code that answers ``resources/read`` of a URI the server does not have.

    ``resources.mdx``, "Error Handling": up to 2025-11-25 servers SHOULD answer "Resource not
    found: ``-32002``"; from 2026-07-28 they MUST answer ``-32602`` (Invalid Params), while
    clients SHOULD still accept ``-32002``. Both carry ``data: {"uri": ...}``.

    Args:
        version: the negotiated revision; ``None`` (not negotiated yet) and any revision before
            the stateless era give ``RESOURCE_NOT_FOUND``, that era and later
            ``INVALID_PARAMS``.
    """
    if version is not None and version >= STATELESS_VERSIONS[0]:
        return ErrorCode.INVALID_PARAMS
    return ErrorCode.RESOURCE_NOT_FOUND


class ProtocolError(Exception):
    """Base of the engine's protocol errors. Never raised itself.

    Attributes:
        code: the JSON-RPC error code that describes the problem.
        data: optional structured detail, as it would go into the error object's ``data``.
    """

    code: ErrorCode
    data: Any

    def __init__(self, msg: str, code: ErrorCode = ErrorCode.INVALID_REQUEST, data: Any = None):
        if type(self) is ProtocolError:
            raise TypeError(
                "ProtocolError is abstract; raise LocalProtocolError or RemoteProtocolError")
        super().__init__(msg)
        self.code = code
        self.data = data

    @property
    def message(self) -> str:
        """The human-readable message (the first argument)."""
        return str(self.args[0]) if self.args else ""


class LocalProtocolError(ProtocolError):
    """Raised when the local caller asked the engine to do something the protocol forbids."""


class RemoteProtocolError(ProtocolError):
    """Raised when the peer sent something the protocol forbids.

    Attributes:
        response_hint: the frame (bytes, newline-terminated) of the JSON-RPC error response the
            protocol requires, or ``None`` when nothing is to be answered (for example a bad
            response or a bad notification). Write it to the peer as it is.
        fatal: whether the connection is now unusable (the engine is in ``ERROR``). When false,
            only the offending frame was dropped and you may keep calling ``next_event()``.
        request_id: the id of the peer's offending request when one could be read, else
            ``None`` (the id the ``response_hint`` answers).
        finished_request: the id of one of *our* requests that this error finishes: the peer
            answered it with a malformed response (or an invalid result). The request is no
            longer pending; fail its caller with this error. ``None`` otherwise.
        response_frame: the same answer as ``response_hint``, as a
            :class:`~sansio.frames.Frame` (kind ``ERROR``, or ``BATCH``, with the id it
            answers), for transports that route frames; ``None`` when there is no hint.
    """

    response_hint: bytes | None
    response_frame: Frame | None
    fatal: bool
    request_id: int | str | None
    finished_request: int | str | None

    def __init__(
        self,
        msg: str,
        code: ErrorCode = ErrorCode.INVALID_REQUEST,
        data: Any = None,
        *,
        response_hint: bytes | None = None,
        fatal: bool = False,
        request_id: int | str | None = None,
        finished_request: int | str | None = None,
    ):
        super().__init__(msg, code, data)
        self.response_hint = response_hint
        self.response_frame = None
        self.fatal = fatal
        self.request_id = request_id
        self.finished_request = finished_request
