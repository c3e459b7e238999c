"""Streamable HTTP with no I/O: the rules of the MCP endpoint, and what a client makes of
its answers.

Two layers, both sans-IO:

- :class:`HTTPServerConnection` wraps one :class:`h11.Connection` (one TCP connection): feed it
  bytes, take whole requests (head and body, with head and body limits: 431 and 413, after
  which the rest of the refused request is read and thrown away, bounded) out, and turn
  responses, SSE streams and their events into bytes. Keep-alive and pipelining are h11's.
- :class:`StreamableHTTPServer` holds the MCP endpoint's rules for all sessions: which status a
  request gets (``Accept``, ``Content-Type``, ``Origin``/``Host``, ``Mcp-Session-Id``,
  ``MCP-Protocol-Version``, body size, method), which session a message belongs to, which
  stream an outgoing message goes on (:meth:`StreamableHTTPServer.route`), SSE event ids that
  encode their stream, priming events, ``retry``, and ``Last-Event-ID`` resumption from an
  :class:`EventStore`.

The client side (:class:`~sansio.http_client.StreamableHTTPClient`, and the helpers
:func:`classify_post_answer`, :func:`summarize_error_body`, :func:`answer_messages`,
:func:`is_response`, re-exported here) lives in :mod:`sansio.http_client`.

The adapter supplies what the core has no business owning: fresh session ids (cryptographically
random, from a callable) and the sockets. There is no module-level state: the validated head
events are cached in a :class:`HeadCache` owned by a :class:`StreamableHTTPServer` (shared by
the connections it makes) or by a client, and the JSON codec is each object's (``codec=``).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports
"""

from __future__ import annotations

import base64
import binascii
import collections
import decimal
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import attrs
import h11

from . import _codec, _h1
from ._codec import Codec
from ._requests import progress_token_of
from .connection import DEFAULT_MAX_DEPTH
from .frames import Frame, FrameKind
from .http_client import (
    ERROR_BODY_LIMIT,
    AnswerKind,
    PostAnswer,
    answer_messages,
    classify_post_answer,
    is_response,
    media_type,
    summarize_error_body,
)
from .jsonrpc import MessageKind, batch_refusal, classify, is_request_id, too_deep
from .sse import encode_event
from .tasks import EXTENSION_REQUESTS as TASK_REQUESTS
from .tasks import NAME_SOURCE as TASK_NAME_SOURCE
from .types import CLIENT_REQUESTS
from .versions import (
    HANDSHAKE_VERSIONS,
    META_PROTOCOL_VERSION,
    STATELESS_VERSIONS,
    SUPPORTED_VERSIONS,
    negotiate,
    null_id,
    read_request_meta,
)

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_EVENT_STORE_BYTES",
    "DEFAULT_EVENT_STORE_MAX_AGE",
    "DEFAULT_EVENT_STORE_MAX_EVENTS",
    "DEFAULT_EVENT_STORE_SESSION_BYTES",
    "DEFAULT_MAX_SESSIONS",
    "ERROR_BODY_LIMIT",
    "SHARED_SESSIONS",
    "Accept",
    "AnswerKind",
    "Codec",
    "CompleteRequest",
    "EventStore",
    "HTTPServerConnection",
    "HeadCache",
    "HeaderAnnotations",
    "InMemoryEventStore",
    "Listen",
    "OpenStream",
    "PostAnswer",
    "Reject",
    "StreamClosed",
    "StreamEvent",
    "StreamableHTTPServer",
    "Terminate",
    "answer_messages",
    "classify_post_answer",
    "decode_header_value",
    "header_annotations",
    "is_response",
    "media_type",
    "summarize_error_body",
    "validate_header_annotations",
]

#: Host names accepted by default (loopback): with or without a port.
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")

_SSE_HEADERS = [("content-type", "text/event-stream"), ("cache-control", "no-cache"),
                ("x-accel-buffering", "no")]
_SSE_TUPLE = tuple(_SSE_HEADERS)
_JSON = ("content-type", "application/json")
#: 2026-07-28 requests whose answer stream stays open (until the client closes it).
_LONG_LIVED = frozenset({"subscriptions/listen"})
#: The key of the first session that serves 2026-07-28 requests (NUL: never an
#: Mcp-Session-Id); the others are it with "/N" after it (see SHARED_SESSIONS).
_SHARED_ID = "\x00modern"

SHARED_SESSIONS = 8
"""How many long-lived sessions serve 2026-07-28 requests (see
:attr:`StreamableHTTPServer.shared_session_ids`): a request goes to the first whose engine
has no request with its id or progress token in flight, so that clients that all number
their requests from 1 share them; one that collides in every one is served alone."""

_SHARED_IDS = (_SHARED_ID, *(f"{_SHARED_ID}/{n}" for n in range(1, SHARED_SESSIONS)))
_SHARED_SET = frozenset(_SHARED_IDS)
_KEEPALIVE = b": keepalive\n\n"
#: 2026-07-28: the HTTP status of an error answer ("If the server does not implement the
#: requested RPC method, it MUST respond with 404 Not Found"; header mismatch, an unsupported
#: version and a missing client capability are 400 Bad Request).
_ERROR_STATUS = {-32601: 404, -32020: 400, -32021: 400, -32022: 400}
_LEGACY_DEFAULT_VERSION = "2025-03-26"


# ---------------------------------------------------------------- one HTTP connection

_CACHED_FIELDS_MAX = 4096  # bytes of fields: a received head larger than this is not cached


class HeadCache:
    """Validated h11 head events, made once per distinct head, for one owner.

    h11 validates every header of a new head event with regular expressions: the largest cost
    of a small exchange. The heads of one session repeat exactly, and events are immutable, so
    each distinct head is made once and serves every connection of its owner (a
    :class:`StreamableHTTPServer` shares its cache with the connections it makes; a client
    transport has its own).

    A server's received heads repeat too: their fields are decoded to text once per distinct
    set (:meth:`received`).

    Args:
        max_heads: how many of each kind (request heads, response heads, received fields) are
            kept; when full, that kind's cache is emptied and refilled.
    """

    def __init__(self, max_heads: int = 256) -> None:
        self.max_heads = max_heads
        self._responses: dict[tuple[int, tuple[tuple[str, str], ...]], h11.Response] = {}
        self._requests: dict[tuple[str, str, tuple[tuple[str, str], ...]], h11.Request] = {}
        self._received: dict[tuple[tuple[bytes, bytes], ...],
                             tuple[tuple[tuple[str, str], ...], int | None]] = {}
        # The fast path (:mod:`sansio._h1`): judgements of received heads by their bytes,
        # and written heads without their Content-Length (None: not simple, h11's).
        self._fast_requests: dict[bytes, _h1.RequestHead | None] = {}
        self._fast_responses: dict[bytes, _h1.ResponseHead | None] = {}
        self._written: dict[tuple[Any, ...], bytes | None] = {}

    def __len__(self) -> int:
        return len(self._responses) + len(self._requests)

    def response(self, status: int, headers: tuple[tuple[str, str], ...]) -> h11.Response:
        """The ``h11.Response`` for ``status`` and ``headers``.

        Raises:
            h11.LocalProtocolError: a header h11 refuses.
        """
        key = (status, headers)
        event = self._responses.get(key)
        if event is None:
            if len(self._responses) >= self.max_heads:
                self._responses.clear()
            event = self._responses[key] = h11.Response(
                status_code=status, headers=list(headers), reason=_reason(status))
        return event

    def received(self, raw: list[tuple[bytes, bytes]]
                 ) -> tuple[tuple[tuple[str, str], ...], int | None]:
        """A received head's fields (``h11.Headers.raw_items()``) as ``(name, value)`` text,
        names lowercased, and its Content-Length (``None``: absent or not a number); decoded
        once per distinct set of fields, the way :meth:`response` makes events once (sets
        of more than 4 KiB are decoded each time: a peer's heads never hold more than
        ``max_heads`` times that)."""
        key = tuple(raw)
        got = self._received.get(key)
        if got is None:
            if len(self._received) >= self.max_heads:
                self._received.clear()
            headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw)
            length = next((_int_or_none(v) for k, v in headers if k == "content-length"),
                          None)
            got = (headers, length)
            if sum(len(k) + len(v) for k, v in raw) <= _CACHED_FIELDS_MAX:
                self._received[key] = got  # a peer's large heads are not kept
        return got

    def received_request(self, head: bytes) -> _h1.RequestHead | None:
        """What h11 makes of the request head ``head`` (its bytes, blank line included), if it
        is simple (:func:`sansio._h1.judge_request`); ``None``: give the bytes to h11. Judged
        once per distinct head (heads over :data:`~sansio._h1.MAX_CACHED_HEAD` bytes are
        never judged: always ``None``)."""
        try:
            return self._fast_requests[head]
        except KeyError:
            if len(head) > _h1.MAX_CACHED_HEAD:
                return None
            if len(self._fast_requests) >= self.max_heads:
                self._fast_requests.clear()
            got = self._fast_requests[head] = _h1.judge_request(head)
            return got

    def received_response(self, head: bytes) -> _h1.ResponseHead | None:
        """What h11 makes of the response head ``head``, if simple
        (:func:`sansio._h1.judge_response`); ``None``: give the bytes to h11."""
        try:
            return self._fast_responses[head]
        except KeyError:
            if len(head) > _h1.MAX_CACHED_HEAD:
                return None
            if len(self._fast_responses) >= self.max_heads:
                self._fast_responses.clear()
            answer = self._fast_responses[head] = _h1.judge_response(head)
            return answer

    def response_bytes(self, status: int, headers: tuple[tuple[str, str], ...], length: int
                       ) -> bytes | None:
        """The bytes h11 writes for a simple response head with ``headers`` and a
        ``Content-Length`` of ``length`` after them, to a simple request; ``None`` if the
        head is not simple (or h11 refuses it: its error comes from h11's own path)."""
        key = (status, headers)
        prefix: bytes | None
        try:
            prefix = self._written[key]
        except KeyError:
            try:
                event = h11.Response(status_code=status, reason=_reason(status),
                                     headers=[*headers, ("content-length", "0")])
            except h11.LocalProtocolError:
                prefix = None
            else:
                prefix = _strip_length(_h1.write_response_head(event))
            if len(self._written) >= self.max_heads:
                self._written.clear()
            self._written[key] = prefix
        if prefix is None:
            return None
        return b"%scontent-length: %d\r\n\r\n" % (prefix, length)

    def request_bytes(self, method: str, target: str, headers: tuple[tuple[str, str], ...]
                      ) -> bytes | None:
        """The bytes h11 writes for a simple request head (:func:`sansio._h1.write_request_head`)
        whose last field is its ``Content-Length`` (or that has none); ``None``: not simple,
        or h11 refuses it (send it through h11)."""
        length = headers[-1][1] if headers and headers[-1][0] == "content-length" else None
        key = (method, target, headers[:-1] if length is not None else headers)
        prefix: bytes | None
        try:
            prefix = self._written[key]
        except KeyError:
            fields = [*key[2], ("content-length", "0")] if length is not None else [*key[2]]
            try:
                event = h11.Request(method=method, target=target, headers=fields)
            except h11.LocalProtocolError:
                prefix = None
            else:
                out = _h1.write_request_head(event)
                prefix = out if length is None else _strip_length(out)
            if len(self._written) >= self.max_heads:
                self._written.clear()
            self._written[key] = prefix
        if prefix is None:
            return None
        if length is None:
            return prefix
        return b"%scontent-length: %s\r\n\r\n" % (prefix, length.encode("ascii"))

    def request(self, method: str, target: str, headers: tuple[tuple[str, str], ...]
                ) -> h11.Request:
        """The ``h11.Request`` for a request head.

        Raises:
            h11.LocalProtocolError: a header or target h11 refuses.
        """
        key = (method, target, headers)
        event = self._requests.get(key)
        if event is None:
            if len(self._requests) >= self.max_heads:
                self._requests.clear()
            event = self._requests[key] = h11.Request(method=method, target=target,
                                                      headers=list(headers))
        return event


_LENGTH_ZERO: Final = b"content-length: 0\r\n\r\n"


def _strip_length(head: bytes | None) -> bytes | None:
    """``head`` (ending in a zero Content-Length field and the blank line) without them."""
    if head is None or not head.endswith(_LENGTH_ZERO):
        return None  # pragma: no cover - h11 writes the fields in the order given
    return head[:-len(_LENGTH_ZERO)]


@attrs.frozen
class CompleteRequest:
    """A whole HTTP request: its head and its body."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    #: ``headers`` by name, repeated fields comma-joined: made from them unless given (the
    #: fast path gives the one it made for this head once; it is never changed).
    _index: dict[str, str] | None = attrs.field(default=None, eq=False, repr=False,
                                                kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self._index is None:
            object.__setattr__(self, "_index", _h1.header_index(self.headers))

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (lower case), comma-joined if repeated."""
        return self._index.get(name)  # type: ignore[union-attr]  # set in __attrs_post_init__


class HTTPServerConnection:
    """One server-side HTTP/1.1 connection (h11), collecting whole requests.

    The common exchange (a simple keep-alive request framed by ``Content-Length``, answered by
    :meth:`response`) takes a path cheaper than h11's (:mod:`sansio._h1`: heads h11 has
    already judged, recognised by their bytes); h11 stays the authority for everything else,
    and is given the bytes of the request in hand (:meth:`_to_h11`) the moment anything is
    not that exchange (a streamed answer, an error answer, a head or body it must judge), so
    it then acts exactly as it would have from the start.

    Args:
        max_body: the largest request body accepted; a larger one is answered 413 by
            :meth:`next_request` (which returns the ready response bytes as ``bytes``).
        max_header: the largest request head (request line and header fields) accepted; a
            larger one is answered 431. At most twice this is read looking for a head's end.
        max_discard: after a 413 or 431, how many more bytes of the refused request are read
            and thrown away (so that a client still sending sees the answer rather than a
            reset) before the connection is closed; ``None``: twice ``max_body``.
        heads: where head events are cached (shared by a :class:`StreamableHTTPServer`'s
            connections); ``None``: a cache of this connection's own.
        codec: the JSON codec for error bodies; ``None``: the process default.
        fast: take the fast path for the common exchange (``False``: h11 alone, byte for
            byte what the fast path must give; the tests hold one against the other).
    """

    def __init__(self, *, max_body: int = 4 * 1024 * 1024, max_header: int = 64 * 1024,
                 max_discard: int | None = None, heads: HeadCache | None = None,
                 codec: _codec.Codec | None = None, fast: bool = True) -> None:
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=2 * max_header)
        self.heads = heads if heads is not None else HeadCache()
        self.codec = codec if codec is not None else _codec.DEFAULT
        self._max_body = max_body
        self._max_header = max_header
        self._max_discard = 2 * max_body if max_discard is None else max_discard
        self._head: h11.Request | None = None
        self._body: list[bytes] = []
        self._fields: tuple[tuple[str, str], ...] = ()
        self._size = 0
        self._discard: int | None = None  # bytes still to throw away after an error answer
        self._raw = False  # ...counted as they arrive, h11 having given up on the stream
        self._fed = 0  # bytes that may belong to the next head: while <= max_header, it fits
        # The fast path: while h11 holds nothing (idle both ways, an empty buffer), what
        # arrives waits in _buf; _fast is the request being answered on that path (its
        # bytes, for h11 if it must take over), _written whether its answer went out.
        self._fast_ok = fast
        self._synced = not fast  # h11 has been given everything: the fast path is off
        self._buf = b""
        self._eof = False
        self._fast: bytes | None = None
        self._written = False

    @property
    def h11(self) -> h11.Connection:
        """The h11 connection, given everything received first (the fast path is off until
        the next request cycle that h11 leaves idle)."""
        self._to_h11()
        return self._h11

    def _to_h11(self) -> None:
        """Hand h11 what the fast path holds: the request being answered (h11 then reads
        it to its end, as if it had parsed it itself), what came after it, and the EOF."""
        if self._synced:
            return
        self._synced = True
        pending, self._buf = self._buf, b""
        conn = self._h11
        request, self._fast = self._fast, None
        if request is not None:
            conn.receive_data(request + pending)
            for _ in range(3):  # Request, Data (one: h11 has it all), EndOfMessage
                if isinstance(conn.next_event(), h11.EndOfMessage):
                    break
        elif pending:
            conn.receive_data(pending)
        if self._eof:
            conn.receive_data(b"")

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the socket; ``b""`` at EOF."""
        if self._discard is not None and self._raw:
            self._discard = self._discard - len(data) if data else 0
            return
        self._fed += len(data)
        if self._synced:
            self._h11.receive_data(data)
        elif data:
            self._buf += data
        else:
            self._eof = True

    def _next_fast(self) -> CompleteRequest | None:
        """The next request on the fast path; ``None`` with the fast path still on: more
        data is needed; ``None`` with it off: h11 has the bytes now."""
        buf = self._buf
        end = _h1.head_end(buf)
        if end == -1 and len(buf) <= self._max_header and not self._eof:
            return None
        if end > 0 and end <= self._max_header:
            head = self.heads.received_request(buf[:end])
            if head is not None:
                method, target, fields, length, index = head
                total = end + length
                if length <= self._max_body and len(buf) >= total:
                    self._fast, self._buf = buf[:total], buf[total:]
                    self._fed = len(self._buf)
                    return CompleteRequest(method, target, fields, buf[end:total], index=index)
                if length <= self._max_body and not self._eof:
                    return None
        self._to_h11()  # not the simple form, too large, or cut by EOF: h11 judges
        return None

    def next_request(self) -> CompleteRequest | bytes | None:
        """Return the next whole request, ready bytes to write (an error answer), or ``None``.

        ``None`` means more data is needed (or the peer closed: check :attr:`closed`).
        ``bytes`` is a complete error response (``Connection: close``) the adapter writes
        before closing the connection (a malformed request: 400, a too-large head: 431, a
        too-large body: 413); after a 413 or a 431, while :attr:`discarding`, the adapter
        keeps feeding what arrives (this returns ``None`` meanwhile), then closes.
        """
        if self._discard is not None:
            self._throw_away()
            return None
        if not self._synced:
            if self._fast is not None:  # pragma: no cover - the adapter answers first
                return None
            if self._buf or self._eof:
                got = self._next_fast()
                if got is not None or not self._synced:
                    return got
            else:
                return None
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint
                return self._error(status, str(exc), discard=status == 431, raw=True)
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return None
            if isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.Request):
                self._head = event
                self._body = []
                self._size = 0
                if self._fed > self._max_header and _head_size(event) > self._max_header:
                    return self._error(431, f"request head larger than {self._max_header} "
                                       "bytes", discard=True)
                self._fields, length = self.heads.received(event.headers.raw_items())
                if length is not None and length > self._max_body:
                    return self._error(413, f"request body larger than {self._max_body} bytes",
                                       discard=True)
            elif isinstance(event, h11.Data):
                self._size += len(event.data)
                if self._size > self._max_body:
                    return self._error(413, f"request body larger than {self._max_body} bytes",
                                       discard=True)
                self._body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                head = self._head
                assert head is not None
                self._head = None
                self._fed = len(self._h11.trailing_data[0])  # the next head is in there, or later
                return CompleteRequest(
                    head.method.decode("ascii", "replace"),
                    head.target.decode("ascii", "replace"),
                    self._fields,
                    b"".join(self._body))

    @property
    def discarding(self) -> bool:
        """Whether the rest of a refused request is still to be read (and thrown away): feed
        what arrives, until this is False (the request ended, the peer closed, or
        ``max_discard`` bytes were read), then close."""
        return self._discard is not None and self._discard > 0

    def _throw_away(self) -> None:
        if self._raw:
            return
        while self._discard is not None and self._discard > 0:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError:
                self._discard = 0
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Data):
                self._discard -= len(event.data)
            else:  # the end of the request, or of the connection
                self._discard = 0

    @property
    def closed(self) -> bool:
        """Whether the connection is done (the peer closed, or we must close)."""
        if not self._synced:
            return False  # the fast path holds a live keep-alive exchange
        conn = self._h11
        return conn.their_state in (h11.CLOSED, h11.ERROR, h11.MUST_CLOSE) or \
            conn.our_state in (h11.CLOSED, h11.ERROR, h11.MUST_CLOSE)

    def _error(self, status: int, message: str, *, discard: bool = False, raw: bool = False
               ) -> bytes:
        self._to_h11()
        body = self.codec.dumps({"jsonrpc": "2.0", "error": {"code": -32600,
                                                             "message": message}})
        try:
            out = self.response(status, [_JSON, ("connection", "close")], body)
        except h11.LocalProtocolError:  # pragma: no cover - the response was already started
            out = b""
        if discard:
            self._discard = self._max_discard
            self._raw = raw
            self._body = []
            self._throw_away()  # what is already here (all of a request without a body)
        return out

    def response(self, status: int, headers: Iterable[tuple[str, str]], body: bytes = b""
                 ) -> bytes:
        """Bytes of a whole response with ``body`` (content-length set)."""
        headers = tuple(headers)
        if self._fast is not None and not self._written:
            head = self.heads.response_bytes(status, headers, len(body))
            if head is not None:
                self._written = True
                return head + body if body else head
        conn = self.h11
        hdrs = (*headers, ("content-length", str(len(body))))
        out = conn.send(self.heads.response(status, hdrs)) or b""
        if body:
            out += conn.send(h11.Data(data=body)) or b""
        return out + (conn.send(h11.EndOfMessage()) or b"")

    def response_pieces(self, status: int, headers: Iterable[tuple[str, str]],
                        body: bytes = b"") -> list[bytes]:
        """:meth:`response` as pieces to write in order, ``body`` itself among them (never
        copied: a large answer is not held twice while it is written)."""
        headers = tuple(headers)
        if self._fast is not None and not self._written:
            head = self.heads.response_bytes(status, headers, len(body))
            if head is not None:
                self._written = True
                return [head, body] if body else [head]
        conn = self.h11
        hdrs = (*headers, ("content-length", str(len(body))))
        out = [conn.send(self.heads.response(status, hdrs)) or b""]
        if body:
            out.extend(self.stream_pieces(body))
        out.append(conn.send(h11.EndOfMessage()) or b"")
        return [piece for piece in out if piece]

    def start_stream(self, status: int, headers: Iterable[tuple[str, str]]) -> bytes:
        """Bytes of a response head for a body of unknown length (chunked)."""
        return self.h11.send(self.heads.response(status, tuple(headers))) or b""

    def stream_data(self, data: bytes) -> bytes:
        """Bytes of one piece of a streamed body."""
        return self.h11.send(h11.Data(data=data)) or b"" if data else b""

    def stream_pieces(self, data: bytes) -> list[bytes]:
        """The pieces of one piece of a streamed body, ``data`` itself among them (not
        copied: write them in order, e.g. with vectored I/O, or join the small ones)."""
        if not data:
            return []
        return [bytes(piece) if not isinstance(piece, bytes) else piece
                for piece in self.h11.send_with_data_passthrough(h11.Data(data=data)) or ()]

    def end_stream(self) -> bytes:
        """Bytes that end a streamed body."""
        return self.h11.send(h11.EndOfMessage()) or b""

    def next_cycle(self) -> bool:
        """After a response, get ready for the next request on this connection (keep-alive).

        Returns False when the connection cannot be reused (close it).
        """
        if not self._synced:
            if self._fast is None or not self._written:  # pragma: no cover - misuse
                return False
            self._fast, self._written = None, False
            return True
        conn = self._h11
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            data, closed = conn.trailing_data
            if not data and not closed and self._fast_ok:  # h11 holds nothing: fast again
                self._synced = False
                self._eof = False
            return True
        return False


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def _head_size(event: h11.Request) -> int:
    """The size of a request head as sent: request line and header fields (h11 has dropped the
    optional whitespace around values, so a little less)."""
    size = len(event.method) + len(event.target) + 13  # " HTTP/1.1\r\n" and the final CRLF
    for name, value in event.headers.raw_items():
        size += len(name) + len(value) + 4  # ": " and CRLF
    return size


# ---------------------------------------------------------------- outcomes


@attrs.frozen
class Reject:
    """Answer at once with this status and body (an error, or a ``DELETE`` answer)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@attrs.frozen
class Accept:
    """202 Accepted: give ``message`` (notifications and/or responses) to the session.

    ``message`` is the POST's body, on one line (a body with line breaks, legal JSON
    whitespace, is written compactly), as the engine reads one message per line."""

    session_id: str | None
    message: bytes
    status: int = 202
    headers: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class OpenStream:
    """A POST carrying requests: give ``message`` (the body, on one line, as for
    :class:`Accept`) to the session (creating it first if ``new_session``), then answer on
    ``stream_id`` (SSE) or with one JSON body (``json``).

    For a stateless server ``session_id`` names a one-request session that is not told to the
    client (there is no ``Mcp-Session-Id`` header).

    ``first`` is the bytes to send right after the response head (the priming event).
    ``initialize`` says the message is ``initialize``. ``modern`` says the message is a
    2026-07-28 request (see :meth:`StreamableHTTPServer.handle`): ``session_id`` names a
    one-request session, never told to the client (a dual-era engine enters the stateless era
    on the request itself), closed once the answer is sent.

    ``start_version`` is set for a stateless server's handshake-era POST other than
    ``initialize``: the revision its new one-request session serves at with no handshake
    (``Connection.start_stateless(start_version, ...)`` on a server engine, before the
    message is given to it): the ``MCP-Protocol-Version`` header's, 2025-03-26 when absent
    (as negotiated: the server's latest when it does not support that one).

    ``keepalive`` marks a long-lived stream (a 2026-07-28 ``subscriptions/listen``): while it
    is idle, send :meth:`StreamableHTTPServer.keepalive_comment` every so often; a graceful
    shutdown ends it at once rather than waiting for it.

    ``shared`` (with ``modern``): ``session_id`` is one of
    :attr:`StreamableHTTPServer.shared_session_ids`, the few long-lived sessions that serve
    the 2026-07-28 requests of every client (a session costs far more than a request: its
    engine, tasks and close). Their engines never see two requests with the same id or
    progress token at once: a request goes to the first where neither is in flight, and one
    that finds them in flight in all of them comes with ``shared=False`` and a one-request
    session of its own, as does ``subscriptions/listen``. Create a shared session when
    ``new_session`` says so, and keep it (never end its input when an answer is sent, never
    expire it as idle): it holds no client's state.
    """

    session_id: str
    stream_id: str
    message: bytes
    new_session: bool
    json: bool
    headers: tuple[tuple[str, str], ...]
    first: bytes = b""
    status: int = 200
    initialize: bool = False
    modern: bool = False
    start_version: str | None = None
    keepalive: bool = False
    shared: bool = False


@attrs.frozen
class Listen:
    """A GET: open (or resume) ``stream_id``; send ``replay`` first, then what is routed to it.

    ``done`` means the stream already ended: send the replay and end the response.
    ``keepalive``: a long-lived stream (the standalone GET stream, not a resumed POST stream,
    which ends with its answers): while it is idle, send
    :meth:`StreamableHTTPServer.keepalive_comment` every so often; a graceful shutdown ends
    it at once.
    """

    session_id: str
    stream_id: str
    headers: tuple[tuple[str, str], ...]
    replay: tuple[bytes, ...] = ()
    done: bool = False
    status: int = 200
    keepalive: bool = True


@attrs.frozen
class Terminate:
    """A DELETE: end the session (the adapter closes it), answer ``status``."""

    session_id: str
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


Outcome = Reject | Accept | OpenStream | Listen | Terminate


@attrs.frozen
class StreamEvent:
    """Bytes for one stream, produced by :meth:`StreamableHTTPServer.route`.

    Attributes:
        stream_id: the stream.
        data: an SSE event (or, for a JSON-response stream, the whole JSON body).
        final: the stream is complete after this: end the HTTP response.
        status: for the answer to a 2026-07-28 request that is an error the transport gives
            an HTTP status of its own (-32601: 404; -32020, -32021, -32022: 400), that status;
            else ``None``.
        body: the JSON text of the answer to a 2026-07-28 request (set on its stream's final
            event only; else empty). While the response head has not gone out, answer with
            ``status`` (200 when ``None``) and ``body`` as one ``application/json`` body
            instead of the SSE stream: the revision leaves the choice to the server per
            request, and an answer that is whole before anything else was sent needs no
            stream (nor the priming event: a 2026-07-28 stream cannot be resumed). A
            JSON-response stream sends ``data`` with that status.
    """

    stream_id: str
    data: bytes
    final: bool = False
    status: int | None = None
    body: bytes = b""


# ---------------------------------------------------------------- 2026-07-28: request metadata


_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SAFE_INTEGER = 2 ** 53 - 1
_HEADER_TYPES = frozenset({"string", "integer", "boolean"})
#: Schema keywords under which an ``x-mcp-header`` annotation is never reachable.
_UNREACHABLE = ("items", "prefixItems", "additionalItems", "contains", "additionalProperties",
                "patternProperties", "unevaluatedItems", "unevaluatedProperties",
                "propertyNames", "dependentSchemas", "oneOf", "anyOf", "allOf", "not", "if",
                "then", "else", "$defs", "definitions")
_NAME_SOURCE = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri",
                **TASK_NAME_SOURCE}  # tasks/get, tasks/update, tasks/cancel: Mcp-Name: <taskId>
_SENTINEL_START, _SENTINEL_END = "=?base64?", "?="

HeaderAnnotations = Mapping[str, Sequence[str]]
"""A tool's ``x-mcp-header`` annotations: header name part (``Region`` for
``Mcp-Param-Region``) -> the property path (the chain of ``properties`` keys) it mirrors."""


def _scan_annotations(input_schema: Any) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    found: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    problems: list[str] = []
    if not isinstance(input_schema, Mapping):
        return found, ["inputSchema is not an object"]
    # (schema node, its property path, whether reachable through properties only)
    stack: list[tuple[Any, tuple[str, ...], bool]] = [(input_schema, (), True)]
    while stack:
        node, path, reachable = stack.pop()
        if isinstance(node, list):
            stack.extend((child, path, False) for child in node)
            continue
        if not isinstance(node, Mapping):
            continue
        where = "/".join(path) or "the schema root"
        if "x-mcp-header" in node:
            name = node["x-mcp-header"]
            kind = node.get("type")
            if not reachable or not path:
                problems.append(f"x-mcp-header at {where} is not reachable through "
                                "'properties' alone")
            elif not isinstance(name, str) or not name:
                problems.append(f"x-mcp-header at {where} must be a non-empty string")
            elif not set(name) <= _TCHAR:
                problems.append(f"x-mcp-header {name!r} at {where} is not an HTTP token "
                                "(RFC 9110)")
            elif name.lower() in seen:
                problems.append(f"x-mcp-header {name!r} at {where} repeats the one at "
                                f"{seen[name.lower()]} (names are case-insensitive)")
            elif kind not in _HEADER_TYPES:
                problems.append(f"x-mcp-header {name!r} at {where} is on a property of type "
                                f"{kind!r}, not string, integer or boolean")
            else:
                seen[name.lower()] = where
                found[name] = path
        props = node.get("properties")
        if isinstance(props, Mapping):
            stack.extend((child, (*path, str(key)), reachable)
                         for key, child in props.items())
        for keyword in _UNREACHABLE:
            if keyword in node:
                child = node[keyword]
                if isinstance(child, Mapping) and keyword in ("$defs", "definitions",
                                                              "patternProperties",
                                                              "dependentSchemas"):
                    stack.extend((c, path, False) for c in child.values())
                else:
                    stack.append((child, path, False))
    return found, problems


def validate_header_annotations(input_schema: Any) -> list[str]:
    """The problems of a tool's ``x-mcp-header`` annotations (``[]``: valid), one line each.

    Checked (2026-07-28, Streamable HTTP, "Custom Headers from Tool Parameters"): each value
    is a non-empty RFC 9110 token, case-insensitively unique within the schema, on a
    ``string``, ``integer`` or ``boolean`` property reachable from the root through
    ``properties`` keys only (never through ``items``, ``anyOf``/``oneOf``/``allOf``/``not``,
    ``if``/``then``/``else``, ``$ref``, ``$defs`` or any other keyword). A client drops a tool
    whose annotations are invalid, so a server validates its tools before declaring them.
    Pure: no state is changed, nothing is raised.
    """
    return _scan_annotations(input_schema)[1]


def header_annotations(input_schema: Any) -> dict[str, tuple[str, ...]]:
    """A valid tool's ``x-mcp-header`` annotations: header name part -> property path.

    Raises:
        ValueError: the annotations are invalid (the message lists every problem, as
            :func:`validate_header_annotations` does).
    """
    found, problems = _scan_annotations(input_schema)
    if problems:
        raise ValueError("invalid x-mcp-header annotations: " + "; ".join(problems))
    return found


def decode_header_value(value: str) -> str | None:
    """The value a ``Mcp-Name`` or ``Mcp-Param-*`` header carries: the Base64 sentinel form
    ``=?base64?...?=`` decoded (UTF-8), a plain value as it is; ``None`` when the value is
    malformed (characters outside visible ASCII, space and tab; bad Base64 or UTF-8)."""
    if not all(ch == "\t" or 0x20 <= ord(ch) <= 0x7E for ch in value):
        return None
    if value.startswith(_SENTINEL_START) and value.endswith(_SENTINEL_END) and \
            len(value) >= len(_SENTINEL_START) + len(_SENTINEL_END):
        encoded = value[len(_SENTINEL_START):-len(_SENTINEL_END)]
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
    return value


def _matches(header: str, value: Any) -> bool:
    """Whether a decoded ``Mcp-Param-*`` value mirrors ``value`` (the body's): strings
    exactly, booleans as ``true``/``false``, integers numerically (``42.0`` is ``42``)."""
    if value is True or value is False:
        return header == ("true" if value else "false")
    if value.__class__ is int or value.__class__ is float:
        try:
            return decimal.Decimal(header.strip()) == decimal.Decimal(value)
        except (decimal.InvalidOperation, ValueError):
            return False
    if value.__class__ is str:
        return header == value
    return False


@attrs.frozen
class StreamClosed:
    """The client closed the response stream of a 2026-07-28 request before its answer: that
    is the request's cancellation (returned by :meth:`StreamableHTTPServer.detach`).

    The adapter cancels each of ``request_ids`` in the session ``session_id`` (the engine's
    cancellation of a request it is serving), and sends nothing more for them.
    """

    session_id: str
    stream_id: str
    request_ids: tuple[Any, ...]


# ---------------------------------------------------------------- event store


class EventStore:
    """Where SSE events are kept for ``Last-Event-ID`` replay. Subclass for a shared store."""

    def append(self, session_id: str, stream_id: str, event_id: str, data: bytes) -> None:
        """Remember one event of a stream."""
        raise NotImplementedError

    def after(self, session_id: str, stream_id: str, event_id: str) -> list[bytes] | None:
        """The events of ``stream_id`` after ``event_id``; ``None`` if ``event_id`` is unknown
        (too old, or never seen)."""
        raise NotImplementedError

    def forget(self, session_id: str) -> None:
        """Drop a terminated session's events."""
        raise NotImplementedError

    def forget_stream(self, session_id: str, stream_id: str) -> None:
        """Drop the events of one stream that completed and was delivered whole (a resume of
        it is refused from now on). The default keeps them (a store that does not override
        this stays bounded by its own rules)."""

    def expire(self, now: float) -> None:
        """Drop what is older than the store's age bound; ``now`` is the caller's clock
        (seconds, monotonic). The adapter calls it every few seconds. The default does
        nothing."""


DEFAULT_MAX_SESSIONS: Final = 1024
"""Live sessions a :class:`StreamableHTTPServer` holds by default (each costs about 14 KiB
with its engine and tasks; 1,024 of them about 14 MiB)."""
DEFAULT_EVENT_STORE_MAX_EVENTS: Final = 1000
"""Events :class:`InMemoryEventStore` keeps per session by default."""
DEFAULT_EVENT_STORE_SESSION_BYTES: Final = 4 * 1024 * 1024
"""Bytes of events :class:`InMemoryEventStore` keeps per session by default (4 MiB)."""
DEFAULT_EVENT_STORE_BYTES: Final = 64 * 1024 * 1024
"""Bytes of events :class:`InMemoryEventStore` keeps in all by default (64 MiB)."""
DEFAULT_EVENT_STORE_MAX_AGE: Final = 300.0
"""Seconds :class:`InMemoryEventStore` keeps an event by default (5 minutes)."""


class InMemoryEventStore(EventStore):
    """The default store, in memory, bounded four ways (the oldest events go first).

    Args:
        max_events: events kept per session.
        max_session_bytes: bytes of events kept per session.
        max_bytes: bytes of events kept in all, every session together.
        max_age: seconds an event is kept, measured by the ``now`` given to :meth:`expire`
            (an event is stamped with the latest ``now`` seen when it is appended).

    A stream that completed and was delivered whole (:meth:`forget_stream`) is dropped at
    once, and a terminated session's events with it (:meth:`forget`). An event dropped by a
    bound can no longer be resumed after: ``Last-Event-ID`` naming it gets 400.

    Raises:
        ValueError: a bound is not positive.
    """

    def __init__(self, max_events: int = DEFAULT_EVENT_STORE_MAX_EVENTS, *,
                 max_session_bytes: int = DEFAULT_EVENT_STORE_SESSION_BYTES,
                 max_bytes: int = DEFAULT_EVENT_STORE_BYTES,
                 max_age: float = DEFAULT_EVENT_STORE_MAX_AGE) -> None:
        if max_events < 1 or max_session_bytes < 1 or max_bytes < 1 or not max_age > 0:
            raise ValueError("the event store's bounds must be positive")
        self.max_events = max_events
        self.max_session_bytes = max_session_bytes
        self.max_bytes = max_bytes
        self.max_age = max_age
        # Per session: its live entries, oldest first, and their size. An entry is
        # [stream_id, event_id, data, stamp]; data None marks one dropped (in _order only).
        self._events: dict[str, collections.deque[list[Any]]] = {}
        self._session_bytes: dict[str, int] = {}
        # Every entry of every session in append order (for max_bytes and max_age), with
        # the dropped ones left in place until they reach the front or a compaction.
        self._order: collections.deque[tuple[str, list[Any]]] = collections.deque()
        self._live = 0
        self._bytes = 0
        self._now: float | None = None

    @property
    def size(self) -> int:
        """Bytes of events held now, every session together."""
        return self._bytes

    def __len__(self) -> int:
        """Events held now, every session together."""
        return self._live

    def _drop(self, session_id: str, entry: list[Any]) -> None:
        size = len(entry[2])
        entry[2] = None
        self._live -= 1
        self._bytes -= size
        left = self._session_bytes[session_id] - size
        if left or self._events.get(session_id):
            self._session_bytes[session_id] = left
        else:
            self._events.pop(session_id, None)
            self._session_bytes.pop(session_id, None)

    def _drop_oldest(self, session_id: str) -> None:
        queue = self._events[session_id]
        entry = queue.popleft()
        self._drop(session_id, entry)

    def append(self, session_id: str, stream_id: str, event_id: str, data: bytes) -> None:
        queue = self._events.get(session_id)
        if queue is None:
            queue = self._events[session_id] = collections.deque()
            self._session_bytes[session_id] = 0
        entry = [stream_id, event_id, data, self._now]
        queue.append(entry)
        self._order.append((session_id, entry))
        self._live += 1
        self._bytes += len(data)
        self._session_bytes[session_id] += len(data)
        while len(queue) > 1 and (len(queue) > self.max_events
                                  or self._session_bytes[session_id] > self.max_session_bytes):
            self._drop_oldest(session_id)
        order = self._order
        while self._bytes > self.max_bytes and self._live > 1:
            sid, oldest = order.popleft()
            if oldest[2] is not None:
                self._events[sid].popleft()
                self._drop(sid, oldest)
        self._trim()

    def _trim(self) -> None:
        """Drop the dropped entries at the front of the order; compact it when they are
        more than the live ones."""
        order = self._order
        while order and order[0][1][2] is None:
            order.popleft()
        if len(order) > 2 * self._live + 64:
            self._order = collections.deque(item for item in order if item[1][2] is not None)

    def after(self, session_id: str, stream_id: str, event_id: str) -> list[bytes] | None:
        queue = self._events.get(session_id, ())
        found = False
        out: list[bytes] = []
        for sid, eid, data, _ in queue:
            if found and sid == stream_id:
                out.append(data)
            elif eid == event_id:
                found = True
        if not found:
            _, _, seq = event_id.rpartition("/")
            if seq == "0":  # the priming event is not stored: replay the whole stream
                return [data for sid, _, data, _ in queue if sid == stream_id]
            return None
        return out

    def forget(self, session_id: str) -> None:
        for entry in self._events.pop(session_id, ()):
            size = len(entry[2])
            entry[2] = None
            self._live -= 1
            self._bytes -= size
        self._session_bytes.pop(session_id, None)
        self._trim()

    def forget_stream(self, session_id: str, stream_id: str) -> None:
        queue = self._events.get(session_id)
        if not queue:
            return
        kept: collections.deque[list[Any]] = collections.deque()
        dropped: list[list[Any]] = []
        for entry in queue:
            (dropped if entry[0] == stream_id else kept).append(entry)
        if not dropped:
            return
        self._events[session_id] = kept
        for entry in dropped:
            self._drop(session_id, entry)
        self._trim()

    def expire(self, now: float) -> None:
        if self._now is None:  # stamp what came before the first clock reading
            for _, entry in self._order:
                entry[3] = now
        self._now = now
        limit = now - self.max_age
        order = self._order
        while order:
            sid, entry = order[0]
            if entry[2] is not None:
                if entry[3] > limit:
                    break
                self._events[sid].popleft()
                self._drop(sid, entry)
            order.popleft()
        self._trim()


# ---------------------------------------------------------------- the endpoint


@attrs.define(eq=False)
class _Stream:
    id: str
    waiting: set[tuple[type, Any]] = attrs.Factory(set)  # typed keys (see _key)
    seq: int = 0
    json: bool = False
    done: bool = False
    attached: bool = True
    standalone: bool = False
    request_id: Any = None  # shared 2026-07-28 session: the request's id, as the engine keys it
    token: Any = None  # shared 2026-07-28 session: the request's progress token (or None)


@attrs.define(eq=False)
class _Session:
    id: str
    version: str | None = None
    streams: dict[str, _Stream] = attrs.Factory(dict)
    standalone: str | None = None
    next_stream: int = 0
    backlog: list[bytes] = attrs.Factory(list)
    init_request: tuple[type, Any] | None = None
    oneshot: bool = False  # a 2026-07-28 request's session: gone once it is answered
    shared: bool = False  # the one engine serving 2026-07-28 requests
    by_id: dict[Any, _Stream] = attrs.Factory(dict)  # shared: request id in flight -> stream
    tokens: set[Any] = attrs.Factory(set)  # shared: the progress tokens in flight


def _remember(seen: set[Any], key: Any, bound: int) -> None:
    """Add ``key`` to ``seen``, emptied first when it holds ``bound`` keys."""
    if len(seen) >= bound:
        seen.clear()
    seen.add(key)


def _media_types(value: str | None) -> set[str]:
    if not value:
        return set()
    return {part.split(";")[0].strip().lower() for part in value.split(",")}


def _key(request_id: Any) -> tuple[type, Any]:
    """A request id as a typed key: ``1``, ``"1"``, ``True`` and ``1.0`` never collide."""
    return (request_id.__class__, request_id)


def _describe_id(request_id: Any) -> str:
    if isinstance(request_id, bool) or request_id is None:
        return _codec.STDLIB.dumps(request_id).decode()
    if isinstance(request_id, dict):
        return "an object"
    if isinstance(request_id, list):
        return "an array"
    return "a number with a fraction or out of the 64-bit range"


_ANSWERS = frozenset({MessageKind.RESPONSE, MessageKind.ERROR})
_NOT_MODERN = frozenset({None, *HANDSHAKE_VERSIONS})


def _meta_version(items: list[Any]) -> Any:
    """The ``_meta`` protocol version of a POST's single message (``None`` if absent, or for
    a batch): a string names a revision, anything else is returned as is (and is modern, to
    be refused as a mismatch). Hashable, or ``None``."""
    if len(items) != 1:
        return None
    params = items[0].get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    version = meta.get(META_PROTOCOL_VERSION) if isinstance(meta, dict) else None
    return version if version is None or isinstance(version, str) else "?"


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[:host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class StreamableHTTPServer:
    """The MCP endpoint's rules, for every session of one server.

    Args:
        new_session_id: returns a fresh, unguessable session id (visible ASCII); the adapter
            supplies it (``secrets.token_hex``), since the core has no entropy source.
        path: the MCP endpoint's path.
        supported_versions: the revisions accepted in ``MCP-Protocol-Version``.
        allowed_hosts: host names accepted in ``Host`` (any port); ``None`` accepts any.
        allowed_origins: origins accepted in ``Origin`` (scheme://host[:port]); by default
            any origin whose host is in ``allowed_hosts``.
        json_response: answer requests with one ``application/json`` body instead of SSE.
        stateless: no sessions: no ``Mcp-Session-Id``, GET and DELETE are 405.
        event_store: where events are kept for resumption (default: in memory, bounded).
        retry_ms: the ``retry`` sent in priming events (the client's reconnection delay).
        codec: the JSON codec for bodies, frames and error answers (default: the process
            default, :data:`sansio._codec.DEFAULT`).
        max_heads: the bound of :attr:`heads`, the head events cached for this server's
            connections (see :class:`HeadCache`).
        max_depth: the engine's ``max_depth``: a POST nesting deeper is answered here (400,
            -32600), since the engine refuses such a frame without reading its id.
        tool_headers: (2026-07-28) each tool's ``x-mcp-header`` annotations, which the
            ``Mcp-Param-*`` headers of a ``tools/call`` must mirror: a mapping, or a callable
            (tool name -> annotations, ``None`` for a tool without any), each annotation
            mapping a header name part to its property path (see :func:`header_annotations`).
            ``None``: the tools given to :meth:`declare_tool`.
        max_sessions: the most live sessions (default :data:`DEFAULT_MAX_SESSIONS`); an
            ``initialize`` beyond it gets 503 with ``Retry-After: retry_after`` and JSON-RPC
            -32000, and no session. The one-request sessions of stateless serving and of
            2026-07-28 requests count while their request runs. ``None``: no cap.
        retry_after: the seconds named in that ``Retry-After``.
        share_modern: serve 2026-07-28 requests through one shared session (see
            :attr:`shared_session_id`); ``False``: each in a one-request session of its own,
            as a deployment needs when each request carries an identity of its own (the
            adapter's ``serve_http(auth=...)``: the verified principal is the session's).

    2026-07-28 requests are served when ``supported_versions`` names a stateless-era
    revision: see :meth:`handle`.
    """

    def __init__(
        self,
        new_session_id: Callable[[], str],
        *,
        path: str = "/mcp",
        supported_versions: Iterable[str] = HANDSHAKE_VERSIONS,
        allowed_hosts: Iterable[str] | None = DEFAULT_ALLOWED_HOSTS,
        allowed_origins: Iterable[str] | None = None,
        json_response: bool = False,
        stateless: bool = False,
        event_store: EventStore | None = None,
        retry_ms: int | None = 1000,
        codec: _codec.Codec | None = None,
        max_heads: int = 256,
        max_depth: int = DEFAULT_MAX_DEPTH,
        tool_headers: Mapping[str, HeaderAnnotations]
        | Callable[[str], HeaderAnnotations | None] | None = None,
        max_sessions: int | None = DEFAULT_MAX_SESSIONS,
        retry_after: int = 5,
        share_modern: bool = True,
    ) -> None:
        if max_sessions is not None and max_sessions < 1:
            raise ValueError("max_sessions must be at least 1 (or None)")
        self.max_sessions = max_sessions
        self.retry_after = retry_after
        self.share_modern = share_modern
        self.max_depth = max_depth
        self._declared: dict[str, dict[str, tuple[str, ...]]] = {}
        self.tool_headers = tool_headers if tool_headers is not None else self._declared
        self.codec = codec if codec is not None else _codec.DEFAULT
        self._loads = self.codec.loads
        self._dumps = self.codec.dumps
        self.heads = HeadCache(max_heads)
        self._new_id = new_session_id
        self.path = path
        self.supported_versions = frozenset(supported_versions) & set(SUPPORTED_VERSIONS)
        self.allowed_hosts = None if allowed_hosts is None else frozenset(
            h.lower() for h in allowed_hosts)
        self.allowed_origins = None if allowed_origins is None else frozenset(
            o.lower().rstrip("/") for o in allowed_origins)
        self.json_response = json_response
        self.stateless = stateless
        self.events = event_store if event_store is not None else InMemoryEventStore()
        self.retry_ms = retry_ms
        self._sessions: dict[str, _Session] = {}
        self._terminated: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._anon = 0
        self._supported_list = sorted(self.supported_versions, reverse=True)
        # Header values that passed the checks of handle() and _post() that depend on nothing
        # else (and on settings made here, never changed): judged once per distinct set
        # (bounded like the heads).
        self._origins_ok: set[tuple[str | None, str | None]] = set()
        self._media_ok: set[tuple[str | None, str | None]] = set()

    def declare_tool(self, name: str, input_schema: Any) -> dict[str, tuple[str, ...]]:
        """Validate a tool's ``x-mcp-header`` annotations and remember them (replacing what was
        declared for ``name``), so that every 2026-07-28 ``tools/call`` of it is checked
        against its ``Mcp-Param-*`` headers. Used when the server was made without
        ``tool_headers``. Returns the annotations (header name part -> property path).

        Raises:
            ValueError: the annotations are invalid (nothing is remembered then): a client
                would drop the tool, so fix its schema.
        """
        found = header_annotations(input_schema)
        self._declared[name] = found
        return found

    def forget_tool(self, name: str) -> None:
        """Stop checking headers for a tool given to :meth:`declare_tool` (it was removed)."""
        self._declared.pop(name, None)

    def connection(self, *, max_body: int = 4 * 1024 * 1024, max_header: int = 64 * 1024,
                   max_discard: int | None = None) -> HTTPServerConnection:
        """A new :class:`HTTPServerConnection` for one TCP connection to this endpoint: it
        shares this server's head cache and codec. The arguments are the connection's."""
        return HTTPServerConnection(max_body=max_body, max_header=max_header,
                                    max_discard=max_discard, heads=self.heads,
                                    codec=self.codec)

    def keepalive_comment(self) -> bytes:
        """The SSE comment that keeps an idle long-lived stream (:attr:`Listen.keepalive`,
        :attr:`OpenStream.keepalive`) alive through proxies and idle timers; clients ignore
        it. Pure: no event id is used and nothing is stored for replay."""
        return _KEEPALIVE

    # -- sessions

    @property
    def session_ids(self) -> list[str]:
        """The live sessions (not the one serving 2026-07-28 requests, which is no client's:
        see :attr:`shared_session_id`)."""
        return [sid for sid in self._sessions if sid not in _SHARED_SET]

    def terminate(self, session_id: str) -> None:
        """End a session (idle expiry, server shutdown): later requests for it get 404."""
        if self._sessions.pop(session_id, None) is not None:
            self._terminated[session_id] = None
            while len(self._terminated) > 10000:
                self._terminated.popitem(last=False)
            self.events.forget(session_id)

    # -- requests

    def handle(self, request: CompleteRequest) -> Outcome:
        """Decide what an HTTP request gets.

        State effects: a POST with ``initialize`` creates a session (its id is in the
        outcome's headers); a DELETE terminates one; a GET registers the standalone stream.

        Each request is judged in its own era. A request is *modern* (2026-07-28) when its
        ``MCP-Protocol-Version`` header names a stateless-era revision, or its body's
        ``_meta`` carries ``io.modelcontextprotocol/protocolVersion`` naming anything but a
        handshake-era revision; every other request follows the handshake era's rules. A modern
        GET or DELETE gets 405. A modern POST carries one request (or notification), no session
        (``Mcp-Session-Id`` is ignored, none is minted or echoed), and its headers must mirror
        its body: ``MCP-Protocol-Version`` the ``_meta`` version, ``Mcp-Method`` the method,
        ``Mcp-Name`` the ``params.name`` (``tools/call``, ``prompts/get``) or ``params.uri``
        (``resources/read``), ``Mcp-Param-*`` the annotated arguments of ``tools/call`` (see
        ``tool_headers``); a header missing, malformed or different is 400 with -32020. A
        revision not in ``supported_versions`` is 400 with -32022 (``data``: ``supported``,
        ``requested``), a method the revision does not have 404 with -32601. These errors
        carry the request's id. A valid modern request gets :class:`OpenStream` with
        ``modern=True``: served by one of the sessions every client's modern requests share
        (``shared=True``; :attr:`shared_session_ids`), the first where its id and progress
        token are not in flight already (when they are in all of them, and for
        ``subscriptions/listen``, by a one-request session of its own).
        """
        path = request.target.split("?", 1)[0]
        if path != self.path:
            return self._reject(404, -32600, f"not found: {path} (the MCP endpoint is "
                                f"{self.path})")
        seen = (request.header("host"), request.header("origin"))
        if seen not in self._origins_ok:
            refused = self._check_origin(request)
            if refused is not None:
                return refused
            _remember(self._origins_ok, seen, self.heads.max_heads)
        method = request.method
        if method != "POST" and request.header("mcp-protocol-version") in STATELESS_VERSIONS:
            return Reject(405, (_JSON, ("allow", "POST")), self._rpc_error(
                -32600, f"{method} is not part of protocol version "
                f"{request.header('mcp-protocol-version')}: send each message as a POST"))
        if method == "POST":
            return self._post(request)
        if method == "GET":
            return self._get(request)
        if method == "DELETE":
            return self._delete(request)
        allow = "POST" if self.stateless else "GET, POST, DELETE"
        return Reject(405, (_JSON, ("allow", allow)), self._rpc_error(-32600,
                      f"method {method} not allowed"))

    def _rpc_error(self, code: int, message: str) -> bytes:
        return self._dumps({"jsonrpc": "2.0", "error": {"code": code, "message": message}})

    def _reject(self, status: int, code: int, message: str) -> Reject:
        return Reject(status, (_JSON,), self._rpc_error(code, message))

    def _refuse_message(self, version: str | None, message: str) -> Reject:
        """400 for a message the engine could not answer by id (an invalid id, a batch where
        the revision has none): the -32600 it would write, id null up to 2025-06-18 and
        omitted from 2025-11-25 (whose schema forbids null), on the POST that carried it."""
        answer: dict[str, Any] = {"jsonrpc": "2.0"}
        if null_id(version):
            answer["id"] = None
        answer["error"] = {"code": -32600, "message": message}
        return Reject(400, (_JSON,), self._dumps(answer))

    def _message_version(self, request: CompleteRequest) -> str | None:
        """The revision a POST's messages are read in: its session's, else the header's (for a
        stateless server, the header's or 2025-03-26, as its sessions are made)."""
        session = self._sessions.get(request.header("mcp-session-id") or "")
        if session is not None and session.version:
            return session.version
        version = request.header("mcp-protocol-version")
        if version is None and self.stateless:
            return _LEGACY_DEFAULT_VERSION
        return version

    def _check_origin(self, request: CompleteRequest) -> Reject | None:
        host = request.header("host")
        if self.allowed_hosts is not None and (
                host is None or _host_name(host) not in self.allowed_hosts):
            return self._reject(403, -32600, f"host {host!r} is not allowed")
        origin = request.header("origin")
        if origin is not None and origin.lower() != "null":
            origin = origin.lower().rstrip("/")
            if self.allowed_origins is not None:
                ok = origin in self.allowed_origins
            elif self.allowed_hosts is not None:
                _, _, rest = origin.partition("://")
                ok = _host_name(rest) in self.allowed_hosts
            else:
                ok = True
            if not ok:
                return self._reject(403, -32600, f"origin {origin!r} is not allowed")
        elif origin is not None:
            return self._reject(403, -32600, "origin 'null' is not allowed")
        return None

    def _check_version(self, request: CompleteRequest) -> Reject | None:
        version = request.header("mcp-protocol-version")
        if version is not None and version not in self.supported_versions:
            return self._reject(400, -32600, f"unsupported MCP-Protocol-Version {version!r} "
                                f"(supported: {', '.join(sorted(self.supported_versions))})")
        return None

    def _session_of(self, request: CompleteRequest) -> _Session | Reject:
        sid = request.header("mcp-session-id")
        if sid is None:
            return self._reject(400, -32600, "missing Mcp-Session-Id header")
        session = self._sessions.get(sid)
        if session is None:
            return self._reject(404, -32001, "session not found (unknown or terminated)")
        return session

    def _post(self, request: CompleteRequest) -> Outcome:
        media = (request.header("content-type"), request.header("accept"))
        if media not in self._media_ok:
            ctype = _media_types(media[0])
            if "application/json" not in ctype:
                return self._reject(415, -32600, "Content-Type must be application/json")
            accept = _media_types(media[1])
            need = {"application/json"} if self.json_response else {"application/json",
                                                                      "text/event-stream"}
            if not (need <= accept or "*/*" in accept):
                return self._reject(406, -32600, "Accept must list application/json and "
                                    "text/event-stream")
            _remember(self._media_ok, media, self.heads.max_heads)
        try:
            obj = self._loads(request.body)
        except _codec.DecodeError as exc:
            return self._reject(400, -32700, f"parse error: {exc}")
        batch = obj.__class__ is list
        items = obj if batch else [obj]
        if not items or not all(isinstance(m, dict) and m.get("jsonrpc") == "2.0"
                                for m in items):
            return self._reject(400, -32600, "the body must be a JSON-RPC message")
        body = request.body
        if body.count(b"{") + body.count(b"[") > self.max_depth and too_deep(
                obj, self.max_depth):
            return self._refuse_message(self._message_version(request), "the message nests "
                                        f"deeper than max_depth ({self.max_depth})")
        # A request whose id is not valid is refused here (the engine's answer would carry a
        # null id and the POST would wait for it forever).
        # What the engine answers by id (the one classifier's rule): what the POST waits for.
        requests = [m for m in items if classify(m) is MessageKind.REQUEST]
        for m in requests:
            # As the engine accepts: an integer (the codec turns one outside 64 bits into a
            # float) or a string; never a boolean, a float, null, an object or an array.
            if not is_request_id(m["id"]):
                return self._refuse_message(self._message_version(request),
                                            '"id" must be an integer or a string, not '
                                            f"{_describe_id(m['id'])}")
        header = request.header("mcp-protocol-version")
        if header in STATELESS_VERSIONS or _meta_version(items) not in _NOT_MODERN:
            return self._modern_post(request, obj, items, batch)
        is_init = any(m.get("method") == "initialize" for m in requests)
        start: str | None = None
        refused = self._check_version(request)
        if refused is not None and not is_init:
            return refused
        if is_init:
            if len(items) > 1:
                return self._reject(400, -32600, "initialize must be sent alone")
            if request.header("mcp-session-id") is not None and not self.stateless:
                return self._reject(400, -32600,
                                    "initialize must not carry an Mcp-Session-Id")
            if self.stateless:
                session = self._anonymous()
            else:
                if self.max_sessions is not None and \
                        len(self._sessions) - self._shared_count() >= self.max_sessions:
                    return Reject(503, (_JSON, ("retry-after", str(self.retry_after))),
                                  self._rpc_error(-32000, "too many sessions: the server "
                                                  f"holds {self.max_sessions} (max_sessions);"
                                                  " retry later"))
                sid = self._new_id()
                if not sid or not all(0x21 <= ord(c) <= 0x7E for c in sid):
                    raise ValueError("new_session_id must return visible ASCII")
                session = self._sessions[sid] = _Session(sid)
            session.init_request = _key(requests[0]["id"])
            new = True
        elif self.stateless:
            if batch:
                refused = self._check_batch(self._message_version(request))
                if refused is not None:
                    return refused
            session = self._anonymous()
            new = True
            start = self._start_version(request)
        else:
            found = self._session_of(request)
            if isinstance(found, Reject):
                return found
            if batch:
                refused = self._check_batch(found.version)
                if refused is not None:
                    return refused
            session = found
            new = False
        sid_headers: tuple[tuple[str, str], ...] = () if self.stateless else (
            ("mcp-session-id", session.id),)
        message = request.body
        if b"\n" in message:  # JSON whitespace, but the engine reads one message per line
            message = self._dumps(obj)
        if not requests:
            if new:  # stateless: a notification or response alone has no session to go to
                return Accept(None, message, headers=sid_headers)
            return Accept(session.id, message, headers=sid_headers)
        stream = self._new_stream(session, json=self.json_response)
        stream.waiting = {(m["id"].__class__, m["id"]) for m in requests}  # typed (see _key)
        if stream.json:
            headers = (_JSON, *sid_headers)
            first = b""
        else:
            headers = (*_SSE_HEADERS, *sid_headers)
            first = self._priming(session, stream)
        return OpenStream(session.id, stream.id, message, new, stream.json, headers,
                          first, initialize=is_init, start_version=start)

    def _start_version(self, request: CompleteRequest) -> str:
        """The revision a stateless server's one-request session serves a handshake-era POST
        at: the header's (already checked), else 2025-03-26 ("the server SHOULD assume
        protocol version 2025-03-26"), as ``initialize`` would negotiate it."""
        asked = request.header("mcp-protocol-version") or _LEGACY_DEFAULT_VERSION
        handshake = [v for v in self.supported_versions if v in HANDSHAKE_VERSIONS]
        return negotiate(asked, handshake) if handshake else asked

    def _modern_error(self, status: int, code: int, message: str, message_obj: dict[str, Any],
                      data: Any = None) -> Reject:
        answer: dict[str, Any] = {"jsonrpc": "2.0"}
        if "id" in message_obj:
            answer["id"] = message_obj["id"]
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        answer["error"] = error
        return Reject(status, (_JSON,), self._dumps(answer))

    def _mismatch(self, message: str, message_obj: dict[str, Any]) -> Reject:
        return self._modern_error(400, -32020, f"Header mismatch: {message}", message_obj)

    def _modern_post(self, request: CompleteRequest, obj: Any, items: list[Any], batch: bool
                     ) -> Outcome:
        """A 2026-07-28 POST (see :meth:`handle`)."""
        if batch:
            return self._reject(400, -32600, "a 2026-07-28 POST carries one JSON-RPC message, "
                                "not a batch")
        m: dict[str, Any] = items[0]
        method = m.get("method")
        if not isinstance(method, str):
            return self._reject(400, -32600, "a client POSTs requests and notifications only "
                                "in protocol version 2026-07-28")
        params = m.get("params")
        params = params if isinstance(params, dict) else {}
        meta = params.get("_meta")
        body_version = meta.get(META_PROTOCOL_VERSION) if isinstance(meta, dict) else None
        header = request.header("mcp-protocol-version")
        if header is None:
            return self._mismatch("missing MCP-Protocol-Version header", m)
        is_request = "id" in m
        judged = read_request_meta(params, self.supported_versions) if is_request else None
        if body_version is None and isinstance(judged, tuple):
            # No version in the body at all: the request's _meta is invalid (-32602), as the
            # engine would answer, on this POST.
            return self._modern_error(400, judged[0], judged[1], m, judged[2])
        if header != body_version:
            return self._mismatch(f"MCP-Protocol-Version header value {header!r} does not match "
                                  f"body value {body_version!r} (_meta {META_PROTOCOL_VERSION})",
                                  m)
        if header not in self.supported_versions:
            return self._modern_error(
                400, -32022, "Unsupported protocol version", m,
                {"supported": self._supported_list, "requested": header})
        if isinstance(judged, tuple):  # the rest of _meta (client capabilities, ...): -32602
            return self._modern_error(400, judged[0], judged[1], m, judged[2])
        message = request.body
        if b"\n" in message:  # JSON whitespace, but the engine reads one message per line
            message = self._dumps(obj)
        if classify(m) is MessageKind.NOTIFICATION:  # none is defined; nothing to route it to
            return Accept(None, message)
        refused = self._check_headers(request, m, method, params, header)
        if refused is not None:
            return refused
        if method not in _LONG_LIVED and self.share_modern:
            shared = self._shared_post(m, params, message)
            if shared is not None:
                return shared
        session = self._anonymous()
        session.oneshot = True
        stream = self._new_stream(session, json=self.json_response)
        stream.waiting = {_key(m["id"])}
        if stream.json:
            headers: tuple[tuple[str, str], ...] = (_JSON,)
            first = b""
        else:
            headers = tuple(_SSE_HEADERS)
            first = self._priming(session, stream)
        return OpenStream(session.id, stream.id, message, True, stream.json, headers, first,
                          modern=True, keepalive=method in _LONG_LIVED and not stream.json)

    @property
    def shared_session_id(self) -> str:
        """The key of the first session serving 2026-07-28 requests (see
        :attr:`shared_session_ids`); never a valid ``Mcp-Session-Id``."""
        return _SHARED_ID

    @property
    def shared_session_ids(self) -> frozenset[str]:
        """The keys of the (at most :data:`SHARED_SESSIONS`) long-lived sessions that serve
        2026-07-28 requests (see :attr:`OpenStream.shared`); none is a valid
        ``Mcp-Session-Id``. Each is made when a request first needs it, and kept."""
        return _SHARED_SET

    def _shared_count(self) -> int:
        sessions = self._sessions
        return sum(1 for sid in _SHARED_IDS if sid in sessions)

    def _shared_post(self, m: dict[str, Any], params: dict[str, Any], message: bytes
                     ) -> OpenStream | None:
        """A 2026-07-28 request for the shared session, or ``None`` when its id or progress
        token is one a request in flight there already uses (another client's, most likely):
        one engine must never see two such requests at once (its duplicate-id rule, and
        progress is routed by token), so that request is served alone, as before. In flight:
        from here until its answer is routed or its stream detached (the engine forgets it
        earlier: when it writes the answer, or reads the cancellation, which the adapter
        queues before any later request)."""
        rid = m["id"]
        token = progress_token_of(params)
        sessions = self._sessions
        for sid in _SHARED_IDS:
            session = sessions.get(sid)
            if session is None:
                session = sessions[sid] = _Session(sid, shared=True)
                new = True
                break
            if not (rid in session.by_id or (token is not None and token in session.tokens)):
                new = False
                break
        else:
            return None
        stream = self._new_stream(session, json=self.json_response)
        stream.request_id = rid
        stream.token = token
        stream.waiting = {_key(rid)}
        session.by_id[rid] = stream
        if token is not None:
            session.tokens.add(token)
        if stream.json:
            return OpenStream(session.id, stream.id, message, new, True, (_JSON,),
                              modern=True, shared=True)
        return OpenStream(session.id, stream.id, message, new, False, _SSE_TUPLE,
                          self._priming(session, stream), modern=True, shared=True)

    @staticmethod
    def _forget_shared(session: _Session, stream: _Stream) -> None:
        session.streams.pop(stream.id, None)
        if session.by_id.get(stream.request_id) is stream:
            del session.by_id[stream.request_id]
            session.tokens.discard(stream.token)

    def _route_shared(self, session: _Session, frame: bytes | Frame, data: bytes,
                      answers: Iterable[Any], related: Any) -> list[StreamEvent]:
        """:meth:`route` for the shared session: an answer ends its request's stream; a message
        written while serving a request goes to that request's stream; anything else has no
        stream to go to (a 2026-07-28 client hears of changes through
        ``subscriptions/listen``, which is served in a session of its own). Events are not
        kept for resumption (a 2026-07-28 stream cannot be resumed: GET is 405)."""
        by_id = session.by_id
        for rid in answers:
            stream = by_id.get(rid)
            if stream is None or stream.request_id.__class__ is not rid.__class__:
                continue
            stream.done = True
            self._forget_shared(session, stream)
            out = data if stream.json else encode_event(
                data, id=f"{stream.id}/{stream.seq + 1}")
            return [StreamEvent(stream.id, out, True, self._error_status(frame, data), data)]
        if related is None or answers:
            return []
        stream = by_id.get(related)
        if stream is None or stream.json or stream.request_id.__class__ is not related.__class__:
            return []
        stream.seq += 1
        return [StreamEvent(stream.id, encode_event(data, id=f"{stream.id}/{stream.seq}"))]

    def _check_headers(self, request: CompleteRequest, m: dict[str, Any], method: str,
                       params: dict[str, Any], version: str) -> Reject | None:
        """-32020 for a request header that does not mirror the body, -32601 (404) for a
        method the revision does not have."""
        mcp_method = request.header("mcp-method")
        if mcp_method is None:
            return self._mismatch("missing Mcp-Method header", m)
        if mcp_method != method:
            return self._mismatch(f"Mcp-Method header value {mcp_method!r} does not match "
                                  f"body value {method!r}", m)
        spec = CLIENT_REQUESTS.get(method) or TASK_REQUESTS.get(method)
        if spec is not None and not spec.live(version):
            spec = TASK_REQUESTS.get(method)  # tasks/get, tasks/cancel: the extension's
        if spec is None or not spec.live(version):
            return self._modern_error(404, -32601, f"Method not found: {method!r} is not a "
                                      f"request of protocol version {version}", m)
        source = _NAME_SOURCE.get(method)
        if source is None:
            return None
        raw = request.header("mcp-name")
        expected = params.get(source)
        if raw is None:
            return self._mismatch(f"missing Mcp-Name header (params.{source} of {method})", m)
        name = decode_header_value(raw)
        if name is None:
            return self._mismatch("Mcp-Name header value is malformed", m)
        if name != expected:
            return self._mismatch(f"Mcp-Name header value {name!r} does not match body value "
                                  f"{expected!r}", m)
        if method != "tools/call" or not isinstance(expected, str):
            return None
        tool_headers = self.tool_headers
        annotations = (tool_headers(expected) if callable(tool_headers)
                       else tool_headers.get(expected))
        if not annotations:
            return None
        arguments = params.get("arguments")
        for part, path in annotations.items():
            value: Any = arguments
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            header_name = f"Mcp-Param-{part}"
            raw = request.header(header_name.lower())
            if value is None:
                if raw is not None:
                    return self._mismatch(f"{header_name} header is present but the body has "
                                          f"no value at {'.'.join(path)}", m)
                continue
            if raw is None:
                return self._mismatch(f"missing {header_name} header (arguments."
                                      f"{'.'.join(path)} is in the body)", m)
            decoded = decode_header_value(raw)
            if decoded is None:
                return self._mismatch(f"{header_name} header value is malformed", m)
            if value.__class__ is int and abs(value) > _SAFE_INTEGER:
                return self._mismatch(f"body value {value} of {header_name} is outside the "
                                      "safe integer range (2**53 - 1)", m)
            if not _matches(decoded, value):
                return self._mismatch(f"{header_name} header value {decoded!r} does not match "
                                      f"body value {value!r}", m)
        return None

    def _check_batch(self, version: str | None) -> Reject | None:
        refusal = batch_refusal(version)  # the engine's rule
        return None if refusal is None else self._refuse_message(version, refusal)

    def _anonymous(self) -> _Session:
        self._anon += 1
        sid = f"anon-{self._anon}"
        session = self._sessions[sid] = _Session(sid)
        return session

    def _new_stream(self, session: _Session, *, json: bool = False,
                    standalone: bool = False) -> _Stream:
        session.next_stream += 1
        stream = _Stream(str(session.next_stream), json=json, standalone=standalone)
        session.streams[stream.id] = stream
        return stream

    def _priming(self, session: _Session, stream: _Stream) -> bytes:
        retry = self.retry_ms
        if retry.__class__ is int and retry >= 0:
            # What encode_event("", id=..., retry=...) makes, without its checks: the id is
            # the core's own (digits), the retry a count. Made for every POST of a request.
            return b"id: %s/0\nretry: %d\ndata:\n\n" % (stream.id.encode(), retry)
        return encode_event("", id=f"{stream.id}/0", retry=retry)

    def _get(self, request: CompleteRequest) -> Outcome:
        if self.stateless:
            return Reject(405, (_JSON, ("allow", "POST")),
                          self._rpc_error(-32600, "GET is not supported by a stateless server"))
        accept = _media_types(request.header("accept"))
        if "text/event-stream" not in accept and "*/*" not in accept:
            return self._reject(406, -32600, "Accept must list text/event-stream")
        refused = self._check_version(request)
        if refused is not None:
            return refused
        found = self._session_of(request)
        if isinstance(found, Reject):
            return found
        session = found
        headers = (*_SSE_HEADERS, ("mcp-session-id", session.id))
        last = request.header("last-event-id")
        if last is not None:
            stream_id, _, _ = last.partition("/")
            stream = session.streams.get(stream_id)
            replay = self.events.after(session.id, stream_id, last)
            if stream is None or replay is None:
                return self._reject(400, -32600, f"cannot resume after event {last!r}")
            if stream.standalone and stream.attached and session.standalone == stream.id:
                return self._reject(409, -32600, "the stream is already being listened to")
            stream.attached = not stream.done
            if stream.standalone:
                session.standalone = stream.id
            return Listen(session.id, stream.id, headers, tuple(replay), stream.done,
                          keepalive=stream.standalone)
        if session.standalone is not None:
            return self._reject(409, -32600, "a standalone SSE stream is already open for "
                                "this session")
        stream = self._new_stream(session, standalone=True)
        session.standalone = stream.id
        backlog, session.backlog = session.backlog, []
        replay = [self._event(session, stream, data) for data in backlog]
        return Listen(session.id, stream.id, headers,
                      (self._priming(session, stream), *replay))

    def _delete(self, request: CompleteRequest) -> Outcome:
        if self.stateless:
            return Reject(405, (_JSON, ("allow", "POST")),
                          self._rpc_error(-32600, "DELETE is not supported by a stateless server"))
        found = self._session_of(request)
        if isinstance(found, Reject):
            return found
        self.terminate(found.id)
        return Terminate(found.id)

    def delivered(self, session_id: str, stream_id: str) -> None:
        """The adapter wrote the final event of ``stream_id`` and ended its response: the
        stream completed and was read whole, so its events leave the event store
        (:meth:`EventStore.forget_stream`) and the stream is forgotten (a ``Last-Event-ID``
        naming it gets 400 from now on)."""
        session = self._sessions.get(session_id)
        if session is not None:
            stream = session.streams.get(stream_id)
            if stream is not None and stream.done and not stream.standalone:
                del session.streams[stream_id]
        self.events.forget_stream(session_id, stream_id)

    def expire(self, now: float) -> None:
        """Let the event store drop what is older than its age bound (``now``: the
        adapter's clock, seconds)."""
        self.events.expire(now)

    # -- outgoing messages

    def abandon(self, session_id: str, stream_id: str) -> None:
        """The adapter refused the POST of ``stream_id`` after :meth:`handle` (its session had
        no room for the message): forget the stream, and the session too if it was made for
        that one request (stateless, 2026-07-28). Nothing was given to the session."""
        session = self._sessions.get(session_id)
        if session is None:
            return
        stream = session.streams.pop(stream_id, None)
        if session.shared:
            if stream is not None:
                self._forget_shared(session, stream)
            return
        if session.oneshot or self.stateless:
            self._sessions.pop(session_id, None)

    def detach(self, session_id: str, stream_id: str) -> StreamClosed | None:
        """The connection carrying ``stream_id`` went away (the stream may be resumed).

        For a 2026-07-28 request's stream (:attr:`OpenStream.modern`) closed before its answer,
        this is the request's cancellation: the one-request session is forgotten (nothing
        more is routed for it) and the returned :class:`StreamClosed` names the requests the
        adapter cancels in the engine. Otherwise returns ``None``.
        """
        session = self._sessions.get(session_id)
        stream = session.streams.get(stream_id) if session else None
        if session is None or stream is None:
            return None
        if session.shared:
            self._forget_shared(session, stream)
            if stream.done:
                return None
            stream.done = True
            return StreamClosed(session.id, stream.id, (stream.request_id,))
        if session.oneshot:
            self._sessions.pop(session.id, None)
            if stream.done:
                return None
            stream.done = True
            ids = tuple(sorted((rid for _, rid in stream.waiting), key=repr))
            stream.waiting.clear()
            return StreamClosed(session.id, stream.id, ids)
        stream.attached = False
        if stream.standalone and session.standalone == stream_id:
            session.standalone = None
        return None

    def _prune(self, session: _Session, keep: int = 64) -> None:
        """Forget the oldest finished streams (kept so a dropped one can still be resumed)."""
        done = [sid for sid, st in session.streams.items() if st.done and not st.attached]
        for sid in done[:-keep] if len(done) > keep else ():
            del session.streams[sid]

    def _event(self, session: _Session, stream: _Stream, data: bytes) -> bytes:
        stream.seq += 1
        event_id = f"{stream.id}/{stream.seq}"
        event = encode_event(data, id=event_id)
        self.events.append(session.id, stream.id, event_id, event)
        return event

    def route(self, session_id: str | None, frame: bytes | Frame, related: Any = None
              ) -> list[StreamEvent]:
        """Decide where one frame the session wrote goes; return the bytes per stream.

        Responses go to the stream of the POST that carried their request (and end it once
        every request of that POST is answered). Requests and notifications go to the
        stream of ``related`` (the request being served when they were written) while it is
        open, else to the standalone GET stream, else they wait for one.

        Args:
            session_id: the session (for a stateless server, the id from :class:`OpenStream`
                is ``None``: pass the stream's session key the adapter keeps).
            frame: one :class:`~sansio.frames.Frame` from ``Connection.frames_to_send()``
                (routed by its fields, not decoded), or one frame's bytes (JSON text, with or
                without the trailing newline), which are decoded to learn the same.
            related: the id of the request being served when the frame was written.
        """
        session = self._sessions.get(session_id or "")
        if session is None:
            return []
        if session.shared:
            if isinstance(frame, Frame):
                return self._route_shared(session, frame, frame.data.rstrip(b"\n"),
                                          frame.answers, related)
            try:
                obj = self._loads(frame)
            except _codec.DecodeError:  # pragma: no cover - the engine writes valid JSON
                return []
            items = obj if isinstance(obj, list) else [obj]
            return self._route_shared(session, frame, frame.rstrip(b"\n"),
                                      [m.get("id") for m in items if classify(m) in _ANSWERS],
                                      related)
        if isinstance(frame, Frame):
            data = frame.data.rstrip(b"\n")
            # typed keys (see _key), inlined: the hot path
            response_ids: list[Any] = [(rid.__class__, rid) for rid in frame.answers]
            if frame.kind is FrameKind.ERROR and frame.request_id is None:
                response_ids = [_key(None)]  # an answer to a frame whose id could not be read
            if (frame.kind is FrameKind.RESPONSE and frame.method == "initialize"
                    and session.init_request is not None
                    and _key(frame.request_id) == session.init_request
                    and frame.protocol_version is not None):
                session.version = frame.protocol_version
        else:
            try:
                obj = self._loads(frame)
            except _codec.DecodeError:  # pragma: no cover - the engine writes valid JSON
                return []
            data = frame.rstrip(b"\n")
            items = obj if isinstance(obj, list) else [obj]
            response_ids = [(rid.__class__, rid) for m in items
                            if classify(m) in _ANSWERS for rid in (m.get("id"),)]
            if session.init_request is not None and session.init_request in response_ids:
                for m in items:
                    if (isinstance(m, dict) and _key(m.get("id")) == session.init_request
                            and isinstance(m.get("result"), dict)):
                        version = m["result"].get("protocolVersion")
                        if isinstance(version, str):
                            session.version = version
        if response_ids:
            # Newest first: if a client reuses an id that is still in flight, the engine's
            # immediate "duplicate id" error belongs to the POST that just carried it.
            for stream in reversed(session.streams.values()):
                if stream.done or not stream.waiting.intersection(response_ids):
                    continue
                stream.waiting.difference_update(response_ids)
                final = not stream.waiting
                stream.done = final
                out = data if stream.json else self._event(session, stream, data)
                status = None
                whole = b""
                if final:
                    self._prune(session)
                    if session.oneshot:
                        status = self._error_status(frame, data)
                        whole = data
                if final and (self.stateless or session.oneshot):
                    self._sessions.pop(session.id, None)
                answer = StreamEvent(stream.id, out, final, status, whole)
                return [answer] if stream.attached or not stream.json else []
            return []
        if related is not None:
            related = _key(related)
            for stream in session.streams.values():
                if related in stream.waiting and not stream.done:
                    if stream.json:
                        break  # a JSON answer has no room for it: try the standalone stream
                    event = self._event(session, stream, data)
                    return [StreamEvent(stream.id, event)] if stream.attached else []
        if session.standalone is not None:
            stream = session.streams[session.standalone]
            event = self._event(session, stream, data)
            return [StreamEvent(stream.id, event)] if stream.attached else []
        if not (self.stateless or session.oneshot):
            session.backlog.append(data)
            del session.backlog[:-1000]
        return []

    def _error_status(self, frame: bytes | Frame, data: bytes) -> int | None:
        """The HTTP status of a 2026-07-28 answer that is an error with one of its own."""
        if isinstance(frame, Frame) and frame.kind is not FrameKind.ERROR:
            return None
        try:
            obj = self._loads(data)
        except _codec.DecodeError:  # pragma: no cover - the engine writes valid JSON
            return None
        error = obj.get("error") if isinstance(obj, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return _ERROR_STATUS.get(code) if code.__class__ is int else None

    def version_of(self, session_id: str) -> str:
        """The revision a session negotiated (2025-03-26 when unknown, as the spec says)."""
        session = self._sessions.get(session_id)
        return (session.version if session and session.version else _LEGACY_DEFAULT_VERSION)
