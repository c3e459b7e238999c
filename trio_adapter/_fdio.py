"""Reads and writes on non-blocking file descriptors with as few schedule points as possible.

trio's ``FdStream`` checkpoints before every read and every write, and then waits for the
descriptor when it is not ready: a call that reads one response costs two trips through the
scheduler where one would do. The process transports use these helpers on the descriptors of
their trio streams instead (reading :meth:`trio.lowlevel.FdStream.fileno`), and keep the
streams for closing, which tells trio the descriptor is going away.

The rules kept: a read that returns at once is still a checkpoint every
:data:`YIELD_EVERY` calls (a peer that always has data ready cannot starve other tasks), and
every call honours cancellation on entry.
"""

from __future__ import annotations

import errno
import os

import trio

__all__ = ["FdReader", "fd_send_all", "fd_send_nowait"]

YIELD_EVERY = 16
"""How many reads in a row may return without a schedule point."""

_BROKEN = frozenset({errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ESHUTDOWN})


def _translate(exc: OSError) -> Exception:
    if exc.errno == errno.EBADF:
        return trio.ClosedResourceError("the descriptor was closed")
    if exc.errno in _BROKEN:
        return trio.BrokenResourceError(f"the peer is gone: {exc}")
    return trio.BrokenResourceError(f"I/O error: {exc}")


def fd_send_nowait(fd: int, data: bytes | memoryview) -> int:
    """Write what ``fd`` takes now; return how many bytes that was (0 when it is full).

    Raises:
        trio.BrokenResourceError: the reader is gone (EPIPE) or the write failed.
        trio.ClosedResourceError: ``fd`` is closed.
    """
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError as exc:
        raise _translate(exc) from exc


async def fd_send_all(fd: int, data: bytes) -> None:
    """Write all of ``data``, waiting for ``fd`` to drain as needed.

    A checkpoint: the write happens first when ``fd`` has room, then one schedule point.

    Raises:
        as :func:`fd_send_nowait`.
    """
    await trio.lowlevel.checkpoint_if_cancelled()
    view = memoryview(data)
    sent = fd_send_nowait(fd, view)
    while sent < len(view):
        await trio.lowlevel.wait_writable(fd)
        sent += fd_send_nowait(fd, view[sent:])
    await trio.lowlevel.cancel_shielded_checkpoint()


class FdReader:
    """Reads chunks from one non-blocking descriptor, for one task at a time.

    Args:
        fd: the descriptor (non-blocking; not owned: close it elsewhere).
        max_chunk: the most bytes one :meth:`receive` returns.
    """

    __slots__ = ("_fd", "_immediate", "_max")

    def __init__(self, fd: int, max_chunk: int) -> None:
        self._fd = fd
        self._max = max_chunk
        self._immediate = 0

    async def receive(self) -> bytes:
        """Return the next bytes; ``b""`` at end of input.

        Returns without a schedule point when data is already there (at most
        :data:`YIELD_EVERY` times in a row); otherwise waits for the descriptor.

        Raises:
            trio.BrokenResourceError: the read failed.
            trio.ClosedResourceError: the descriptor was closed (also while waiting).
            trio.Cancelled: on entry when cancelled, or while waiting.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        fd = self._fd
        while True:
            try:
                data = os.read(fd, self._max)
            except BlockingIOError:
                self._immediate = 0
                await trio.lowlevel.wait_readable(fd)
                continue
            except OSError as exc:
                raise _translate(exc) from exc
            self._immediate += 1
            if self._immediate >= YIELD_EVERY:
                self._immediate = 0
                await trio.lowlevel.cancel_shielded_checkpoint()
            return data
