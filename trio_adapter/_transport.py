"""The transport interface the sessions drive, and the simplest transports.

A :class:`Transport` is a duplex path for NDJSON MCP frames to one peer: :meth:`Transport.send`
writes whole frames (each JSON text followed by ``b"\\n"``), :meth:`Transport.receive` returns the
next chunk of bytes the peer wrote (any split: the engine reassembles lines), and ``b""`` at end of
input. Transports raise trio's own exceptions: :class:`trio.BrokenResourceError` when the peer or
the path failed, :class:`trio.ClosedResourceError` when this side closed it first.
"""

from __future__ import annotations

import abc
import math

import trio

from sansio._fifo import Fifo
from sansio.frames import Frame

from ._util import park

__all__ = ["MemoryTransport", "StreamTransport", "Transport", "memory_transport_pair"]

_CHUNK = 65536


class Transport(trio.abc.AsyncResource):
    """A connected duplex path carrying NDJSON frames to one peer.

    Subclasses implement :meth:`send`, :meth:`receive` and :meth:`aclose`. One task receives at
    a time; the session serializes writers itself.
    """

    @abc.abstractmethod
    async def send(self, data: bytes) -> None:
        """Write ``data`` (one or more whole frames).

        Raises:
            trio.BrokenResourceError: the peer is gone or the path failed.
            trio.ClosedResourceError: this transport was closed.
        """

    @abc.abstractmethod
    async def receive(self) -> bytes:
        """Return the next bytes from the peer; ``b""`` once the peer has closed its side.

        Raises:
            trio.BrokenResourceError: the path failed.
            trio.ClosedResourceError: this transport was closed.
        """

    async def send_frames(self, frames: list[Frame]) -> None:
        """Write frames the engine produced (``Connection.frames_to_send()``).

        A transport that routes messages (HTTP) overrides this to use each frame's fields
        (kind, request id, the request it belongs to) instead of decoding the bytes; the
        session then hands it frames rather than bytes. The default writes the frames' bytes
        with :meth:`send`.

        Raises:
            as :meth:`send`.
        """
        await self.send(b"".join([frame.data for frame in frames]))

    def send_nowait(self, data: bytes) -> int:
        """Write as much of ``data`` as can be written without waiting; return how much.

        The session's fast path: it calls :meth:`send` with the rest when this returns less
        than ``len(data)``. Never blocks and is not a checkpoint. The default writes nothing
        and returns 0.

        Raises:
            trio.BrokenResourceError: the peer is gone or the path failed.
            trio.ClosedResourceError: this transport was closed.
        """
        return 0

    async def start(self, nursery: trio.Nursery | None = None) -> None:
        """Make the path usable (a process transport spawns its child here).

        The session calls it once, before anything is sent, with the session's own nursery
        for any background task the transport needs (an HTTP transport's SSE readers); those
        tasks end when the session does. The default does nothing.
        """
        await trio.lowlevel.checkpoint()

    async def send_eof(self) -> None:
        """Tell the peer nothing more will be written (half-close), where the transport can.

        The default does nothing; :meth:`aclose` always ends the path.
        """


class StreamTransport(Transport):
    """A :class:`Transport` over any :class:`trio.abc.Stream` (a socket, a pipe pair, ...).

    Args:
        stream: the stream; it is owned by the transport from now on and closed by
            :meth:`aclose`.
        max_chunk: the most bytes one :meth:`receive` returns.
    """

    def __init__(self, stream: trio.abc.Stream, *, max_chunk: int = _CHUNK) -> None:
        self.stream = stream
        self._max_chunk = max_chunk

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def receive(self) -> bytes:
        return bytes(await self.stream.receive_some(self._max_chunk))

    async def send_eof(self) -> None:
        if isinstance(self.stream, trio.abc.HalfCloseableStream):
            await self.stream.send_eof()

    async def aclose(self) -> None:
        await self.stream.aclose()


_YIELD_EVERY = 16
"""How many receives in a row may return at once, without a schedule point."""


class _Pipe:
    """One direction of an in-memory transport: a FIFO of chunks, its reader and writers.

    Lighter than a trio memory channel pair (no deques or ordered dicts per direction, no
    exception raised to find the FIFO empty): an idle session pair keeps two of these.
    """

    __slots__ = ("_chunks", "eof", "limit", "reader_closed", "readers", "writers")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._chunks: Fifo[bytes] = Fifo()
        self.eof = False  # the writing end is closed
        self.reader_closed = False
        self.readers: list[trio.lowlevel.Task] = []  # the one task waiting to read, if any
        self.writers: list[trio.lowlevel.Task] = []  # tasks waiting for room, oldest first

    def __len__(self) -> int:
        return self._chunks.pending()

    def has_room(self) -> bool:
        """Whether a write fits: under the limit, or (limit 0) a reader waits for it."""
        n = self._chunks.pending()
        return n < self.limit or (n == 0 and bool(self.readers))

    def put(self, data: bytes) -> None:
        self._chunks.append(data)
        self.wake_reader()

    def take(self) -> bytes:
        data = self._chunks.popleft()
        if self.writers:
            trio.lowlevel.reschedule(self.writers.pop(0))
        return data

    def wake_reader(self) -> None:
        if self.readers:
            trio.lowlevel.reschedule(self.readers.pop())

    def wake_all(self) -> None:
        self.wake_reader()
        writers, self.writers = self.writers, []
        for task in writers:
            trio.lowlevel.reschedule(task)


class MemoryTransport(Transport):
    """One end of an in-process transport; make pairs with :func:`memory_transport_pair`.

    Each :meth:`send` is delivered whole to the other end's :meth:`receive`, with no copy.
    :meth:`receive` returns at once when data is waiting (a schedule point at least every
    16 calls in a row, so a peer that never stops writing cannot starve other tasks).
    """

    def __init__(self, outgoing: _Pipe, incoming: _Pipe) -> None:
        self._out = outgoing
        self._in = incoming
        self._eof_sent = False
        self._closed = False
        self._immediate = 0

    def _check_send(self) -> _Pipe:
        if self._eof_sent or self._closed:
            raise trio.ClosedResourceError("send after send_eof or aclose")
        pipe = self._out
        if pipe.reader_closed:
            raise trio.BrokenResourceError("the other end is closed")
        return pipe

    def send_nowait(self, data: bytes) -> int:
        pipe = self._check_send()
        if not pipe.has_room():
            return 0
        pipe.put(data)
        return len(data)

    async def send(self, data: bytes) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            pipe = self._check_send()
            if pipe.has_room():
                pipe.put(data)
                await trio.lowlevel.cancel_shielded_checkpoint()
                return
            await park(pipe.writers)

    async def receive(self) -> bytes:
        await trio.lowlevel.checkpoint_if_cancelled()
        pipe = self._in
        while True:
            if self._closed:
                raise trio.ClosedResourceError("this end is closed")
            if len(pipe):
                data = pipe.take()
                self._immediate += 1
                if self._immediate >= _YIELD_EVERY:
                    self._immediate = 0
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return data
            if pipe.eof:
                return b""
            if pipe.readers:
                raise trio.BusyResourceError("another task is receiving on this transport")
            self._immediate = 0
            if pipe.writers:  # with no buffer, a writer waits for a reader: here is one
                trio.lowlevel.reschedule(pipe.writers.pop(0))
            await park(pipe.readers)

    async def start(self, nursery: trio.Nursery | None = None) -> None:
        """Nothing to do: the pipes are ready."""

    async def send_eof(self) -> None:
        self._eof_sent = True
        self._out.eof = True
        self._out.wake_reader()
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._eof_sent = True
            self._out.eof = True  # the peer reads what is left, then b""
            self._in.reader_closed = True  # the peer's writes now fail
            self._out.wake_reader()
            self._in.wake_all()  # our own waiting reader sees the close, blocked writers too
        await trio.lowlevel.cancel_shielded_checkpoint()


def memory_transport_pair(buffer: float = math.inf) -> tuple[MemoryTransport, MemoryTransport]:
    """Return two connected in-memory transports ``(a, b)``: what ``a`` sends, ``b`` receives.

    Closing one end makes the other's :meth:`~Transport.receive` return ``b""`` (after what
    was already sent) and its :meth:`~Transport.send` raise :class:`trio.BrokenResourceError`.

    Args:
        buffer: how many unread writes each direction holds before ``send`` blocks.

    Raises:
        ValueError: ``buffer`` is below 0.
    """
    if buffer < 0:
        raise ValueError("buffer must be >= 0")
    a_to_b, b_to_a = _Pipe(buffer), _Pipe(buffer)
    return MemoryTransport(a_to_b, b_to_a), MemoryTransport(b_to_a, a_to_b)
