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


class MemoryTransport(Transport):
    """One end of an in-process transport; make pairs with :func:`memory_transport_pair`.

    Each :meth:`send` is delivered whole to the other end's :meth:`receive`, with no copy.
    """

    def __init__(
        self,
        send_channel: trio.MemorySendChannel[bytes],
        receive_channel: trio.MemoryReceiveChannel[bytes],
    ) -> None:
        self._send = send_channel
        self._receive = receive_channel
        self._eof_sent = False

    async def send(self, data: bytes) -> None:
        if self._eof_sent:
            raise trio.ClosedResourceError("send after send_eof")
        await self._send.send(data)

    def send_nowait(self, data: bytes) -> int:
        if self._eof_sent:
            raise trio.ClosedResourceError("send after send_eof")
        try:
            self._send.send_nowait(data)
        except trio.WouldBlock:
            return 0
        return len(data)

    async def receive(self) -> bytes:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            return b""

    async def start(self, nursery: trio.Nursery | None = None) -> None:
        """Nothing to do: the channels are ready."""

    async def send_eof(self) -> None:
        self._eof_sent = True
        await self._send.aclose()

    async def aclose(self) -> None:
        self._eof_sent = True
        self._send.close()
        self._receive.close()
        await trio.lowlevel.cancel_shielded_checkpoint()


def memory_transport_pair(buffer: float = math.inf) -> tuple[MemoryTransport, MemoryTransport]:
    """Return two connected in-memory transports ``(a, b)``: what ``a`` sends, ``b`` receives.

    Closing one end makes the other's :meth:`~Transport.receive` return ``b""`` and its
    :meth:`~Transport.send` raise :class:`trio.BrokenResourceError`.

    Args:
        buffer: how many unread writes each direction holds before ``send`` blocks.
    """
    a_send, b_receive = trio.open_memory_channel[bytes](buffer)
    b_send, a_receive = trio.open_memory_channel[bytes](buffer)
    return MemoryTransport(a_send, a_receive), MemoryTransport(b_send, b_receive)
