"""HTTP/1.1 heads on a path cheaper than h11, for the exact common case; h11 for the rest.

h11 is the framing authority: it validates every head, and it alone handles every case that
is not the one below. What this module adds is a way to recognise, by its bytes, a head h11
has already judged, and to write a head h11 has already written, so that the common exchange
of a Streamable HTTP connection (a keep-alive HTTP/1.1 ``POST`` or ``GET`` framed by
``Content-Length``, answered with a ``Content-Length`` body) costs a dictionary lookup
instead of h11's per-event state machine and per-field regular expressions.

The rule that keeps it exact: a head is taken on the fast path only if h11 itself, on a fresh
connection, parsed those very bytes (or wrote them) and the result is *simple*:

- a request: HTTP/1.1, not ``HEAD`` or ``CONNECT``, no ``Transfer-Encoding``, ``Expect`` or
  ``Upgrade`` field, a ``Connection`` field only if it says just ``keep-alive`` (as browsers
  and Node.js send it), its body framed by ``Content-Length`` (or none);
- a response: HTTP/1.1, a status from 200 to 599 but 204 and 304, a ``Content-Length``, no
  ``Transfer-Encoding`` field, a ``Connection`` field only if it says just ``keep-alive``.

Anything else (and every head h11 refuses) is answered ``None``, and the caller hands the
bytes to h11, which then behaves exactly as it would have alone. Results are cached by the
head's bytes (bounded: ``max_heads`` entries of at most :data:`MAX_CACHED_HEAD` bytes each; a
larger head always goes to h11), so a head h11 has judged once costs nothing the next time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import h11

if TYPE_CHECKING:
    from .http import HeadCache as _Heads

#: The largest head (request line or status line, and fields) whose judgement is cached.
MAX_CACHED_HEAD: Final = 4096

_REFUSED_REQUEST_FIELDS: Final = frozenset((b"transfer-encoding", b"expect", b"upgrade"))
_REFUSED_RESPONSE_FIELDS: Final = frozenset((b"transfer-encoding",))


def _keeps_alive(raw: list[tuple[bytes, bytes]]) -> bool:
    """Whether every ``Connection`` field of a head only says ``keep-alive`` (what HTTP/1.1
    means without one: h11 then acts as if there were none)."""
    for name, value in raw:
        if name.lower() == b"connection" and any(
                token.strip().lower() != b"keep-alive" for token in value.split(b",")):
            return False
    return True
_PROBE_REQUEST: Final = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"

#: A received request head judged simple: method, target, fields (lowercase name, value) as
#: text, the body's length, and the fields by name (repeated ones comma-joined).
RequestHead = tuple[str, str, tuple[tuple[str, str], ...], int, dict[str, str]]
#: A received response head judged simple: status, fields as text, and the body's length.
ResponseHead = tuple[int, tuple[tuple[str, str], ...], int]


def head_end(data: bytes | bytearray) -> int:
    """Where a head that ends in CRLF CRLF ends in ``data`` (the index past its blank line),
    found as h11 finds it (the first ``LF [CR] LF``).

    Returns ``-1`` when no head ends in ``data`` yet, ``-2`` when the first head ends in a
    bare LF (not the simple form: give the bytes to h11).
    """
    crlf = data.find(b"\n\r\n")
    lf = data.find(b"\n\n")
    if lf != -1 and (crlf == -1 or lf < crlf):
        return -2
    if crlf == -1:
        return -1
    if crlf == 0 or data[crlf - 1] != 13:  # "\n\r\n" after a bare LF line
        return -2
    return crlf + 3


def header_index(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """``headers`` (lowercase names) by name, the values of a repeated field comma-joined."""
    index: dict[str, str] = {}
    for key, value in headers:
        index[key] = f"{index[key]}, {value}" if key in index else value
    return index


def _text_fields(raw: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw)


def _content_length(fields: tuple[tuple[str, str], ...]) -> int | None:
    for name, value in fields:
        if name == "content-length":
            return int(value)  # h11 has checked it: digits only
    return None


def judge_request(head: bytes) -> RequestHead | None:
    """What h11 makes of request head ``head`` (its bytes up to and with the blank line), if
    simple; else ``None`` (h11 refuses it, or it is not the simple form)."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=len(head) + 1)
    conn.receive_data(head)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    if not isinstance(event, h11.Request) or event.http_version != b"1.1" \
            or event.method in (b"HEAD", b"CONNECT") \
            or conn.their_state not in (h11.SEND_BODY, h11.DONE) or conn.trailing_data[0]:
        return None
    raw = event.headers.raw_items()
    if any(name.lower() in _REFUSED_REQUEST_FIELDS for name, _ in raw) or not _keeps_alive(raw):
        return None
    fields = _text_fields(raw)
    length = _content_length(fields)
    if length is None and conn.their_state is not h11.DONE:  # pragma: no cover - h11 frames
        return None
    return (event.method.decode("ascii"), event.target.decode("ascii"), fields, length or 0,
            header_index(fields))


def judge_response(head: bytes) -> ResponseHead | None:
    """What h11 makes of response head ``head`` (to a ``POST``; the same framing as ``GET``
    and ``DELETE``), if simple; else ``None``."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=len(head) + 1)
    conn.send(h11.Request(method="POST", target="/", headers=[("host", "x"),
                                                              ("content-length", "0")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(head)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    if not isinstance(event, h11.Response) or event.http_version != b"1.1" \
            or event.status_code in (204, 304) or conn.trailing_data[0]:
        return None
    raw = event.headers.raw_items()
    if any(name.lower() in _REFUSED_RESPONSE_FIELDS for name, _ in raw) or not _keeps_alive(raw):
        return None
    fields = _text_fields(raw)
    length = _content_length(fields)
    if length is None:  # read until close, or chunked: h11's
        return None
    return (event.status_code, fields, length)


def write_response_head(event: h11.Response) -> bytes | None:
    """The bytes h11 writes for ``event`` answering a keep-alive HTTP/1.1 request that is not
    ``HEAD``, if the response is simple (its ``Content-Length`` given); else ``None``."""
    if event.status_code in (204, 304) or event.status_code < 200:
        return None
    names = {name for name, _ in event.headers}  # h11's normalised (lowercase) names
    if b"content-length" not in names or names & _REFUSED_RESPONSE_FIELDS \
            or not _keeps_alive(list(event.headers)):
        return None
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(_PROBE_REQUEST)
    conn.next_event()
    conn.next_event()
    return conn.send(event)


def write_request_head(event: h11.Request) -> bytes | None:
    """The bytes h11 writes for request ``event``, if it is simple (HTTP/1.1, not ``HEAD`` or
    ``CONNECT``, framed by ``Content-Length`` or bodiless, with none of the fields that change
    the connection's rules); else ``None``."""
    if event.method in (b"HEAD", b"CONNECT"):
        return None
    names = {name for name, _ in event.headers}
    if names & _REFUSED_REQUEST_FIELDS or not _keeps_alive(list(event.headers)):
        return None
    conn = h11.Connection(h11.CLIENT)
    return conn.send(event)


class ResponseStart:
    """The head of a response a :class:`ClientConnection` received: its status and fields
    (lowercase names, text values), whichever path read it."""

    __slots__ = ("fields", "status_code")

    def __init__(self, status_code: int, fields: tuple[tuple[str, str], ...]) -> None:
        self.status_code = status_code
        self.fields = fields


class ClientConnection:
    """One client-side HTTP/1.1 connection: h11, with the fast path for the common exchange
    (a simple request, :func:`write_request_head`, answered by a simple response,
    :func:`judge_response`, whose body is then sliced off by its ``Content-Length``).

    The subset of h11's interface a client needs: :meth:`send_request` (the whole request's
    bytes), :meth:`receive_data`, :meth:`next_event` (h11's ``NEED_DATA``, ``PAUSED``,
    :class:`h11.Data`, :class:`h11.EndOfMessage`, :class:`h11.ConnectionClosed`, and a
    :class:`ResponseStart` for the head), :attr:`reusable` and :meth:`start_next_cycle`.
    Whenever the exchange is not the simple one (the request or the response head is not,
    or the peer closes before a whole head), h11 is given the request and what was received
    (:meth:`_to_h11`) and answers from then on exactly as it would have alone; a close in
    the middle of a body raises :class:`h11.RemoteProtocolError` as h11 does.

    Args:
        heads: the cache of judged and written heads (a :class:`sansio.http.HeadCache`).
        max_head: the most bytes read looking for a response head's end before h11 is
            left to judge (and refuse) it.
        fast: ``False``: h11 alone (the reference the tests hold the fast path against).
    """

    def __init__(self, heads: _Heads, *, max_head: int = 64 * 1024, fast: bool = True) -> None:
        self.h11 = h11.Connection(h11.CLIENT)
        self._heads = heads
        self._max_head = max_head
        self._fast_ok = fast
        self._synced = not fast
        self._request: tuple[str, str, tuple[tuple[str, str], ...], bytes] | None = None
        self._buf = b""
        self._eof = False
        self._left = -1  # body bytes still to come; -1: the head is not read yet
        self._done = False  # the response was read whole (EndOfMessage given)

    def send_request(self, method: str, target: str, headers: tuple[tuple[str, str], ...],
                     body: bytes = b"") -> bytes:
        """The bytes of a whole request (head and body).

        Raises:
            h11.LocalProtocolError: h11 refuses the head, or a request is already in hand.
        """
        if not self._synced and self._request is None:
            head = self._heads.request_bytes(method, target, headers)
            if head is not None:
                self._request = (method, target, headers, body)
                return head + body if body else head
        self._to_h11()
        conn = self.h11
        out = conn.send(self._heads.request(method, target, headers)) or b""
        if body:
            out += conn.send(h11.Data(data=body)) or b""
        return out + (conn.send(h11.EndOfMessage()) or b"")

    def _to_h11(self) -> None:
        """Hand h11 the request in hand (its bytes are not sent again: they went out) and
        what has been received; from now on h11 answers everything."""
        if self._synced:
            return
        self._synced = True
        request, self._request = self._request, None
        conn = self.h11
        if request is not None:
            method, target, headers, body = request
            conn.send(self._heads.request(method, target, headers))
            if body:
                conn.send(h11.Data(data=body))
            conn.send(h11.EndOfMessage())
        pending, self._buf = self._buf, b""
        if pending:
            conn.receive_data(pending)
        if self._eof:
            conn.receive_data(b"")

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the socket; ``b""`` at EOF."""
        if self._synced:
            self.h11.receive_data(data)
        elif data:
            self._buf += data
        else:
            self._eof = True

    def next_event(self) -> Any:
        """The next event of the response (see the class).

        Raises:
            h11.RemoteProtocolError: the response is malformed, or cut in its body.
        """
        if not self._synced:
            if self._request is not None:
                event = self._next_fast()
                if event is not None:
                    return event
            else:
                self._to_h11()  # bytes with no request in hand: h11 judges them
        event = self.h11.next_event()
        if isinstance(event, h11.Response):
            return ResponseStart(event.status_code,
                                 self._heads.received(event.headers.raw_items())[0])
        return event

    def _next_fast(self) -> Any:
        """An event on the fast path, or ``None`` when h11 has been given the exchange."""
        buf = self._buf
        if self._left < 0:
            end = head_end(buf)
            if end == -1 and len(buf) <= self._max_head and not self._eof:
                return h11.NEED_DATA
            head = self._heads.received_response(buf[:end]) if end > 0 else None
            if head is None:
                self._to_h11()
                return None
            status, fields, self._left = head
            self._buf = buf[end:]
            return ResponseStart(status, fields)
        if self._done:
            return h11.PAUSED
        if self._left == 0:
            self._done = True
            return h11.EndOfMessage()
        if buf:
            piece, self._buf = buf[:self._left], buf[self._left:]
            self._left -= len(piece)
            return h11.Data(data=piece)
        if self._eof:
            raise h11.RemoteProtocolError("peer closed connection without sending complete "
                                          f"message body: {self._left} bytes missing")
        return h11.NEED_DATA

    @property
    def body_received(self) -> bool:
        """Whether every byte of the response's body has been received and handed out as
        ``Data`` (what is left is its ``EndOfMessage``); False while more is to come, and
        whenever h11 carries the exchange (it is not known there without reading on)."""
        return not self._synced and self._left == 0

    @property
    def reusable(self) -> bool:
        """Whether the exchange is over and the connection may carry another (keep-alive on
        both sides, the whole response read)."""
        if not self._synced:
            return self._request is not None and self._done
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def start_next_cycle(self) -> None:
        """Get ready for the next request (only when :attr:`reusable`).

        Raises:
            h11.LocalProtocolError: the exchange is not over.
        """
        if not self._synced:
            if not self.reusable:
                raise h11.LocalProtocolError("the response is not read whole")
            self._request, self._left, self._done = None, -1, False
            if self._buf:  # bytes after the response: the next exchange's, h11 judges them
                self._to_h11()
            return
        self.h11.start_next_cycle()
        data, closed = self.h11.trailing_data
        if not data and not closed and self._fast_ok:
            self._synced = False
