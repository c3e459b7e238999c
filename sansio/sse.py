"""Server-Sent Events: an encoder and an incremental decoder, with no I/O.

The format is the WHATWG one (https://html.spec.whatwg.org/multipage/server-sent-events.html):
lines end in CR LF, LF or CR; a line starting with ``:`` is a comment; ``field: value`` lines
set ``event``, ``data`` (several are joined with ``\\n``), ``id`` and ``retry``; a blank line
dispatches the event. An event with no ``data`` line is not dispatched, except that its ``id``
still updates the last event id and its ``retry`` the reconnection time.

>>> decoder = SSEDecoder()
>>> decoder.feed(encode_event('{"a":1}', id="s1:1"))
[SSEEvent(data='{"a":1}', event='message', id='s1:1', retry=None)]
"""

from __future__ import annotations

import attrs

__all__ = ["SSEDecoder", "SSEError", "SSEEvent", "encode_comment", "encode_event"]


class SSEError(ValueError):
    """The stream broke a limit (a line or event longer than the decoder accepts)."""


@attrs.frozen
class SSEEvent:
    """One dispatched event.

    Attributes:
        data: the event's data (the ``data`` lines joined with ``\\n``).
        event: the event type (``"message"`` when the stream gave none).
        id: the last event id in force when the event was dispatched, if any.
        retry: the reconnection time in milliseconds, if this event set one.
    """

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


def _check_field(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"an SSE {name} cannot contain a line break")


def encode_event(
    data: str | bytes | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """Encode one event (ending with the blank line that dispatches it).

    ``data`` may span several lines; each becomes a ``data:`` line. ``data=""`` writes an
    empty ``data:`` line (a priming event); ``None`` writes none.

    Raises:
        ValueError: ``event`` or ``id`` contains a line break, ``id`` contains NUL, or
            ``retry`` is negative.
    """
    parts: list[bytes] = []
    if event is not None:
        _check_field("event", event)
        parts.append(b"event: " + event.encode())
    if id is not None:
        _check_field("id", id)
        if "\0" in id:
            raise ValueError("an SSE id cannot contain NUL")
        parts.append(b"id: " + id.encode())
    if retry is not None:
        if retry < 0:
            raise ValueError("retry must not be negative")
        parts.append(b"retry: %d" % retry)
    if data is not None:
        raw = data.encode() if isinstance(data, str) else data
        if b"\n" not in raw and b"\r" not in raw:  # one line (a JSON-RPC message): no copies
            parts.append(b"data: " + raw if raw else b"data:")
        else:
            for line in raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
                parts.append(b"data: " + line if line else b"data:")
    return b"\n".join(parts) + b"\n\n"


def encode_comment(text: str = "") -> bytes:
    """Encode a comment line (ignored by clients; useful as a keepalive)."""
    _check_field("comment", text)
    return b": " + text.encode() + b"\n\n" if text else b":\n\n"


class SSEDecoder:
    """Incremental SSE parser: :meth:`feed` bytes, get the events they complete.

    Args:
        max_line: the longest line accepted, in bytes.
        max_event: the most data one event may accumulate, in bytes.

    Attributes:
        last_event_id: the last ``id`` seen (the value to send as ``Last-Event-ID``).
        retry: the last ``retry`` seen, in milliseconds.
    """

    def __init__(self, *, max_line: int = 16 * 1024 * 1024, max_event: int = 16 * 1024 * 1024
                 ) -> None:
        self._buf = bytearray()
        self._max_line = max_line
        self._max_event = max_event
        self._first = True
        self._pending_cr = False
        self._data: list[str] = []
        self._size = 0
        self._event = ""
        self._event_retry: int | None = None
        self.last_event_id: str | None = None
        self.retry: int | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Consume ``data``; return the events it completes, in order.

        Raises:
            SSEError: a line or an event exceeds the limits.
        """
        events: list[SSEEvent] = []
        buf = self._buf
        if not buf and not self._pending_cr and b"\r" not in data:
            # The usual case (a whole body, LF line ends, nothing kept from the last feed):
            # its lines at once.
            lines = data.split(b"\n")
            rest = lines.pop()  # after the last LF: a line still to be completed
            for line in lines:
                self._line(line, events)
            if len(rest) > self._max_line:
                raise SSEError(f"SSE line longer than {self._max_line} bytes")
            buf += rest
            return events
        if self._pending_cr and data[:1] == b"\n":
            data = data[1:]  # the LF of a CR LF split across chunks
        self._pending_cr = False
        # What is kept from the last feed holds no line end: look in the new bytes only, and
        # look for each kind of line end again only once passed (no CR: never again), so a
        # chunk of many lines, or one long line in many chunks, costs linear time.
        scan = len(buf)
        buf += data
        start = 0
        n = len(buf)
        lf = buf.find(b"\n", scan)
        cr = buf.find(b"\r", scan)
        while lf >= 0 or cr >= 0:
            if cr >= 0 and (lf < 0 or cr < lf):
                end = cr
                if cr + 1 < n:
                    nxt = cr + 2 if buf[cr + 1] == 0x0A else cr + 1
                else:
                    nxt = cr + 1
                    self._pending_cr = True
            else:
                end, nxt = lf, lf + 1
            self._line(bytes(buf[start:end]), events)
            start = nxt
            if 0 <= lf < start:
                lf = buf.find(b"\n", start)
            if 0 <= cr < start:
                cr = buf.find(b"\r", start)
        del buf[:start]
        if len(buf) > self._max_line:
            raise SSEError(f"SSE line longer than {self._max_line} bytes")
        return events

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        if self._first:
            self._first = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        if not raw:
            self._dispatch(events)
            return
        if raw[:1] == b":":
            return
        line = raw.decode("utf-8", "replace")
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._size += len(value) + 1
            if self._size > self._max_event:
                raise SSEError(f"SSE event larger than {self._max_event} bytes")
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isdigit() and value.isascii():
            self.retry = self._event_retry = int(value)

    def _dispatch(self, events: list[SSEEvent]) -> None:
        if self._data:  # one empty ``data:`` line dispatches an event with empty data
            events.append(SSEEvent("\n".join(self._data), self._event or "message",
                                   self.last_event_id, self._event_retry))
        self._data = []
        self._size = 0
        self._event = ""
        self._event_retry = None
