"""Framing: NDJSON (newline-delimited JSON), as MCP's stdio transport uses it.

https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio: "Messages are
delimited by newlines, and MUST NOT contain embedded newlines."

:class:`LineBuffer` cuts a byte stream into lines; a partial line waits for more data; blank lines
(and a ``\\r`` before the ``\\n``) are tolerated; a line longer than the limit is an error raised
as soon as it is certain, without buffering more than the limit plus one chunk.
"""

from __future__ import annotations

from ._fifo import Fifo

__all__ = ["FrameTooLarge", "LineBuffer", "encode_line"]


class FrameTooLarge(ValueError):
    """A line exceeds the buffer's ``max_line`` (the stream can't be resynchronised)."""


def encode_line(json_text: bytes) -> bytes:
    """Return ``json_text`` as one NDJSON line.

    Raises:
        ValueError: ``json_text`` contains a newline (compact JSON never does).
    """
    if b"\n" in json_text:
        raise ValueError("an NDJSON frame must not contain a newline")
    return json_text + b"\n"


class LineBuffer:
    """Incremental NDJSON splitter.

    Args:
        max_line: the longest line accepted, in bytes (without its newline).
    """

    __slots__ = ("_buf", "_ready", "_scan_from", "max_line")

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._scan_from = 0
        # Whole lines cut from chunks that arrived line-aligned (the common case), kept as they
        # came so that no bytes are copied through the bytearray.
        self._ready: Fifo[bytes] = Fifo()

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes."""
        if not self._buf and data[-1:] == b"\n" and data.__class__ is bytes:
            assert isinstance(data, bytes)
            if data.count(b"\n") == 1:
                self._ready.append(data[:-1])
            else:
                self._ready.extend(data.split(b"\n")[:-1])
        else:
            self._buf += data

    def next_line(self) -> bytes | None:
        """Return the next non-blank line (without its newline), or ``None`` if none is complete.

        Raises:
            FrameTooLarge: the next line is longer than ``max_line``.
        """
        ready = self._ready
        while ready:
            line = ready.popleft()
            if len(line) > self.max_line:
                raise FrameTooLarge(f"frame exceeds max_frame_size ({self.max_line} bytes)")
            if line.strip():
                return line
        buf = self._buf
        while buf:
            end = buf.find(b"\n", self._scan_from)
            if end < 0:
                if len(buf) > self.max_line:
                    raise FrameTooLarge(f"frame exceeds max_frame_size ({self.max_line} bytes)")
                self._scan_from = len(buf)
                return None
            if end > self.max_line:
                raise FrameTooLarge(f"frame exceeds max_frame_size ({self.max_line} bytes)")
            line = bytes(buf[:end])
            del buf[: end + 1]
            self._scan_from = 0
            if line.strip():
                return line
        return None

    def leftover(self) -> bytes:
        """The bytes of an incomplete line (for diagnostics at end of input)."""
        return bytes(self._buf)

    def clear(self) -> None:
        """Forget everything buffered."""
        self._ready.clear()
        self._buf.clear()
        self._scan_from = 0
