"""The client side of Streamable HTTP with no I/O: what to send, and what an answer means.

:class:`StreamableHTTPClient` holds the protocol state of one MCP connection over Streamable
HTTP (the endpoint, the session id the ``initialize`` answer gave, the negotiated revision,
the extra headers, the standalone GET stream, the last event id and ``retry`` of each SSE
stream, whether a 404 starts a new session) and says, in outcome objects, what to send with
which headers (:class:`HTTPRequest`), what the head of an answer means (:class:`Accepted`,
:class:`ReadJSON`, :class:`ReadSSE`, :class:`SessionExpired`, :class:`NotMCP`,
:class:`HTTPFailure`), which messages an answer's body holds and whether it is complete, when
and how to resume a dropped stream, and which local JSON-RPC error a failed exchange becomes.
It does no I/O, reads no clock and makes no randomness: the adapter opens connections, frames
HTTP/1.1 (h11), waits the delays it is told, and bounds every wait.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from . import _codec
from .errors import ErrorCode
from .frames import Frame, FrameKind
from .jsonrpc import MessageKind, classify
from .sse import SSEDecoder, SSEError
from .versions import STATELESS_VERSIONS

__all__ = [
    "DEFAULT_ANSWER_TIMEOUT",
    "DEFAULT_HEAD_TIMEOUT",
    "ERROR_BODY_LIMIT",
    "Accepted",
    "Answer",
    "AnswerKind",
    "HTTPFailure",
    "HTTPRequest",
    "NotMCP",
    "PostAnswer",
    "ReadJSON",
    "ReadSSE",
    "Reinitialized",
    "SSEData",
    "SessionExpired",
    "StreamableHTTPClient",
    "ToolSplit",
    "answer_messages",
    "classify_post_answer",
    "encode_header_value",
    "frame_of",
    "is_response",
    "media_type",
    "param_header_value",
    "refresh_tools_on",
    "split_tools",
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
    return any(classify(m) in _ANSWERS and "id" in m for m in items)


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


# ---------------------------------------------------------------- 2026-07-28: request headers

# Requests a server answers without work of its own: their answer's head gets head_timeout.
_ANSWERED_AT_ONCE = frozenset({"server/discover", "ping"})
_NAME_SOURCE = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri",
                # the tasks extension routes by the task (its specification, "Routing Headers")
                "tasks/get": "taskId", "tasks/update": "taskId", "tasks/cancel": "taskId"}
_SAFE_INTEGER = 2 ** 53 - 1


def encode_header_value(value: str) -> str:
    """The header form of a ``Mcp-Name`` / ``Mcp-Param-*`` value: the value itself when it is
    visible ASCII and spaces with no leading or trailing whitespace, else the Base64 sentinel
    form ``=?base64?...?=`` of its UTF-8 (2026-07-28, Streamable HTTP, "Value Encoding")."""
    # visible ASCII and spaces (0x20-0x7E): for ASCII text, exactly what isprintable() says
    if value.isascii() and value.isprintable() and value == value.strip(" \t"):
        return value
    return "=?base64?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def param_header_value(value: Any) -> str | None:
    """The ``Mcp-Param-*`` value mirroring an argument: booleans ``true``/``false``, integers
    (and integral floats) in decimal, strings encoded (:func:`encode_header_value`); ``None``
    (no header) for a null or absent value, another type, or an integer outside the safe
    range (2**53 - 1)."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return str(value) if abs(value) <= _SAFE_INTEGER else None
    if isinstance(value, str):
        return encode_header_value(value)
    return None


@attrs.frozen
class ToolSplit:
    """A ``tools/list`` page sorted by the validity of its ``x-mcp-header`` annotations.

    Attributes:
        kept: the tools to show (valid annotations, or none), as received.
        rejected: ``(name, problems)`` of each tool dropped (the client MUST NOT call it).
        annotations: each kept tool's annotations (header name part -> property path);
            tools without any are left out.
    """

    kept: tuple[Any, ...]
    rejected: tuple[tuple[str, tuple[str, ...]], ...]
    annotations: Mapping[str, Mapping[str, tuple[str, ...]]]


def split_tools(tools: Iterable[Any]) -> ToolSplit:
    """Drop the tools whose ``x-mcp-header`` annotations are invalid (2026-07-28: a client
    excludes them from the tools it offers and never calls them) and collect the others'
    annotations. Entries that are not objects are kept as they are (the engine's result
    validation judges them)."""
    from .http import header_annotations, validate_header_annotations  # http imports us

    kept: list[Any] = []
    rejected: list[tuple[str, tuple[str, ...]]] = []
    annotations: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for tool in tools:
        if not isinstance(tool, Mapping):
            kept.append(tool)
            continue
        name = tool.get("name")
        schema = tool.get("inputSchema")
        problems = validate_header_annotations(schema) if isinstance(schema, Mapping) else []
        if problems:
            rejected.append((str(name), tuple(problems)))
            continue
        kept.append(tool)
        if isinstance(name, str) and isinstance(schema, Mapping):
            found = header_annotations(schema)
            if found:
                annotations[name] = found
    return ToolSplit(tuple(kept), tuple(rejected), annotations)


def refresh_tools_on(code: int) -> bool:
    """Whether an error answering ``tools/call`` means the client's idea of the tool's
    ``x-mcp-header`` annotations is stale: -32020 (HeaderMismatch). The client then lists
    the tools again and retries the call once."""
    return code == ErrorCode.HEADER_MISMATCH


def _is_modern(frame: Frame) -> bool:
    return frame.protocol_version in STATELESS_VERSIONS


# ---------------------------------------------------------------- the client's protocol state

_POST_ACCEPT = "application/json, text/event-stream"
_ANSWERS = frozenset({MessageKind.RESPONSE, MessageKind.ERROR})
_SSE_ACCEPT = "text/event-stream"
_DEFAULT_RETRY_MS = 1000

DEFAULT_HEAD_TIMEOUT = 30.0
"""Seconds a server may take to send the head of an answer that comes at once: to
``initialize``, a notification, a response, a GET or the DELETE."""
DEFAULT_ANSWER_TIMEOUT = 300.0
"""Seconds a server may take to send the head of the answer to any other request (a JSON
answer's head comes with the result)."""
_MAX_RESUME_DELAY = 30.0


@attrs.frozen
class HTTPRequest:
    """One request to send: the adapter frames it (adding ``Content-Length``) and writes it.

    Attributes:
        method: ``POST``, ``GET`` or ``DELETE``.
        target: the request target (the endpoint's path and query).
        headers: the header fields, lower-case names, in order.
        body: the body (a POST's JSON-RPC message).
        delay: seconds to wait before sending it (a resumption's backoff); the adapter owns
            the clock.
        in_order: read the answer's head before sending anything else: the answer to
            ``initialize`` (its session id is needed by every later request), and to
            notifications and responses (answered at once with 202: waiting keeps them in
            order with what is sent next, over however many connections). Other requests'
            answers may be read in the background, so a long request holds nothing up.
        head_timeout: seconds the answer's head may take once the request is written
            (:meth:`head_deadline`); past it the exchange has failed (``None``: no bound).
    """

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    delay: float = 0.0
    in_order: bool = False
    head_timeout: float | None = DEFAULT_HEAD_TIMEOUT

    def head_deadline(self, now: float) -> float:
        """When the answer's head is overdue, on the caller's clock (``now``: when the
        request was written); ``inf`` without a bound."""
        return now + self.head_timeout if self.head_timeout is not None else float("inf")


@attrs.frozen
class Accepted:
    """The answer carries nothing more (202, or a 2xx to a notification or a response):
    close it. With ``open_standalone`` (the answer to ``notifications/initialized``), open
    the standalone GET stream (:meth:`StreamableHTTPClient.standalone_stream`) before sending
    anything else: a server may send requests there as soon as the session starts."""

    open_standalone: bool = False


@attrs.frozen
class ReadJSON:
    """The body is one JSON-RPC answer: read it whole and give it to
    :meth:`StreamableHTTPClient.json_body`."""


@attrs.frozen
class ReadSSE:
    """The body is an SSE stream: feed what arrives to :meth:`StreamableHTTPClient.sse_data`
    with this ``stream``; when it ends or breaks, ask :meth:`StreamableHTTPClient.resume`."""

    stream: int


@attrs.frozen
class SessionExpired:
    """404 for our ``Mcp-Session-Id``: the server no longer knows the session.

    Attributes:
        session_id: the session that is gone.
        reinitialize: start a new one (:meth:`StreamableHTTPClient.begin_reinitialize`) and
            send the message again; when False, the connection has failed with ``message``.
        message: one line saying so.
    """

    session_id: str
    reinitialize: bool
    message: str


@attrs.frozen
class NotMCP:
    """Not an MCP endpoint's answer (a web page, a 2xx that is neither JSON nor SSE, a 1xx or
    3xx): do not read the body.

    Attributes:
        answer: the classification of the head.
        message: one line (``not an MCP endpoint: HTTP 200 with Content-Type text/html from
            URL``).
        answer_locally: the message was a request after the handshake: it gets
            :meth:`StreamableHTTPClient.error_for` as its answer; when False the connection
            has failed.
    """

    answer: PostAnswer
    message: str
    answer_locally: bool


@attrs.frozen
class HTTPFailure:
    """An HTTP error status: read at most ``read_limit`` bytes of the body, then either
    answer the request locally (``answer_locally``:
    :meth:`StreamableHTTPClient.error_for`) or fail the connection with
    :meth:`StreamableHTTPClient.failure_message`."""

    status: int
    content_type: str | None
    answer_locally: bool
    read_limit: int = ERROR_BODY_LIMIT


@attrs.frozen
class Reinitialized:
    """A new session replaced the one that expired; send ``initialized`` (the replayed
    ``notifications/initialized``, if this connection sent one), then the message again."""

    initialized: HTTPRequest | None


@attrs.frozen
class SSEData:
    """What a piece of an SSE stream held.

    Attributes:
        messages: the JSON-RPC messages to deliver, in order (one JSON text each).
        complete: the stream has carried the response it was opened for: it is not resumed.
        broken: the stream broke a limit of the decoder: close it (resuming would meet the
            same); deliver ``failure`` if it is not ``None``.
        failure: the local JSON-RPC error answering the request whose stream broke.
    """

    messages: tuple[bytes, ...]
    complete: bool
    broken: bool = False
    failure: bytes | None = None


Answer = Accepted | ReadJSON | ReadSSE | SessionExpired | NotMCP | HTTPFailure


@attrs.define
class _Stream:
    frame: Frame | None  # the request whose answer it carries; None for the standalone one
    decoder: SSEDecoder = attrs.Factory(SSEDecoder)
    complete: bool = False
    attempts: int = 0


def frame_of(data: bytes, *, codec: _codec.Codec | None = None) -> Frame:
    """What one JSON-RPC message handed over as bytes is, as a :class:`~sansio.frames.Frame`
    (decoded: for bytes that did not come from ``Connection.frames_to_send()``, which says it
    in fields). What does not decode, or is an array, is a ``BATCH``."""
    try:
        msg = (codec or _codec.DEFAULT).loads(data)
    except _codec.DecodeError:
        msg = None
    if isinstance(msg, dict) and isinstance(msg.get("method"), str):
        kind = FrameKind.REQUEST if "id" in msg else FrameKind.NOTIFICATION
        return Frame(kind, data, msg.get("id"), None, msg["method"])
    if isinstance(msg, dict):
        kind = FrameKind.ERROR if "error" in msg else FrameKind.RESPONSE
        return Frame(kind, data, msg.get("id"))
    return Frame(FrameKind.BATCH, data)


class StreamableHTTPClient:
    """The client side of one MCP connection over Streamable HTTP, with no I/O.

    It says what to send (:meth:`request_for`, :meth:`standalone_stream`, :meth:`resume`,
    :meth:`terminate`: :class:`HTTPRequest` s with every header MCP needs: ``Accept``,
    ``Content-Type``, ``Mcp-Session-Id`` once the ``initialize`` answer gave one,
    ``MCP-Protocol-Version`` once it is negotiated, the extra headers) and what each answer
    means (:meth:`answer`, :meth:`json_body`, :meth:`sse_data`), keeping the state that
    needs: the session id, the negotiated revision, the last event id and ``retry`` of each
    SSE stream and its reconnection attempts, the standalone stream, the ``initialize`` and
    ``initialized`` messages to replay when a 404 starts a new session.

    Args:
        url: the MCP endpoint, ``http://`` or ``https://``.
        headers: extra headers on every request (``Authorization``...).
        reinitialize: on a 404 for our session, start a new one (replaying the handshake this
            connection carried) and send the message again, rather than fail.
        max_reconnects: resumption attempts for one dropped SSE stream (the count restarts
            with each event that arrives).
        codec: the JSON codec (default: the process default).
        user_agent: the ``User-Agent`` header.
        head_timeout: :attr:`HTTPRequest.head_timeout` of what is answered at once
            (``initialize``, notifications, responses, GETs, the DELETE);
            :data:`DEFAULT_HEAD_TIMEOUT` by default, ``None`` for no bound.
        answer_timeout: :attr:`HTTPRequest.head_timeout` of the other requests
            (:data:`DEFAULT_ANSWER_TIMEOUT`; ``None`` for no bound).

    Raises:
        ValueError: ``url`` is not an http(s) URL with a host.
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 reinitialize: bool = False, max_reconnects: int = 5,
                 codec: _codec.Codec | None = None, user_agent: str = "trio-mcp",
                 head_timeout: float | None = DEFAULT_HEAD_TIMEOUT,
                 answer_timeout: float | None = DEFAULT_ANSWER_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host_header = parts.netloc.rsplit("@", 1)[-1]
        self.extra_headers = tuple((k.lower(), v) for k, v in (headers or {}).items())
        self.user_agent = user_agent
        self.codec = codec if codec is not None else _codec.DEFAULT
        self.reinitialize_allowed = reinitialize
        self.max_reconnects = max_reconnects
        self.head_timeout = head_timeout
        self.answer_timeout = answer_timeout
        #: The session id the server gave (``Mcp-Session-Id``), ``None`` before (or without).
        self.session_id: str | None = None
        #: The revision the ``initialize`` answer named, sent as ``MCP-Protocol-Version``.
        self.protocol_version: str | None = None
        #: How many times a new session replaced one that expired.
        self.reinitialized = 0
        #: Whether the standalone GET stream was asked for, and how it was answered
        #: (``None`` before its answer, then True: open, False: refused).
        self.standalone_requested = False
        self.standalone_open: bool | None = None
        #: Set by :meth:`terminate`: nothing is resumed any more.
        self.closed = False
        self._init: bytes | None = None
        self._init_id: tuple[type, Any] | None = None  # the initialize request's id, typed
        self._initialized: bytes | None = None
        self._streams: dict[int, _Stream] = {}
        self._lost: dict[int, bytes] = {}  # given-up streams' errors, until taken by lost()
        self._next_stream = 0
        #: The last ``retry`` (milliseconds) any SSE stream of this connection set: the
        #: server's own reconnection time, honoured when the whole connection is replaced.
        self.retry_ms: int | None = None
        # Streams given up before they were complete (lost answers, a lost standalone
        # stream): :meth:`take_lost` tells the transport, which may fail the connection.
        self._lost_streams: set[int] = set()
        #: (2026-07-28) each tool's ``x-mcp-header`` annotations, learnt from ``tools/list``
        #: (:meth:`declare_tools`): the ``Mcp-Param-*`` headers of its ``tools/call``.
        self.tool_headers: dict[str, Mapping[str, tuple[str, ...]]] = {}

    # -- requests

    def declare_tools(self, annotations: Mapping[str, Mapping[str, tuple[str, ...]]], *,
                      replace: bool = False) -> None:
        """Remember tools' ``x-mcp-header`` annotations (:attr:`ToolSplit.annotations` of a
        ``tools/list`` page); ``replace`` forgets the ones known before (a fresh listing)."""
        if replace:
            self.tool_headers.clear()
        self.tool_headers.update(annotations)

    def headers(self, accept: str, extra: Mapping[str, str] | None = None, *,
                modern: bool = False) -> tuple[tuple[str, str], ...]:
        """The header fields of a request now: ``Host``, ``Accept``, ``User-Agent``, the
        session and revision headers when known (``modern``: none, the 2026-07-28 request
        carries its own), the extra headers, then ``extra``."""
        headers = [("host", self.host_header), ("accept", accept),
                   ("user-agent", self.user_agent)]
        if self.session_id is not None and not modern:
            headers.append(("mcp-session-id", self.session_id))
        if self.protocol_version is not None and not modern:
            headers.append(("mcp-protocol-version", self.protocol_version))
        headers.extend(self.extra_headers)
        headers.extend((extra or {}).items())
        return tuple(headers)

    def _post(self, body: bytes, in_order: bool = True) -> HTTPRequest:
        return HTTPRequest("POST", self.target, self.headers(
            _POST_ACCEPT, {"content-type": "application/json"}), body, in_order=in_order,
            head_timeout=self._head_timeout(in_order))

    def _head_timeout(self, in_order: bool) -> float | None:
        return self.head_timeout if in_order else self.answer_timeout

    def request_for(self, frame: Frame) -> HTTPRequest:
        """The POST carrying ``frame`` (see :attr:`HTTPRequest.in_order`). An ``initialize``
        request and the ``notifications/initialized`` are remembered (a new session replays
        them)."""
        body = frame.data.rstrip(b"\n")
        if frame.method == "initialize" and frame.kind is FrameKind.REQUEST:
            self._init = body
            self._init_id = (type(frame.request_id), frame.request_id)
        elif frame.method == "notifications/initialized" and \
                frame.kind is FrameKind.NOTIFICATION:
            self._initialized = body
        if _is_modern(frame):
            return HTTPRequest("POST", self.target, self.headers(
                _POST_ACCEPT, self.modern_headers(frame), modern=True), body,
                in_order=frame.kind is not FrameKind.REQUEST,
                head_timeout=self._head_timeout(frame.kind is not FrameKind.REQUEST
                                                or frame.method in _ANSWERED_AT_ONCE))
        return self._post(body, frame.kind is not FrameKind.REQUEST
                          or frame.method == "initialize")

    def modern_headers(self, frame: Frame) -> dict[str, str]:
        """(2026-07-28) The headers a POST of ``frame`` carries besides the usual ones:
        ``Content-Type``, ``MCP-Protocol-Version`` (the frame's revision), ``Mcp-Method``,
        ``Mcp-Name`` (``params.name`` of ``tools/call`` and ``prompts/get``, ``params.uri``
        of ``resources/read``, ``params.taskId`` of ``tasks/get``, ``tasks/update`` and
        ``tasks/cancel``) and, for ``tools/call``, one ``Mcp-Param-{Name}`` per
        annotated argument present and not null (:attr:`tool_headers`)."""
        out = {"content-type": "application/json"}
        if frame.protocol_version is not None:
            out["mcp-protocol-version"] = frame.protocol_version
        if frame.method is None or frame.kind is not FrameKind.REQUEST:
            if frame.method is not None:
                out["mcp-method"] = frame.method
            return out
        out["mcp-method"] = frame.method
        source = _NAME_SOURCE.get(frame.method)
        if source is None:
            return out
        params = frame.params  # what the engine encoded, as it said it: never decoded here
        if not isinstance(params, Mapping):
            return out
        name = params.get(source)
        if isinstance(name, str):
            out["mcp-name"] = encode_header_value(name)
        annotations = self.tool_headers.get(name) if frame.method == "tools/call" and \
            isinstance(name, str) else None
        if annotations:
            arguments = params.get("arguments")
            for part, path in annotations.items():
                value: Any = arguments
                for key in path:
                    value = value.get(key) if isinstance(value, Mapping) else None
                header = param_header_value(value)
                if header is not None:
                    out[f"mcp-param-{part.lower()}"] = header
        return out

    def cancelled_request(self, frame: Frame) -> Any:
        """(2026-07-28) For a ``notifications/cancelled`` frame of the stateless era, the id of
        the request it cancels: over Streamable HTTP that cancellation is closing the
        request's response stream, and nothing is POSTed. ``None`` for any other frame (send
        it as usual)."""
        if frame.kind is not FrameKind.NOTIFICATION or \
                frame.method != "notifications/cancelled" or not _is_modern(frame):
            return None
        params = frame.params
        return params.get("requestId") if isinstance(params, Mapping) else None

    def terminate(self) -> HTTPRequest | None:
        """The connection ends: the DELETE that ends the session (``None`` without one).
        Nothing is resumed after this."""
        self.closed = True
        if self.session_id is None:
            return None
        return HTTPRequest("DELETE", self.target, self.headers("application/json"),
                           head_timeout=self.head_timeout)

    # -- answers

    def answer(self, frame: Frame, status: int, headers: Mapping[str, str], *,
               retried: bool = False) -> Answer:
        """What the head of the answer to the POST of ``frame`` means.

        A ``Mcp-Session-Id`` in ``headers`` (lower-case names) becomes the session id.

        Args:
            retried: the POST was already sent again after a new session replaced an expired
                one (a second 404 is not retried).
        """
        sid = headers.get("mcp-session-id")
        if sid and not _is_modern(frame):  # 2026-07-28 has no sessions
            self.session_id = sid
        if frame.method == "initialize" and frame.kind is FrameKind.REQUEST:
            self._init_id = (type(frame.request_id), frame.request_id)
        ctype = headers.get("content-type")
        is_request = frame.kind is FrameKind.REQUEST
        answer = classify_post_answer(status, ctype, is_request=is_request,
                                      has_session=self.session_id is not None)
        kind = answer.kind
        if kind is AnswerKind.ACCEPTED:
            return Accepted(frame.kind is FrameKind.NOTIFICATION
                            and frame.method == "notifications/initialized")
        if kind is AnswerKind.SESSION_GONE:
            assert self.session_id is not None
            return SessionExpired(self.session_id, self.reinitialize_allowed and not retried,
                                  self._gone(self.session_id))
        if kind is AnswerKind.NOT_MCP:
            return NotMCP(answer, f"not an MCP endpoint: {answer.describe()} from {self.url}",
                          is_request and frame.method != "initialize")
        if kind is AnswerKind.HTTP_ERROR:
            return HTTPFailure(status, ctype, is_request)
        if kind is AnswerKind.SSE:
            return ReadSSE(self._open_stream(frame))
        return ReadJSON()

    def _gone(self, session_id: str) -> str:
        return f"the server no longer knows session {session_id} (HTTP 404)"

    def failure_message(self, status: int, body: bytes = b"", content_type: str | None = None
                        ) -> str:
        """The one line an HTTP error that fails the connection says (``HTTP 500 from URL:
        summary``)."""
        summary = summarize_error_body(content_type, body, codec=self.codec)
        return f"HTTP {status} from {self.url}" + (f": {summary}" if summary else "")

    def error_for(self, frame: Frame, status: int, body: bytes = b"",
                  content_type: str | None = None, *, message: str | None = None
                  ) -> bytes | None:
        """The local JSON-RPC error answering request ``frame`` whose HTTP exchange failed
        (``status`` 0 when no answer came), as one JSON text; ``None`` when ``frame`` is not a
        request (nothing awaits an answer).

        Its message is one line: ``message``, or ``HTTP <status>`` and a summary of the error
        ``body``, whose JSON-RPC error code is kept (else -32603); ``data.httpStatus`` is
        ``status``.
        """
        if frame.kind is not FrameKind.REQUEST:
            return None
        if message is None and _is_modern(frame) and body:
            # 2026-07-28 answers its errors (-32022, -32020, -32601...) with an HTTP error
            # status and the JSON-RPC error as the body: that error is the answer, data and all.
            try:
                answer = self.codec.loads(body)
            except _codec.DecodeError:
                answer = None
            if isinstance(answer, dict) and isinstance(answer.get("error"), dict) and \
                    isinstance(answer["error"].get("code"), int) and \
                    answer.get("id") == frame.request_id:
                return self.codec.dumps(answer)
        code = -32603
        if message is None:
            message = f"HTTP {status}" if status else "HTTP request failed"
            summary = summarize_error_body(content_type, body, codec=self.codec)
            if summary:
                message += f": {summary}"
            try:
                error = self.codec.loads(body).get("error")
                code = int(error["code"])
            except Exception:
                pass
        reply = {"jsonrpc": "2.0", "id": frame.request_id, "error": {
            "code": code, "message": message, "data": {"httpStatus": status}}}
        return self.codec.dumps(reply)

    def _message(self, data: bytes, want_response: bool) -> tuple[bytes | None, bool]:
        """One message to deliver (``None`` if blank) and whether it is or holds a response
        (only looked at with ``want_response``); the negotiated revision is taken from the
        result answering ``initialize`` (by its id)."""
        data = data.strip()
        if not data:
            return None, False
        if (self.protocol_version is None and self._init_id is not None) or want_response:
            try:
                obj = self.codec.loads(data)
            except _codec.DecodeError:
                return data, False
            if (self.protocol_version is None and isinstance(obj, dict)
                    and self._init_id is not None and "id" in obj
                    and (type(obj["id"]), obj["id"]) == self._init_id):
                result = obj.get("result")
                version = result.get("protocolVersion") if isinstance(result, dict) else None
                if isinstance(version, str):
                    self.protocol_version = version
            return data, want_response and is_response(obj)
        return data, False

    def json_body(self, body: bytes) -> tuple[bytes, ...]:
        """The messages to deliver from a whole JSON answer (:class:`ReadJSON`)."""
        data, _ = self._message(body, False)
        return () if data is None else (data,)

    # -- SSE streams

    def _open_stream(self, frame: Frame | None) -> int:
        self._next_stream += 1
        self._streams[self._next_stream] = _Stream(frame)
        return self._next_stream

    @property
    def streams(self) -> tuple[int, ...]:
        """The SSE streams still being read or to be resumed (a stream is forgotten once
        :meth:`resume` or :meth:`resume_answer` gives it up, or it breaks a limit)."""
        return tuple(self._streams)

    def sse_data(self, stream: int, data: bytes) -> SSEData:
        """Feed a piece of SSE stream ``stream``'s body; what it held. Each event restarts the
        stream's reconnection count and records its id and ``retry``. The stream is complete
        once a message of it is (or holds) a response: decided by the parsed message."""
        st = self._streams.get(stream)
        if st is None:
            return SSEData((), True)
        try:
            events = st.decoder.feed(data)
        except SSEError as exc:
            del self._streams[stream]
            failure = None
            if not st.complete and st.frame is not None:
                failure = self.error_for(st.frame, 200, message=f"the SSE answer from "
                                         f"{self.url} broke a limit: {exc}")
            return SSEData((), st.complete, True, failure)
        out = []
        if st.decoder.retry is not None:
            self.retry_ms = st.decoder.retry
        for event in events:
            if event.data:
                # Only a message restarts the reconnection count: a server that primes and
                # then ends every stream (a graceful idle close) cannot be resumed forever.
                st.attempts = 0
                message, holds = self._message(event.data.encode(), not st.complete)
                if message is not None:
                    out.append(message)
                st.complete = st.complete or holds
        return SSEData(tuple(out), st.complete)

    def resume(self, stream: int) -> HTTPRequest | None:
        """Stream ``stream`` ended or broke: the GET resuming it (``Last-Event-ID``, after
        ``delay``: the server's ``retry``, 1 s without one, times the attempt, at most 30 s),
        or ``None`` (it is forgotten) when it is complete, the connection is closing, it gave
        no event id, or ``max_reconnects`` attempts in a row failed (only a message restarts
        the count). The standalone stream, which carries no answer, is opened again without
        ``Last-Event-ID`` when it gave no event id. A stream forgotten before it was complete
        is reported once by :meth:`take_lost`."""
        st = self._streams.get(stream)
        if st is None:
            return None
        last = st.decoder.last_event_id
        st.attempts += 1
        standalone = st.frame is None
        if st.complete or self.closed or (last is None and not standalone) or \
                st.attempts > self.max_reconnects:
            del self._streams[stream]
            if not st.complete and not self.closed:
                self._lost_streams.add(stream)
            if last is None:
                why = "it gave no event id to resume from"
            else:
                why = f"{self.max_reconnects} attempts to resume it failed"
            self._give_up(st, stream, why)
            return None
        retry = st.decoder.retry if st.decoder.retry is not None else _DEFAULT_RETRY_MS
        extra = {"last-event-id": last} if last is not None else None
        return HTTPRequest("GET", self.target, self.headers(_SSE_ACCEPT, extra),
                           delay=min(retry / 1000 * st.attempts, _MAX_RESUME_DELAY),
                           head_timeout=self.head_timeout)

    def take_lost(self, stream: int) -> bool:
        """Whether stream ``stream`` was given up before it was complete (an answer that
        will never come, or the standalone stream gone); each stream is reported once."""
        if stream in self._lost_streams:
            self._lost_streams.discard(stream)
            return True
        return False

    def resume_answer(self, stream: int, status: int) -> bool:
        """Whether the answer to a resuming GET continues stream ``stream`` (200); if not,
        the stream is given up (forgotten)."""
        if status == 200 and stream in self._streams:
            return True
        st = self._streams.pop(stream, None)
        if st is not None:
            if not st.complete and not self.closed:
                self._lost_streams.add(stream)
            self._give_up(st, stream, f"resuming it was refused (HTTP {status})")
        return False

    def resume_failed(self, stream: int, reason: str) -> None:
        """A resuming GET of stream ``stream`` could not even connect (``reason``: one line,
        ``connection refused``): the server is gone, so the stream is given up at once
        rather than retried (:meth:`lost` then holds its request's error)."""
        st = self._streams.pop(stream, None)
        if st is not None:
            if not st.complete and not self.closed:
                self._lost_streams.add(stream)
            self._give_up(st, stream, f"resuming it failed: {reason}")

    def _give_up(self, st: _Stream, stream: int, why: str) -> None:
        if self.closed or st.complete or st.frame is None:
            return
        error = self.error_for(st.frame, 0, message=f"the answer's stream from {self.url} "
                               f"ended before the response and {why}")
        if error is not None:
            self._lost[stream] = error

    def lost(self, stream: int) -> bytes | None:
        """The local JSON-RPC error answering the request whose SSE stream ``stream`` was
        given up before it carried the response (:meth:`resume` returned ``None``,
        :meth:`resume_answer` False, or :meth:`resume_failed`), as one JSON text, once;
        ``None`` when the stream was complete, is the standalone one, or the connection is
        closing. Deliver it: without it the request would wait for an answer that never
        comes."""
        return self._lost.pop(stream, None)

    def standalone_stream(self) -> HTTPRequest | None:
        """The GET opening the standalone stream (server-to-client messages outside any
        request), once: ``None`` when it was already asked for."""
        if self.standalone_requested:
            return None
        self.standalone_requested = True
        return HTTPRequest("GET", self.target, self.headers(_SSE_ACCEPT),
                           head_timeout=self.head_timeout)

    def standalone_answer(self, status: int) -> ReadSSE | None:
        """What the answer to the standalone GET means: 200 opens it (read it as
        :class:`ReadSSE`; it is resumed when dropped); anything else (405: the server offers
        none) means there is none."""
        self.standalone_open = status == 200
        return ReadSSE(self._open_stream(None)) if status == 200 else None

    # -- a new session after a 404

    def begin_reinitialize(self, stale: str) -> HTTPRequest | SessionExpired | None:
        """Start a new session in place of ``stale``: the replayed ``initialize`` POST
        (sent without a session id), ``None`` when the session is no longer ``stale``
        (another exchange already replaced it), or :class:`SessionExpired` (not to be
        retried) when this connection sent no ``initialize`` to replay."""
        if self.session_id != stale:
            return None
        if self._init is None:
            return SessionExpired(stale, False, self._gone(stale))
        self.session_id = None
        return self._post(self._init)

    def reinitialize_answer(self, stale: str, status: int, headers: Mapping[str, str],
                            body: bytes) -> Reinitialized | SessionExpired:
        """The whole answer to the replayed ``initialize``: 200 with a session id and a
        result starts the new session (counted in :attr:`reinitialized`); anything else is a
        :class:`SessionExpired` not to be retried."""
        sid = headers.get("mcp-session-id")
        answers = answer_messages(headers.get("content-type"), body, codec=self.codec)
        if status != 200 or not sid or not any(
                isinstance(m, dict) and "result" in m for m in answers):
            return SessionExpired(stale, False, f"session {stale} expired (HTTP 404) and a "
                                  f"new one could not be started (HTTP {status})")
        self.session_id = sid
        self.reinitialized += 1
        return Reinitialized(None if self._initialized is None else
                             self._post(self._initialized))
