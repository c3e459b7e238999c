"""JSON-RPC 2.0 messages: parsing and serialising, by hand.

https://www.jsonrpc.org/specification, as MCP restricts it
(https://modelcontextprotocol.io/specification/2025-11-25/basic#messages):

* ids are ``int | str``; ``bool``, ``float`` and ``null`` ids are refused (MCP: "the ID MUST NOT
  be null");
* ``params`` and ``result`` are JSON objects;
* an error object has an integer ``code`` and a string ``message``.

Decoding dispatches on the keys (``method`` and ``id``: request; ``method`` alone: notification;
``result`` or ``error``: response). It never goes through a cattrs union; see style.md section 3.

This module is the one classifier of JSON-RPC frames: :func:`classify` (what a decoded value is
shaped as), :func:`decode_message` (whether it is valid, and the error when not),
:func:`too_deep` (the nesting limit) and :func:`batch_refusal` (the batch rule per revision).
The engine (:class:`~sansio.connection.Connection`) and the HTTP objects (``sansio.http``,
``sansio.http_client``) both use them, so what an HTTP POST waits for is by construction what
the engine answers.
"""

from __future__ import annotations

import enum
from typing import Any, Final, TypeAlias

import attrs

from .errors import ErrorCode
from .versions import BATCH_VERSIONS

__all__ = [
    "JSONRPC_VERSION",
    "ErrorObject",
    "ErrorResponse",
    "FrameError",
    "Message",
    "MessageKind",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "batch_refusal",
    "classify",
    "decode_message",
    "error_response_obj",
    "is_request_id",
    "too_deep",
]

JSONRPC_VERSION: Final = "2.0"

RequestId: TypeAlias = "int | str"
"""A JSON-RPC request id as MCP allows it: an integer or a string, never bool, float or null."""


def is_request_id(value: object) -> bool:
    """Return whether ``value`` is a valid MCP request id (``int`` but not ``bool``, or ``str``)."""
    cls = value.__class__
    return cls is int or cls is str


@attrs.frozen
class ErrorObject:
    """The ``error`` member of an error response."""

    code: int
    message: str
    data: Any = None

    def to_json(self) -> dict[str, Any]:
        """Return the wire form (``data`` omitted when ``None``)."""
        obj: dict[str, Any] = {"code": int(self.code), "message": self.message}
        if self.data is not None:
            obj["data"] = self.data
        return obj


@attrs.frozen
class Request:
    """A JSON-RPC request: expects exactly one response with the same id."""

    id: RequestId
    method: str
    params: dict[str, Any] | None = None


@attrs.frozen
class Notification:
    """A JSON-RPC notification: no id, no response."""

    method: str
    params: dict[str, Any] | None = None


@attrs.frozen
class Response:
    """A successful JSON-RPC response."""

    id: RequestId
    result: dict[str, Any]


@attrs.frozen
class ErrorResponse:
    """A JSON-RPC error response. ``id`` is ``None`` when the request's id could not be read."""

    id: RequestId | None
    error: ErrorObject


Message: TypeAlias = "Request | Notification | Response | ErrorResponse"


class FrameError(Exception):
    """A decoded JSON value is not a valid JSON-RPC message (internal; the engine converts it).

    Attributes:
        code: the JSON-RPC error code.
        request_id: the id, when the value was recognisably a request with a valid id.
        is_request: whether the frame looked like a request (so that an error response is owed).
    """

    def __init__(
        self,
        msg: str,
        code: ErrorCode = ErrorCode.INVALID_REQUEST,
        *,
        request_id: RequestId | None = None,
        is_request: bool = True,
    ) -> None:
        super().__init__(msg)
        self.code = code
        self.request_id = request_id
        self.is_request = is_request


class MessageKind(enum.Enum):
    """What a decoded JSON value is shaped as (:func:`classify`)."""

    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    ERROR = "error"
    INVALID = "invalid"  # not an object: no JSON-RPC message at all


def classify(obj: object) -> MessageKind:
    """Classify one decoded JSON value by its keys, as :func:`decode_message` dispatches.

    A ``method`` (of any value but null), or neither ``result`` nor ``error``: a request when it
    has an ``id`` (valid or not), else a notification; otherwise an error response when it has
    ``error``, else a response. Only the shape is looked at: whether the message is *valid*
    (the ``jsonrpc`` member, the id rules, ``params`` an object, ...) is :func:`decode_message`'s
    answer. A request-shaped value is always answered by the engine (an invalid one with an
    error response whose id is null when its id is not an int or a str), so it is what an HTTP
    POST waits for; a response-shaped one never is.
    """
    if obj.__class__ is not dict:
        return MessageKind.INVALID
    # (mypy narrows by the class test: no isinstance call on the engine's hot path.)
    message: dict[str, Any] = obj
    if message.get("method") is not None or ("result" not in message and "error" not in message):
        return MessageKind.REQUEST if "id" in message else MessageKind.NOTIFICATION
    return MessageKind.ERROR if "error" in message else MessageKind.RESPONSE


def too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects deeper than ``limit`` (the outermost container
    is depth 1); iterative, no recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if node.__class__ is dict:
            stack.extend((child, depth + 1) for child in node.values()
                         if child.__class__ is dict or child.__class__ is list)
        elif node.__class__ is list:
            stack.extend((child, depth + 1) for child in node
                         if child.__class__ is dict or child.__class__ is list)
    return False


def batch_refusal(version: str | None) -> str | None:
    """Why a JSON-RPC batch is refused under ``version`` (``None``: not negotiated yet), or
    ``None`` when that revision allows batches (2025-03-26 only)."""
    if version in BATCH_VERSIONS:
        return None
    return "JSON-RPC batches are not allowed " + (
        f"in protocol version {version}" if version else "before initialization")


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number" if not isinstance(value, int) else "an integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - JSON has no other types


def decode_message(obj: object) -> Message:
    """Turn one decoded JSON value into a message.

    Raises:
        FrameError: ``obj`` is not a valid JSON-RPC 2.0 message as MCP restricts it.
    """
    kind = classify(obj)
    if kind is MessageKind.INVALID:
        raise FrameError(f"a JSON-RPC message must be an object, not {_describe(obj)}")
    assert isinstance(obj, dict)
    has_id = "id" in obj
    raw_id = obj.get("id")
    id_ok = has_id and is_request_id(raw_id)
    method = obj.get("method")

    if kind is MessageKind.REQUEST or kind is MessageKind.NOTIFICATION:
        # A request or a notification (or garbage, which is answered as an invalid request).
        request_id: RequestId | None = raw_id if id_ok else None
        if obj.get("jsonrpc") != JSONRPC_VERSION:
            raise FrameError('"jsonrpc" must be "2.0"', request_id=request_id)
        if method.__class__ is not str:
            raise FrameError(
                f'"method" must be a string, not {_describe(method)}',
                request_id=request_id,
            )
        assert isinstance(method, str)
        params = obj.get("params")
        if params is not None and params.__class__ is not dict:
            raise FrameError(
                f'"params" must be an object, not {_describe(params)}',
                request_id=request_id,
            )
        if "params" in obj and params is None:
            raise FrameError('"params" must be an object, not null', request_id=request_id)
        if has_id:
            if not id_ok:
                raise FrameError(f'"id" must be an integer or a string, not {_describe(raw_id)}')
            return Request(raw_id, method, params)  # type: ignore[arg-type]
        return Notification(method, params)

    # A response.
    if obj.get("jsonrpc") != JSONRPC_VERSION:
        raise FrameError('"jsonrpc" must be "2.0"', request_id=raw_id if id_ok else None,
                         is_request=False)
    if "result" in obj and "error" in obj:
        raise FrameError('a response has "result" or "error", not both', is_request=False,
                         request_id=raw_id if id_ok else None)
    if "error" in obj:
        error = obj["error"]
        if error.__class__ is not dict:
            raise FrameError(f'"error" must be an object, not {_describe(error)}',
                             is_request=False, request_id=raw_id if id_ok else None)
        code = error.get("code")
        message = error.get("message")
        if code.__class__ is not int or message.__class__ is not str:
            raise FrameError('"error" needs an integer "code" and a string "message"',
                             is_request=False, request_id=raw_id if id_ok else None)
        if has_id and raw_id is not None and not id_ok:
            raise FrameError(f'"id" must be an integer or a string, not {_describe(raw_id)}',
                             is_request=False)
        return ErrorResponse(raw_id if id_ok else None,
                             ErrorObject(code, message, error.get("data")))
    result = obj["result"]
    if not id_ok:
        raise FrameError(f'"id" must be an integer or a string, not {_describe(raw_id)}',
                         is_request=False)
    if result.__class__ is not dict:
        raise FrameError(f'"result" must be an object, not {_describe(result)}',
                         is_request=False, request_id=raw_id)
    return Response(raw_id, result)  # type: ignore[arg-type]


def error_response_obj(
    request_id: RequestId | None,
    code: int,
    message: str,
    data: Any = None,
    *,
    null_id: bool = True,
) -> dict[str, Any]:
    """Build the wire form of an error response.

    Args:
        request_id: the id being answered, or ``None`` when it could not be read.
        null_id: when ``request_id`` is ``None``, write ``"id": null`` (JSON-RPC 2.0 and MCP up
            to 2025-06-18) instead of omitting the key (MCP 2025-11-25 and later, whose schema
            makes the id optional and forbids null).
    """
    error: dict[str, Any] = {"code": int(code), "message": message}
    if data is not None:
        error["data"] = data
    obj: dict[str, Any] = {"jsonrpc": JSONRPC_VERSION}
    if request_id is not None:
        obj["id"] = request_id
    elif null_id:
        obj["id"] = None
    obj["error"] = error
    return obj
