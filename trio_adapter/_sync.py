"""The adapter's own synchronisation primitives: a write lock, a one-way flag and a pipe.

Each is a lighter stand-in for a trio primitive, kept because it measurably pays for itself
(``benchmarks/variants.py`` runs run.py's in-memory workloads with trio's own primitive swapped
in; see the numbers in each docstring):

- :class:`WriteLock` for :class:`trio.StrictFIFOLock`: taking it when free is not a schedule
  point, so a session's write costs no trip through the scheduler;
- :class:`Flag` for :class:`trio.Event`: a bool and a list, made once per outgoing request;
- :class:`Pipe` (one direction of bytes) and its ends for a pair of trio memory channels:
  no deques or ordered dicts per direction, no exception raised to find a buffer empty.

All are built on :func:`~trio_adapter._util.park`, which parks the current task in a list
until a waker takes it out (or it is cancelled and takes itself out), and every buffer is
bounded. :class:`PipeStream` is the pipe behind trio's :class:`trio.abc.HalfCloseableStream`
interface, so that trio's own generic stream tests (``trio.testing.check_half_closeable_stream``)
check the pipe; :class:`~trio_adapter.MemoryTransport` is a :class:`PipeEnd` too.
"""

from __future__ import annotations

import operator

import trio

from sansio._fifo import Fifo

from ._util import park

__all__ = ["Flag", "Pipe", "PipeEnd", "PipeStream", "WriteLock", "pipe_stream_pair"]

YIELD_EVERY = 16
"""How many receives in a row may return at once, without a schedule point."""


class WriteLock:
    """A strict-FIFO lock whose uncontended acquire is not a schedule point.

    ``async with lock:`` takes it; released, it goes straight to the longest waiter (strict
    FIFO, like :class:`trio.StrictFIFOLock`), and a waiter that is cancelled leaves the queue
    without trace. Unlike trio's locks, taking a free lock is neither a checkpoint nor a
    schedule point: callers that must be checkpoints keep that rule by other means. It is not
    re-entrant (a holder that takes it again waits forever) and does not check that the
    releasing task is the holder: it serves one ``async with`` block at a time.

    Why not :class:`trio.StrictFIFOLock`: with it, run.py's ``concurrent`` workload runs at
    about half the rate (benchmarks/variants.py, ``lock`` row).
    """

    __slots__ = ("_held", "_waiters")

    def __init__(self) -> None:
        self._held = False
        self._waiters: list[trio.lowlevel.Task] = []

    async def __aenter__(self) -> None:
        if not self._held:
            self._held = True
            return
        await park(self._waiters)  # woken owning the lock

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        """Release the lock: hand it to the longest waiter, or leave it free.

        Raises:
            RuntimeError: the lock is not held.
        """
        if not self._held:
            raise RuntimeError("release of a WriteLock that is not held")
        if self._waiters:
            trio.lowlevel.reschedule(self._waiters.pop(0))  # handed over: still held
        else:
            self._held = False

    def locked(self) -> bool:
        """Whether a task holds the lock."""
        return self._held

    def waiting(self) -> int:
        """How many tasks wait for the lock."""
        return len(self._waiters)


class Flag:
    """A one-way flag tasks can wait for: :class:`trio.Event`'s behaviour, lighter.

    ``wait()`` returns at once (a checkpoint) once set; otherwise it parks the task until
    :meth:`set`. A cancelled waiter leaves no trace. Sessions keep a few of these and make
    one per outgoing request, so an idle session holds a bool and an empty list each.

    Why not :class:`trio.Event`: with it, run.py's ``in-memory`` and ``concurrent``
    workloads run 15-30% slower (benchmarks/variants.py, ``flag`` row).
    """

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[trio.lowlevel.Task] = []

    def is_set(self) -> bool:
        """Whether :meth:`set` was called."""
        return self._set

    def set(self) -> None:
        """Set the flag and wake every waiter. Idempotent."""
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, []
        for task in waiters:
            trio.lowlevel.reschedule(task)

    async def wait(self) -> None:
        """Wait until the flag is set.

        Raises:
            trio.Cancelled: while waiting.
        """
        if self._set:
            await trio.lowlevel.checkpoint()
            return
        await park(self._waiters)


class Pipe:
    """One direction of an in-memory byte path: a bounded FIFO of chunks, its reader, writers.

    ``limit`` is how many unread chunks it holds before writers wait (back-pressure); with 0 a
    write waits for a reader (a rendezvous). Lighter than a trio memory channel pair: an idle
    session pair keeps two of these.

    Why not two trio memory channels: with them, run.py's ``concurrent`` workload runs at
    about half the rate, ``churn`` a third slower, and an idle session costs about 25% more
    memory (benchmarks/variants.py, ``pipe`` row).
    """

    __slots__ = ("_chunks", "eof", "limit", "reader_closed", "readers", "writers")

    def __init__(self, limit: float) -> None:
        if limit < 0:
            raise ValueError("buffer must be >= 0")
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


class PipeEnd:
    """One end of a pipe pair: writes go to ``outgoing``, reads come from ``incoming``.

    Each :meth:`send` is delivered whole to the other end's :meth:`receive` (no copy).
    :meth:`receive` returns at once when data is waiting, with a schedule point at least every
    :data:`YIELD_EVERY` calls in a row, so a peer that never stops writing cannot starve other
    tasks. Closing this end makes the other's reads return ``b""`` (after what was already
    sent) and its writes raise :class:`trio.BrokenResourceError`.
    """

    def __init__(self, outgoing: Pipe, incoming: Pipe) -> None:
        self._out = outgoing
        self._in = incoming
        self._eof_sent = False
        self._closed = False
        self._immediate = 0

    def _check_send(self) -> Pipe:
        if self._eof_sent or self._closed:
            raise trio.ClosedResourceError("send after send_eof or aclose")
        pipe = self._out
        if pipe.reader_closed:
            raise trio.BrokenResourceError("the other end is closed")
        return pipe

    def send_nowait(self, data: bytes) -> int:
        """Write ``data`` if it fits now; return ``len(data)``, or 0 when the pipe is full.

        Raises:
            trio.BrokenResourceError: the other end is closed.
            trio.ClosedResourceError: this end was closed or half-closed.
        """
        pipe = self._check_send()
        if not pipe.has_room():
            return 0
        pipe.put(data)
        return len(data)

    async def send(self, data: bytes) -> None:
        """Write ``data`` as one chunk, waiting for room. A checkpoint.

        Raises:
            as :meth:`send_nowait`; also when the condition arises while waiting.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            pipe = self._check_send()
            if pipe.has_room():
                pipe.put(data)
                await trio.lowlevel.cancel_shielded_checkpoint()
                return
            await park(pipe.writers)

    async def receive(self) -> bytes:
        """Return the next chunk; ``b""`` once the other end closed and all was read.

        Raises:
            trio.ClosedResourceError: this end is closed (also while waiting).
            trio.BusyResourceError: another task is receiving.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        pipe = self._in
        while True:
            if self._closed:
                raise trio.ClosedResourceError("this end is closed")
            if len(pipe):
                data = pipe.take()
                self._immediate += 1
                if self._immediate >= YIELD_EVERY:
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
        """Close the writing direction: the other end reads what is left, then ``b""``."""
        self._eof_sent = True
        self._out.eof = True
        self._out.wake_reader()
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """Close this end (idempotent); wakes every task waiting on either direction.

        Closes even when cancelled, and then does not raise (a schedule point only).
        """
        self.close_now()
        await trio.lowlevel.cancel_shielded_checkpoint()

    def close_now(self) -> None:
        """What :meth:`aclose` does, without the schedule point."""
        if not self._closed:
            self._closed = True
            self._eof_sent = True
            self._out.eof = True  # the peer reads what is left, then b""
            self._in.reader_closed = True  # the peer's writes now fail
            self._out.wake_all()  # the peer's reader; our own writers waiting for room
            self._in.wake_all()  # our own waiting reader sees the close, blocked writers too


class PipeStream(trio.abc.HalfCloseableStream):
    """A pipe end as a :class:`trio.abc.HalfCloseableStream` (see :func:`pipe_stream_pair`).

    Adds what trio's stream contract asks beyond :class:`PipeEnd`: ``send_all`` copies
    ``bytearray``/``memoryview`` data and writes nothing for ``b""``; ``receive_some``
    honours ``max_bytes`` (the rest of a chunk stays for the next call); two tasks sending
    (or two receiving) at once get :class:`trio.BusyResourceError`; every call is a
    checkpoint.
    """

    def __init__(self, outgoing: Pipe, incoming: Pipe) -> None:
        self._end = PipeEnd(outgoing, incoming)
        self._rest = b""
        self._sending = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._sending:
            raise trio.BusyResourceError("another task is sending on this stream")
        self._sending = True
        try:
            if not data:
                await trio.lowlevel.checkpoint_if_cancelled()
                self._end._check_send()
                await trio.lowlevel.cancel_shielded_checkpoint()
                return
            await self._end.send(bytes(data))
        finally:
            self._sending = False

    async def wait_send_all_might_not_block(self) -> None:
        if self._sending:
            raise trio.BusyResourceError("another task is sending on this stream")
        self._sending = True
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            while True:
                pipe = self._end._check_send()
                if pipe.has_room():
                    await trio.lowlevel.cancel_shielded_checkpoint()
                    return
                await park(pipe.writers)
        finally:
            self._sending = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if max_bytes is not None:
            max_bytes = operator.index(max_bytes)
            if max_bytes < 1:
                raise ValueError("max_bytes must be >= 1")
        if self._rest:
            await trio.lowlevel.checkpoint_if_cancelled()
            if self._end._closed:
                raise trio.ClosedResourceError("this end is closed")
            data = self._rest
            await trio.lowlevel.cancel_shielded_checkpoint()
        else:
            data = await self._end.receive()
            await trio.lowlevel.cancel_shielded_checkpoint()  # every call a schedule point
        if max_bytes is not None and len(data) > max_bytes:
            data, self._rest = data[:max_bytes], data[max_bytes:]
        else:
            self._rest = b""
        return data

    async def send_eof(self) -> None:
        if self._sending:
            raise trio.BusyResourceError("another task is sending on this stream")
        await self._end.send_eof()

    async def aclose(self) -> None:
        """Close this end; a checkpoint (closed first, even when cancelled)."""
        self._rest = b""
        self._end.close_now()
        await trio.lowlevel.checkpoint()


def pipe_stream_pair(buffer: float = 256) -> tuple[PipeStream, PipeStream]:
    """Two connected :class:`PipeStream`\\ s; each direction holds ``buffer`` unread writes.

    Raises:
        ValueError: ``buffer`` is below 0.
    """
    a_to_b, b_to_a = Pipe(buffer), Pipe(buffer)
    return PipeStream(a_to_b, b_to_a), PipeStream(b_to_a, a_to_b)
