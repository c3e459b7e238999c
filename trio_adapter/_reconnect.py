"""Reconnecting a client session whose transport failed (``Client.connect(reconnect=...)``).

Theory of operation
-------------------
A :class:`~trio_adapter.ClientSession` made with a :class:`Reconnect` policy has a
:class:`Reconnector`. Its one hook into the session is the close path: a close for a
:class:`~trio_adapter.PeerDisconnected` (EOF, a failed read or write, a killed child, a stream
that cannot be resumed, a keepalive with no answer) is handed to :meth:`Reconnector.lost`
first, which takes it over while attempts remain. Taking it over means, at once and without
a schedule point:

- every call waiting for an answer fails with ``PeerDisconnected(retry_safe=...)`` (the
  ``subscriptions/listen`` requests excepted: they are sent again);
- the session stops being ready, so calls made from now on wait for the next transport;
- the reader is told to stop (it then waits for the next transport), the handlers of the
  server's requests are cancelled (nobody is left to answer);
- one reconnect task is started in the session's nursery (if none runs).

The reconnect task waits the policy's backoff (jittered, from :mod:`sansio.reconnect`; the
randomness is this module's), closes the old transport, opens a new one
(``transport.reopened()``: a fresh child process, a new HTTP connection) with a new engine,
settles the era again (the probe, or ``initialize``), sends the listens again and marks the
session ready, all within ``attempt_timeout``. An attempt that fails counts, and the next
waits longer; once ``max_attempts`` attempts have been made without an answered call in
between, the session closes with a terminal ``PeerDisconnected`` (``reconnect gave up after
N attempts: ...``), which every waiting and later call gets at once. A local close
(``aclose``, leaving the block, the owner's cancellation) is never handed over: it never
restarts anything.
"""

from __future__ import annotations

import contextlib
import random
from typing import TYPE_CHECKING, Any

import attrs
import trio

from sansio import LocalProtocolError
from sansio.reconnect import Reconnect, retry_safe

from . import errors
from ._sync import Flag

if TYPE_CHECKING:
    from ._transport import Transport
    from .client import ClientSession

__all__ = ["Reconnect", "ReconnectInfo", "Reconnector", "reopenable"]

#: The randomness of the backoff's jitter (not for anything secret).
_random = random.Random()


@attrs.define
class ReconnectInfo:
    """What the reconnects of one session did (``session.reconnects``), for supervisors and
    tests. Read-only for users; the session updates it in place.

    Attributes:
        attempts: attempts made since the last call the server answered (the bounded count).
        total_attempts: every attempt made, successful or not.
        reconnects: how many times a new transport replaced a failed one.
        reconnecting: whether the transport is being replaced now (calls wait meanwhile).
        last_error: why the last transport was lost, or why the last attempt failed.
        gave_up: the terminal error's reason, once the attempts were spent.
    """

    attempts: int = 0
    total_attempts: int = 0
    reconnects: int = 0
    reconnecting: bool = False
    last_error: str | None = None
    gave_up: str | None = None


def reopenable(transport: Transport) -> bool:
    """Whether ``transport`` can give a fresh copy of itself (``reopened()``)."""
    return callable(getattr(transport, "reopened", None))


class Reconnector:
    """The reconnect machinery of one client session (see the module docstring)."""

    def __init__(self, session: ClientSession, policy: Reconnect, mode: Any,
                 pinned: str | None) -> None:
        self.session = session
        self.policy = policy
        self.mode = mode
        self.pinned = pinned
        self.info = ReconnectInfo()
        #: The current transport failed and is not replaced yet (calls must not use it).
        self.down = False
        self._running = False
        self._reconnected = trio.Event()

    # ------------------------------------------------------------------ the hook

    def lost(self, error: errors.PeerDisconnected) -> bool:
        """The transport failed with ``error``: take the close over (True) while attempts
        remain and the session is open; False lets the session close for good. Never waits."""
        session = self.session
        if session.closed or session._nursery is None or self.info.gave_up is not None:
            return False
        if not self._running and self.policy.exhausted(self.info.attempts):
            self.info.last_error = error.reason
            self._give_up()  # closes the session with the terminal error
            return True
        error.retry_safe = retry_safe(session._era == "modern", None)
        self.info.last_error = error.reason
        self._mark_down(error)
        if not self._running:
            self._running = True
            self.info.reconnecting = True
            session._nursery.start_soon(self._run, name="trio-mcp reconnect")
        return True

    def _mark_down(self, error: errors.PeerDisconnected) -> None:
        """Fail what waits on the dead transport and stop using it (sync, idempotent). A
        closing session is left alone: its close already failed everything, for good."""
        session = self.session
        if session.closed:
            return
        self.down = True
        modern = session._era == "modern"
        listening = session._listeners
        for rid, slot in list(session._pending.items()):
            if rid in listening:
                continue  # sent again on the next transport
            del session._pending[rid]
            slot.set_error(errors.PeerDisconnected(
                error.reason, request_id=rid, method=slot.method,
                retry_safe=retry_safe(modern, slot.method)))
        if session._ready.is_set():
            session._ready = Flag()
        if session._era_settled.is_set():
            session._era_settled = trio.Event()
        scope = session._read_scope
        if scope is not None:
            scope.cancel()
        session._cancel_handlers()

    def _gone(self) -> bool:
        return self.session.closed

    def closed(self) -> None:
        """The session is closing for good: wake :meth:`wait_reconnected`."""
        self.info.reconnecting = False
        self._reconnected.set()

    def answered(self) -> None:
        """A call was answered over the current transport: the attempt count restarts."""
        if not self.down:
            self.info.attempts = 0

    # ------------------------------------------------------------------ waiting

    async def wait_reconnected(self) -> ReconnectInfo:
        """Wait for the next successful reconnect; return :attr:`info`.

        Raises:
            PeerDisconnected: the attempts were spent (the terminal error), or
            SessionClosed: the session closed first.
        """
        event = self._reconnected
        await event.wait()
        self.session._check_open()
        return self.info

    # ------------------------------------------------------------------ the task

    async def _run(self) -> None:
        session = self.session
        policy = self.policy
        info = self.info
        try:
            while not self._gone():
                if policy.exhausted(info.attempts):
                    self._give_up()
                    return
                info.attempts += 1
                info.total_attempts += 1
                old = session._transport
                hint = getattr(old, "retry_hint", None)
                await trio.sleep(policy.delay(info.attempts, _random.random(),
                                              hint if isinstance(hint, (int, float)) else None))
                if self._gone():
                    return
                try:
                    with trio.fail_after(policy.attempt_timeout):
                        await self._attempt(old)
                except (errors.ConnectError, errors.SessionClosed, OSError, LocalProtocolError,
                        trio.BrokenResourceError, trio.ClosedResourceError,
                        trio.TooSlowError) as exc:
                    reason = str(exc) if not isinstance(exc, trio.TooSlowError) else \
                        f"attempt timed out after {policy.attempt_timeout:g} s"
                    info.last_error = reason
                    self._mark_down(errors.PeerDisconnected(reason))
                    continue
                if self.down:  # the new transport failed during the attempt's last steps
                    continue
                info.reconnects += 1
                info.reconnecting = False
                event, self._reconnected = self._reconnected, trio.Event()
                event.set()
                return
        finally:
            self._running = False
            if session.closed:
                info.reconnecting = False
                self._reconnected.set()

    async def _attempt(self, old: Transport) -> None:
        session = self.session
        with trio.CancelScope(shield=True), trio.move_on_after(session._close_timeout), \
                contextlib.suppress(Exception):  # a dead transport may fail to close
            await old.aclose()
        # Handlers of the old transport's requests were cancelled: let them finish first, so
        # none answers on the new engine.
        if session._handlers:
            with trio.move_on_after(session._close_timeout):
                session._handlers_idle = Flag()
                await session._handlers_idle.wait()
        new: Transport = old.reopened()  # type: ignore[attr-defined]
        nursery = session._nursery
        if nursery is None:
            raise errors.SessionClosed("session closed")
        with trio.CancelScope(shield=True):
            await new.start(nursery)  # spawning a child is never cut in half
        if session.closed:
            with trio.CancelScope(shield=True):
                await new.aclose()
            raise errors.SessionClosed("session closed")
        session._install(new)
        self.down = False
        await session._connect(self.mode, self.pinned)
        await session._resend_listens()
        session._ready.set()

    def _give_up(self) -> None:
        session = self.session
        info = self.info
        reason = (f"reconnect gave up after {info.attempts} attempt"
                  f"{'s' if info.attempts != 1 else ''}: {info.last_error}")
        info.gave_up = reason
        info.reconnecting = False
        session._close(errors.PeerDisconnected(reason), grace=False)
