"""The transport interface the sessions drive, and the simplest transports.

A :class:`Transport` is a duplex path for NDJSON MCP frames to one peer: :meth:`Transport.send`
writes whole frames (each JSON text followed by ``b"\\n"``), :meth:`Transport.receive` returns the
next chunk of bytes the peer wrote (any split: the engine reassembles lines), and ``b""`` at end of
input. Transports raise trio's own exceptions: :class:`trio.BrokenResourceError` when the peer or
the path failed, :class:`trio.ClosedResourceError` when this side closed it first.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

from sansio.frames import Frame

from ._sync import Pipe, PipeEnd

__all__ = ["MemoryTransport", "StreamTransport", "Transport", "memory_transport_pair"]

_CHUNK = 65536


class InlineFeed(Protocol):
    """A session's :attr:`Transport.feed_inline`."""

    def __call__(self, data: bytes, claim: list[Any] | None = None) -> Awaitable[bool]: ...


class Transport(trio.abc.AsyncResource):
    """A connected duplex path carrying NDJSON frames to one peer.

    Subclasses implement :meth:`send`, :meth:`receive` and :meth:`aclose`. One task receives at
    a time; the session serializes writers itself.
    """

    #: Set by the session running this transport (``None`` before it starts and once it has
    #: closed): ``await feed_inline(data)`` has the session process ``data`` in the calling
    #: task, exactly as its reader would have, when the reader is idle (see
    #: :meth:`reader_idle`), and returns True; it returns False, having done nothing, when the
    #: reader is busy or has input waiting: the caller then delivers ``data`` the usual way
    #: (through :meth:`receive`), so that the session still sees its input in order. A
    #: transport whose input comes from its own tasks (HTTP) uses it to save the hop to the
    #: reader task. With ``claim`` (an empty list), the first request in ``data`` is handed
    #: to the caller to serve in its own task (``BaseSession.serve_claimed``).
    feed_inline: InlineFeed | None = None

    #: Set by the session while it writes its own request with this id (the send lock
    #: held): a transport that reads each request's answer on its own (HTTP) may leave that
    #: answer to the caller instead (see :meth:`take_answer`).
    claiming: Any = None

    def take_answer(self, request_id: Any) -> Callable[[], Awaitable[None]] | None:
        """After the session wrote request ``request_id`` (:attr:`claiming`): an async
        callable that reads its answer in the calling task and gives it to the session
        (through :attr:`feed_inline`, or the reader), or None (the default: the reader
        task gets it). The session calls it at once, under the request's deadline; a
        cancelled call closes what it was reading (in 2026-07-28, the request's
        cancellation)."""
        return None

    def release_answer(self, request_id: Any) -> None:
        """The session will not call :meth:`take_answer` for ``request_id`` (its write
        failed): an answer left for the caller is read in the background instead."""

    def reader_idle(self) -> bool:
        """Whether the session's reader waits in :meth:`receive` with nothing delivered that
        it has not taken yet (the condition for :attr:`feed_inline`). The default: False
        (a transport that does not know never has its input processed inline)."""
        return False

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


#: How many unread writes each direction of :func:`memory_transport_pair` holds by default.
DEFAULT_BUFFER = 256


class MemoryTransport(PipeEnd, Transport):
    """One end of an in-process transport; make pairs with :func:`memory_transport_pair`.

    Each :meth:`send` is delivered whole to the other end's :meth:`receive`, with no copy.
    :meth:`receive` returns at once when data is waiting (a schedule point at least every
    16 calls in a row, so a peer that never stops writing cannot starve other tasks). The
    machinery is :class:`trio_adapter._sync.PipeEnd`, checked by trio's generic stream tests.
    """


def memory_transport_pair(
    buffer: float = DEFAULT_BUFFER,
) -> tuple[MemoryTransport, MemoryTransport]:
    """Return two connected in-memory transports ``(a, b)``: what ``a`` sends, ``b`` receives.

    Closing one end makes the other's :meth:`~Transport.receive` return ``b""`` (after what
    was already sent) and its :meth:`~Transport.send` raise :class:`trio.BrokenResourceError`.

    Each direction is bounded: once ``buffer`` writes are unread, :meth:`~Transport.send`
    waits for the reader (back-pressure) and :meth:`~Transport.send_nowait` returns 0. A
    session writes one chunk per engine flush, and its reader drains its side all the time,
    so the bound is reached only when the reading side stalls; as with any bounded pair, two
    peers that each stop reading until their own write fits wait for each other.

    Args:
        buffer: how many unread writes each direction holds before ``send`` waits (default
            256; 0 makes every write wait for a reader; ``math.inf`` removes the bound and is
            meant for tests only).

    Raises:
        ValueError: ``buffer`` is below 0.
    """
    if buffer < 0:
        raise ValueError("buffer must be >= 0")
    a_to_b, b_to_a = Pipe(buffer), Pipe(buffer)
    return MemoryTransport(a_to_b, b_to_a), MemoryTransport(b_to_a, a_to_b)
