"""Small helpers the adapter modules share."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

S = TypeVar("S")

__all__ = ["park", "receive_after_wait", "send_quickly", "session_scope", "write_nowait"]

QUICK_WRITES_IN_A_ROW = 16
"""How many writes :func:`send_quickly` may finish in a row without a schedule point."""

_quick_writes = itertools.count(1)
_POSIX = os.name == "posix"


async def send_quickly(
    stream: trio.abc.SendStream, data: bytes
) -> bytes | memoryview:
    """Write what of ``data`` the kernel takes at once, and return the rest (empty: all of it).

    On a plain TCP stream (:class:`trio.SocketStream`, POSIX) this is one non-blocking write
    of the socket: a cancellation point, but not a schedule point, so a request or an answer
    the kernel takes whole costs no trip through the scheduler (``stream.send_all`` always
    makes one). Every :data:`QUICK_WRITES_IN_A_ROW`-th call, and on every other kind of
    stream (TLS, pipes, memory), nothing is written here and all of ``data`` is returned, for
    the caller's ``stream.send_all``, which keeps trio's rules. The caller must be the
    stream's only writer (the stream's own conflict detector is not consulted), and it
    sends the rest with ``send_all`` under its own deadline.

    A write that fails (the peer reset the connection, the socket is closed) writes nothing
    and returns all of ``data``: ``send_all`` then raises the error trio's way
    (:class:`trio.BrokenResourceError`, :class:`trio.ClosedResourceError`).

    Raises:
        trio.Cancelled: the caller is cancelled (nothing was written).
    """
    await trio.lowlevel.checkpoint_if_cancelled()
    return write_nowait(stream, data)


def write_nowait(stream: trio.abc.SendStream, data: bytes) -> bytes | memoryview:
    """:func:`send_quickly` without its cancellation point, for code that cannot wait (a
    synchronous callback): the same write, the same rules, the same rest to send. Never
    raises."""
    if not _POSIX or type(stream) is not trio.SocketStream or not data:
        return data
    if next(_quick_writes) % QUICK_WRITES_IN_A_ROW == 0:  # a schedule point now and then
        return data
    sock = stream.socket
    fd = sock.fileno()
    if fd == -1 or sock.did_shutdown_SHUT_WR:
        return data
    try:
        sent = os.write(fd, data)
    except OSError:  # BlockingIOError (the kernel's buffer is full) and real failures
        return data
    return memoryview(data)[sent:] if sent < len(data) else b""


async def receive_after_wait(stream: trio.abc.ReceiveStream, max_bytes: int
                             ) -> bytes | bytearray:
    """``stream.receive_some(max_bytes)`` for a read that is not expected to find data yet
    (what the peer sent so far is all read, and it has just been sent something to answer).

    On a plain TCP stream (:class:`trio.SocketStream`, POSIX) this waits for the socket to
    be readable first and then reads once: trio's ``receive_some`` starts with a read that
    fails (and raises, and is caught) whenever nothing is there yet. If data is there after
    all, the wait ends at the scheduler's next look at the sockets (one round later, never
    a hang). Other streams: ``receive_some``. A checkpoint either way.

    Raises:
        trio.BrokenResourceError: the read failed (the peer reset the connection).
        trio.ClosedResourceError: the stream was closed (before or during the wait).
        trio.BusyResourceError: another task is reading the stream.
    """
    if not _POSIX or type(stream) is not trio.SocketStream:
        return await stream.receive_some(max_bytes)
    sock = stream.socket
    if sock.fileno() == -1:
        return await stream.receive_some(max_bytes)  # raises trio's ClosedResourceError
    await trio.lowlevel.wait_readable(sock)
    fd = sock.fileno()
    if fd == -1:  # closed while this task waited  # pragma: no cover - wait_readable raises
        raise trio.ClosedResourceError("the stream was closed")
    try:
        return os.read(fd, max_bytes)
    except BlockingIOError:  # readable, and yet nothing (another reader took it)
        return await stream.receive_some(max_bytes)
    except OSError as exc:  # as trio's SocketStream says it
        raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc


async def park(waiters: list[trio.lowlevel.Task]) -> None:
    """Wait in ``waiters`` until a task takes this one out of the list and reschedules it.

    The waker removes the task from ``waiters`` before ``trio.lowlevel.reschedule``; a waiter
    that is cancelled first removes itself. The building block of the session's write lock
    and one-way flags and of the memory transport's pipes.

    Raises:
        trio.Cancelled: while waiting (the task is no longer in ``waiters``).
    """
    task = trio.lowlevel.current_task()
    waiters.append(task)

    def abort(_: object) -> trio.lowlevel.Abort:
        waiters.remove(task)
        return trio.lowlevel.Abort.SUCCEEDED

    await trio.lowlevel.wait_task_rescheduled(abort)


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception a group carries, looking through nested groups; else ``None``."""
    found: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            found.append(exc)

    walk(group)
    return found[0] if len(found) == 1 else None


@asynccontextmanager
async def session_scope(
    open_session: Callable[[trio.Nursery], Awaitable[S]],
    close: Callable[[S], Awaitable[Any]],
) -> AsyncIterator[S]:
    """Run a session in a private nursery for the duration of an ``async with`` block.

    The session's own tasks never raise (they record failures as the session's close
    reason), so the only exception that can leave the nursery is the body's (or the opener's):
    it is re-raised as itself rather than inside an exception group.
    """
    try:
        async with trio.open_nursery() as nursery:
            session = await open_session(nursery)
            try:
                yield session
            finally:
                await close(session)  # bounded; under cancellation it skips the grace period
    except BaseExceptionGroup as group:
        single = _single(group)
        if single is None:
            raise
        raise single from single.__cause__  # its own cause kept; the group's context not
