"""The client side of Streamable HTTP with no I/O: what to send, and what an answer means.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from . import _codec
from .sse import SSEDecoder

__all__ = [
    "ERROR_BODY_LIMIT",
    "AnswerKind",
    "PostAnswer",
    "answer_messages",
    "classify_post_answer",
    "is_response",
    "media_type",
    "summarize_error_body",
]


# ---------------------------------------------------------------- client side: what an answer means


class AnswerKind(enum.Enum):
    """What the answer to a client's POST means (see :func:`classify_post_answer`)."""

    ACCEPTED = "accepted"
    """202, or any 2xx to a notification or response: nothing more will come on it."""
    JSON = "json"
    """A 2xx ``application/json`` body answers the request."""
    SSE = "sse"
    """A 2xx ``text/event-stream`` carries the answer (and messages before it)."""
    SESSION_GONE = "session-gone"
    """404 to a request carrying ``Mcp-Session-Id``: the server no longer knows the session."""
    HTTP_ERROR = "http-error"
    """An error status whose body (JSON, plain text, or none) may say why; read a bounded
    part of it and :func:`summarize_error_body`."""
    NOT_MCP = "not-mcp"
    """Not an MCP endpoint's answer: a web page (``text/html``), or a 2xx answer to a request
    in a type MCP does not use. There is no point reading the body or waiting for more."""


_TEXT_ERROR_TYPES = frozenset({"text/plain", "application/problem+json"})


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` value: lower case, without parameters, ``""``
    when absent."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


@attrs.frozen
class PostAnswer:
    """The classification of one answer's head; :attr:`kind` says what to do with it.

    Attributes:
        kind: what the answer means.
        status: its HTTP status.
        media_type: its media type (``""`` without ``Content-Type``).
    """

    kind: AnswerKind
    status: int
    media_type: str

    def describe(self) -> str:
        """One line for an error message: ``HTTP 200 with Content-Type text/html``."""
        if not self.media_type:
            return f"HTTP {self.status} without a Content-Type"
        return f"HTTP {self.status} with Content-Type {self.media_type}"


def classify_post_answer(status: int, content_type: str | None, *, is_request: bool,
                         has_session: bool) -> PostAnswer:
    """Decide what the head of the answer to a POSTed JSON-RPC message means.

    Args:
        status: the response's status code.
        content_type: its ``Content-Type`` header (``None`` if absent).
        is_request: the POSTed message was a request (it expects a JSON-RPC response);
            otherwise a notification or a response, which a server acknowledges with 202.
        has_session: the POST carried ``Mcp-Session-Id``.

    Returns:
        the :class:`PostAnswer`. An HTML answer is never an MCP answer, whatever its status;
        nor is a 2xx answer to a request that is neither JSON nor SSE, or a 1xx/3xx final
        status (redirects are not followed).
    """
    media = media_type(content_type)
    kind: AnswerKind
    if status == 202 or (200 <= status < 300 and not is_request):
        kind = AnswerKind.ACCEPTED
    elif media == "text/html" or status < 200 or 300 <= status < 400:
        kind = AnswerKind.NOT_MCP
    elif 200 <= status < 300:
        if media == "text/event-stream":
            kind = AnswerKind.SSE
        elif _is_json(media):
            kind = AnswerKind.JSON
        else:
            kind = AnswerKind.NOT_MCP
    elif status == 404 and has_session:
        kind = AnswerKind.SESSION_GONE
    else:
        kind = AnswerKind.HTTP_ERROR
    return PostAnswer(kind, status, media)


ERROR_BODY_LIMIT = 4096
"""How much of an error answer's body is worth reading to summarise it."""


def summarize_error_body(content_type: str | None, body: bytes, limit: int = 200, *,
                         codec: _codec.Codec | None = None) -> str:
    """One line (at most ``limit`` characters) saying what an error body says, or ``""``.

    A JSON body gives its JSON-RPC ``error.message`` (or a top-level ``message`` / ``error`` /
    ``detail`` string); a plain-text body its text with whitespace collapsed; anything else
    (HTML, binary) nothing. The body may be truncated (read at most :data:`ERROR_BODY_LIMIT`).
    ``codec`` decodes JSON (default: the process default).
    """
    media = media_type(content_type)
    text = ""
    if _is_json(media) or media in _TEXT_ERROR_TYPES:
        try:
            value = (codec or _codec.DEFAULT).loads(body)
        except Exception:
            value = None
        if isinstance(value, dict):
            error = value.get("error")
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                text = error["message"]
            else:
                for key in ("message", "error", "detail", "title"):
                    if isinstance(value.get(key), str):
                        text = value[key]
                        break
        elif media == "text/plain":
            text = body.decode("utf-8", "replace")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


def is_response(message: Any) -> bool:
    """Whether a decoded JSON-RPC message (or batch) is or holds a response (an ``id`` with a
    ``result`` or an ``error``, no ``method``): an answer's SSE stream that carried one has
    done its job and is not resumed."""
    items = message if isinstance(message, list) else [message]
    return any(isinstance(m, dict) and "id" in m and "method" not in m
               and ("result" in m or "error" in m) for m in items)


def answer_messages(content_type: str | None, body: bytes, *,
                    codec: _codec.Codec | None = None) -> list[Any]:
    """The JSON-RPC messages in a whole answer body: one JSON document, or the data of each
    event of an SSE stream. What does not decode (with ``codec``, by default the process
    default) is left out."""
    loads = (codec or _codec.DEFAULT).loads
    if media_type(content_type) == "text/event-stream":
        decoder = SSEDecoder()
        datas = [event.data.encode() for event in decoder.feed(body) if event.data]
    else:
        datas = [body]
    out = []
    for data in datas:
        try:
            out.append(loads(data))
        except _codec.DecodeError:
            continue
    return out
