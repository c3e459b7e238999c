"""The machinery both session kinds share: one engine, one transport, tasks and slots.

Theory of operation
-------------------
A session owns one :class:`sansio.Connection` and one :class:`~trio_adapter.Transport`. It runs
in a single task (:meth:`BaseSession._run`, started with ``nursery.start``) that opens a private
nursery and is, inside it, the **reader**: the only task that calls ``transport.receive()``,
``engine.receive_data()`` and ``engine.next_event()``, and hands each event to
:meth:`BaseSession._dispatch` (the one place events are acted on). It answers ``ping`` and
protocol errors itself, resolves response slots, runs notification handlers in arrival order,
and starts one task per incoming request. The private nursery also holds:

- one **handler task per incoming request**, each under its own cancel scope, which
  ``RequestCancelled`` (or the end of the session's grace period) cancels;
- the transport's own tasks (an HTTP client's stream readers), the optional **keepalive**
  task, and a server's notifier while it has notifications to send;
- while the session closes, the **shutdown** task.

An idle session is one task: nothing else runs until there is something to do.

Every write goes through :meth:`BaseSession._flush`: the engine call that produces the frames and
the write happen under one FIFO lock (:class:`~trio_adapter._sync.WriteLock`: taken without a
schedule point when free), so frames leave in the order the engine made them; a transport that
can take the bytes at once (:meth:`Transport.send_nowait`) is written to without a trip through
the scheduler. Each outgoing request waits on its own one-shot :class:`_Slot`.

Closing
-------
The session's life is one explicit state, :class:`SessionState`, that only moves forward::

    OPEN --_close()--> CLOSING --end of _run()--> CLOSED

Every route into a close calls :meth:`BaseSession._close` with the reason: a local
:meth:`~BaseSession.aclose`, the peer's end of input or a failed read (the engine reports
``PeerDisconnected``), a failed write (:meth:`~BaseSession._flush`), a fatal protocol error, a
keepalive timeout, an internal error in the reader, and the cancellation of the nursery that
owns the session (``_run``'s ``finally``). The first call wins: it records the reason
(:attr:`~BaseSession.close_reason`), fails every pending call with it at once, and starts
:meth:`~BaseSession._shutdown` in the private nursery (or, closed before it ran, ``_run``
starts it); every later call does nothing. The shutdown sequence gives handlers
``handler_grace`` seconds (none when the route is a failure) while the reader still reads,
closes the engine, cancels the handlers, closes the transport (bounded by ``close_timeout``;
for a child process: stdin closed, then SIGTERM, then SIGKILL) and cancels the private
nursery. When the nursery has ended, ``_run`` (shielded) finishes whatever a cancelled owner
cut short, and is the only place the state becomes CLOSED; :meth:`~BaseSession.wait_closed`
returns from then on. :meth:`~BaseSession.aclose` is :meth:`~BaseSession._close` and then
``wait_closed``, so any number of tasks may call it at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import functools
import itertools
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, cast

import attrs
import trio

from sansio import (
    NEED_DATA,
    Closed,
    Connection,
    Era,
    ErrorCode,
    ErrorReceived,
    Event,
    Initialized,
    InitializeRequested,
    LocalProtocolError,
    NotificationReceived,
    PeerDisconnected,
    ProgressReceived,
    RemoteProtocolError,
    RequestCancelled,
    RequestId,
    RequestReceived,
    ResponseReceived,
    State,
)
from sansio.frames import Frame, FrameKind
from sansio.jsonrpc import ErrorObject

from . import errors
from ._sync import Flag, WriteLock
from ._transport import Transport

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = ["BaseSession", "ProgressCallback", "RequestContext", "SessionState", "TraceHook"]

logger = logging.getLogger("trio_mcp")

#: ``trace(direction, item)``: ``"send"``/``"recv"`` with one frame (bytes, no newline), or
#: ``"event"`` with a :class:`sansio.Event`, or ``"state"`` with a short text.
TraceHook = Callable[[Literal["send", "recv", "event", "state"], Any], None]

#: ``on_progress(progress, total, message)``, awaited in arrival order.
ProgressCallback = Callable[[float, "float | None", "str | None"], Awaitable[None]]

_CHECKED = (trio.BrokenResourceError, trio.ClosedResourceError)
_IN_REQUEST_NOTIFICATIONS = frozenset({"notifications/message", "notifications/progress"})


class _StartFailed(Exception):
    """Carries the transport's start failure out of the session's nursery."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


#: The id of the request the current task is serving (set in each handler task), so that a
#: transport can tell which request a frame written now relates to (Streamable HTTP routes
#: a handler's notifications and requests onto its request's stream).
current_request: contextvars.ContextVar[RequestId | None] = contextvars.ContextVar(
    "trio_mcp_current_request", default=None)


class SessionState(enum.Enum):
    """Where a session is in its life (:attr:`BaseSession.state`); it only moves forward."""

    OPEN = "open"
    """Running (or about to run): calls are accepted."""
    CLOSING = "closing"
    """The close has begun (:attr:`BaseSession.close_reason` is set): no new calls, pending
    ones failed; the shutdown sequence runs."""
    CLOSED = "closed"
    """The transport is closed and every task of the session has ended."""


#: The write lock and one-way flag live in :mod:`trio_adapter._sync` (kept importable here).
_WriteLock = WriteLock


@attrs.frozen
class Claimed:
    """A request an inline feed gave its caller to serve (see ``BaseSession._feed_inline``):
    the engine's event and the cancel scope the session knows it by."""

    event: RequestReceived
    scope: trio.CancelScope
_Flag = Flag


class _Slot:
    """A one-shot place where the answer to one outgoing request lands."""

    __slots__ = ("error", "event", "method", "on_progress", "result", "typed")

    def __init__(self, method: str, on_progress: ProgressCallback | None) -> None:
        self.event = _Flag()
        self.method = method
        self.result: dict[str, Any] | None = None
        self.typed: Any = None
        self.error: BaseException | None = None
        self.on_progress = on_progress

    def set_result(self, result: dict[str, Any], typed: Any = None) -> None:
        if not self.event.is_set():
            self.result = result
            self.typed = typed
            self.event.set()

    def set_error(self, error: BaseException) -> None:
        if not self.event.is_set():
            self.error = error
            self.event.set()


@attrs.define(eq=False)
class RequestContext:
    """What a request handler knows about the request it serves.

    Attributes:
        session: the session the request arrived on.
        request_id: the request's id.
        method: the request's method.
        params: the request's ``params`` as received (``None`` when absent).
        progress_token: the token the peer gave for progress, if it asked for progress.
    """

    session: BaseSession
    request_id: RequestId
    method: str
    params: dict[str, Any] | None
    progress_token: RequestId | None = None

    @property
    def meta(self) -> dict[str, Any]:
        """The request's ``params._meta`` (empty when absent)."""
        meta = self.params.get("_meta") if self.params else None
        return meta if isinstance(meta, dict) else {}

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Send ``notifications/progress`` for this request, if the peer asked for progress.

        Does nothing when the peer gave no progress token or the request already ended.

        Raises:
            SessionClosed: the session is closed.
        """
        if self.progress_token is None:
            await trio.lowlevel.checkpoint()
            return
        params: dict[str, Any] = {"progressToken": self.progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self.session.send_notification("notifications/progress", params)


class BaseSession:
    """What :class:`~trio_adapter.ClientSession` and :class:`~trio_adapter.ServerSession` share.

    Not built directly: ``Client.connect`` / ``Server.connect`` make sessions.
    """

    _role_name = "session"

    def __init__(
        self,
        engine: Connection,
        transport: Transport,
        *,
        handler_grace: float = 1.0,
        close_timeout: float = 5.0,
        request_timeout: float | None = None,
        keepalive_interval: float | None = None,
        trace: TraceHook | None = None,
    ) -> None:
        self._engine = engine
        self._transport = transport
        self._grace = handler_grace
        self._close_timeout = close_timeout
        self._request_timeout = request_timeout
        self._keepalive_interval = keepalive_interval
        self._trace = trace
        self._send_lock = _WriteLock()
        # Held while the engine's input is being processed: by the reader, or by a task of the
        # transport's that feeds it inline (see _feed_inline); uncontended, no schedule point.
        self._input_lock = _WriteLock()
        self._pending: dict[RequestId, _Slot] = {}
        self._handlers: dict[RequestId, trio.CancelScope] = {}
        self._served = 0  # handler tasks started (the peer's requests, ping excepted)
        # Made when the close waits for the handlers to finish; set by the last one.
        self._handlers_idle: _Flag | None = None
        self._tokens = itertools.count(1)
        self._ready = _Flag()
        # The close (see the module docstring): the state, the reason it moved on, and the
        # flag waiters of CLOSED wait on (set exactly when the state becomes CLOSED).
        self._state = SessionState.OPEN
        self._close_error: errors.SessionClosed | None = None
        self._closed_event = _Flag()
        self._nursery: trio.Nursery | None = None  # the private nursery, while it takes tasks
        self._transport_closed = False  # the shutdown's last step ran (done once)

    # ------------------------------------------------------------------ public state

    @property
    def engine(self) -> Connection:
        """The sans-IO engine. Deprecated: use the properties below instead.

        Kept working for existing callers; reading its properties is harmless, calling its
        send methods bypasses the session's write lock and breaks the session. What callers
        need is on the session itself: :attr:`protocol_version`, :attr:`era`,
        :attr:`peer_info`, :attr:`peer_capabilities`, :attr:`pending_requests`,
        :attr:`serving_requests`.
        """
        return self._engine

    @property
    def transport(self) -> Transport:
        """The transport this session runs on."""
        return self._transport

    @property
    def protocol_version(self) -> str | None:
        """The negotiated protocol revision (``None`` before the handshake)."""
        return self._engine.protocol_version

    @property
    def era(self) -> Era | None:
        """The protocol era the session runs in (``None`` until the first message decided it,
        and again once it is closed)."""
        return self._engine.era

    @property
    def peer_info(self) -> dict[str, Any] | None:
        """The peer's ``clientInfo``/``serverInfo`` as received (``None`` until known)."""
        return self._engine.peer_info

    @property
    def peer_capabilities(self) -> dict[str, Any] | None:
        """The peer's capabilities as received (``None`` until known)."""
        return self._engine.peer_capabilities

    @property
    def pending_requests(self) -> int:
        """How many requests this side sent that wait for their answer."""
        return len(self._pending)

    @property
    def serving_requests(self) -> int:
        """How many of the peer's requests this side's handlers are serving now."""
        return len(self._handlers)

    @property
    def requests_served(self) -> int:
        """How many of the peer's requests this session has started serving (``initialize``
        and ``ping``, which the session answers itself, are not counted)."""
        return self._served

    @property
    def state(self) -> SessionState:
        """Where the session is in its life: OPEN, CLOSING or CLOSED (see the module)."""
        return self._state

    @property
    def closed(self) -> bool:
        """Whether the session is closing or closed (no new calls are accepted)."""
        return self._state is not SessionState.OPEN

    @property
    def _closing(self) -> bool:
        """Whether the close has begun (for subclasses: the state is not OPEN)."""
        return self._state is not SessionState.OPEN

    @property
    def close_reason(self) -> str | None:
        """Why the session closed, once it has."""
        return None if self._close_error is None else self._close_error.reason

    @property
    def initialized(self) -> bool:
        """Whether the handshake is complete (and the session not closed); in the 2026-07-28
        era, which has no handshake, once the era is settled (a client: the probe answered;
        a server: the first request arrived)."""
        return self._ready.is_set() and self._state is SessionState.OPEN

    async def wait_initialized(self) -> None:
        """Wait until the handshake is complete (2026-07-28: until the era is settled, as
        :attr:`initialized` says).

        Raises:
            SessionClosed: the session closed first.
        """
        await self._ready.wait()
        self._check_open()

    async def wait_closed(self) -> None:
        """Wait until the session has closed (locally, or because the peer left).

        Returns at once if it already has. Like the Go SDK's ``Wait``.
        """
        await self._closed_event.wait()

    # ------------------------------------------------------------------ running

    async def _run(self, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the session until it closes; started with ``nursery.start``.

        This task is the reader (:meth:`_reader` runs inside the session's private nursery,
        where the handlers, the transport's tasks, the keepalive and the shutdown run too).
        Its ``finally`` is the end of every close: the one place the state becomes CLOSED.
        """
        try:
            async with trio.open_nursery() as nursery:
                try:
                    await self._transport.start(nursery)
                except BaseException as exc:
                    start_error: BaseException | None = exc
                    nursery.cancel_scope.cancel()
                else:
                    start_error = None
                if start_error is not None:
                    raise _StartFailed(start_error)
                self._nursery = nursery
                if self._state is SessionState.CLOSING:  # closed before it ran
                    nursery.start_soon(self._shutdown)
                for task in self._background_tasks():
                    nursery.start_soon(task)
                if self._keepalive_interval is not None:
                    nursery.start_soon(self._keepalive, self._keepalive_interval)
                task_status.started(self)
                try:
                    await self._reader()
                    # The reader ends only once the session is closing; the shutdown that
                    # started ends the nursery.
                    self._close(errors.SessionClosed("session ended"), grace=False)
                finally:
                    # From here the nursery may close at any moment (once its last task
                    # ends): it takes no new tasks. A cancelled owner closes in the finally.
                    self._nursery = None
        except BaseExceptionGroup as group:
            failed = [e for e in group.exceptions if isinstance(e, _StartFailed)]
            if len(failed) == 1 and len(group.exceptions) == 1:
                raise failed[0].error from None
            raise
        finally:
            self._nursery = None
            with trio.CancelScope(shield=True):
                # The owner cancelled us while open (or the shutdown was cut short): close
                # here. Each step is idempotent, so a finished shutdown leaves nothing to do.
                self._close(errors.SessionClosed("session cancelled"))
                self._engine.close()
                self._cancel_handlers()
                await self._close_transport()
                self._state = SessionState.CLOSED
                if self._trace is not None:
                    self._trace("state", "closed")
                self._closed_event.set()

    def _close(self, error: errors.SessionClosed, *, grace: bool = True) -> None:
        """The one way into CLOSING: record ``error`` as the reason, fail pending calls with
        it and start the shutdown (every close route calls this; see the module docstring).

        Only the first call counts; later ones do nothing. ``grace=False`` (a failure) gives
        in-flight handlers no grace period. Never raises, never waits.
        """
        if self._state is not SessionState.OPEN:
            return
        self._state = SessionState.CLOSING
        self._close_error = error
        if not grace:
            self._grace = 0.0
        if self._trace is not None:
            self._trace("state", f"closing: {error.reason}")
        pending = dict(self._pending)
        self._pending.clear()  # in place: the reader holds this dict
        for rid, slot in pending.items():
            slot.set_error(error.for_request(rid, slot.method))
        self._ready.set()  # wake calls waiting for the handshake: they now see the close
        if self._nursery is not None:  # running; otherwise _run starts it (or never ran)
            self._nursery.start_soon(self._shutdown)

    def _mark_closing(self, error: errors.SessionClosed, *, grace: bool = True) -> None:
        """Old name of :meth:`_close` (kept for subclasses)."""
        self._close(error, grace=grace)

    async def _shutdown(self) -> None:
        """The shutdown sequence: grace, close the engine, cancel handlers, close the
        transport, end the private nursery. Started once, by :meth:`_close` (or ``_run``)."""
        nursery = self._nursery
        try:
            if self._handlers and self._grace > 0:
                with trio.move_on_after(self._grace):
                    self._handlers_idle = _Flag()
                    await self._handlers_idle.wait()
            self._engine.close()
            self._cancel_handlers()
            with trio.CancelScope(shield=True):
                await self._close_transport()
        finally:
            if nursery is not None:
                nursery.cancel_scope.cancel()

    async def aclose(self) -> None:
        """Close the session; idempotent, bounded, and safe from several tasks at once.

        Pending calls fail with :class:`~trio_adapter.SessionClosed` at once; in-flight
        handlers get ``handler_grace`` seconds to finish, then are cancelled; the transport is
        closed (bounded by ``close_timeout``). Returns when the session is closed. If the caller
        is cancelled meanwhile, the handlers' grace is cut short but the rest still happens.
        """
        self._close(errors.SessionClosed("session closed"))
        try:
            await self._closed_event.wait()
        finally:
            if not self._closed_event.is_set():
                self._grace = 0.0
                self._cancel_handlers()
                with trio.CancelScope(shield=True), trio.move_on_after(self._close_timeout):
                    await self._closed_event.wait()

    def _cancel_handlers(self) -> None:
        for scope in self._handlers.values():
            scope.cancel()

    async def _close_transport(self) -> None:
        if self._transport_closed:
            return
        self._transport_closed = True
        with trio.move_on_after(self._close_timeout) as scope:
            try:
                await self._transport.aclose()
            except Exception as exc:
                logger.debug("error closing transport: %r", exc)
        if scope.cancelled_caught:
            logger.warning("transport did not close within %s s", self._close_timeout)

    def _engine_closed(self) -> bool:
        return self._engine.state in (State.CLOSED, State.ERROR) or self._transport_closed

    def _check_open(self) -> None:
        if self._state is not SessionState.OPEN:
            assert self._close_error is not None
            raise type(self._close_error)(self._close_error.reason)

    # ------------------------------------------------------------------ writing

    async def _flush(self) -> None:
        """Write what the engine produced; call with the send lock held.

        A transport that routes frames (HTTP: it overrides ``Transport.send_frames``) gets the
        engine's ``Frame`` objects; any other gets their bytes, the non-blocking way first.
        """
        transport = self._transport
        routes = type(transport).send_frames is not Transport.send_frames
        if routes:
            frames = self._engine.frames_to_send()
            if not frames:
                return
            if self._trace is not None:
                for frame in frames:
                    self._trace("send", frame.data.rstrip(b"\n"))
        else:
            data = self._engine.data_to_send()
            if not data:
                return
            if self._trace is not None:
                for line in data.splitlines():
                    self._trace("send", line)
        try:
            if routes:
                await transport.send_frames(frames)
            else:
                await self._write_bytes(transport, data)
        except _CHECKED as exc:
            self._engine.send_failed()
            error = errors.PeerDisconnected(
                str(exc) if isinstance(exc, errors.TransportError)
                else f"transport write failed: {' '.join(str(exc).split()) or type(exc).__name__}")
            self._close(error, grace=False)
            raise error from exc

    @staticmethod
    async def _write_bytes(transport: Transport, data: bytes) -> None:
        sent = transport.send_nowait(data)
        if sent < len(data):
            await transport.send(data[sent:] if sent else data)

    async def _send_raw(self, frame: Frame, *, last: bool = False) -> None:
        """Write a ready frame (an engine response hint) under the send lock; ``last``: the
        answer to a fatal error, written although the engine is now in ERROR."""
        async with self._send_lock:
            if self._transport_closed if last else self._engine_closed():
                return
            if self._trace is not None:
                self._trace("send", frame.data.rstrip(b"\n"))
            transport = self._transport
            try:
                if type(transport).send_frames is not Transport.send_frames:
                    await transport.send_frames([frame])
                else:
                    await self._write_bytes(transport, frame.data)
            except _CHECKED:
                self._engine.send_failed()

    async def send_notification(self, method: str, params: Mapping[str, Any] | Any = None) -> None:
        """Send a notification.

        Waits for the handshake to complete, except for notifications the protocol allows
        earlier (logging messages and progress).

        Raises:
            SessionClosed: the session is closed.
            LocalProtocolError: the protocol forbids this notification now or to this peer.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        in_request = method in _IN_REQUEST_NOTIFICATIONS
        if not self._ready.is_set() and not in_request:
            await self._ready.wait()
        async with self._send_lock:
            if not in_request:
                self._check_open()
            elif self._engine_closed():  # handlers may still report during the close grace
                self._check_open()
                raise errors.SessionClosed("session closed")
            self._engine.send_notification(method, params)
            await self._flush()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def send_request(
        self,
        method: str,
        params: Mapping[str, Any] | Any = None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Send a request and return its result (the ``result`` object as received).

        Waits for the handshake to complete first (``ping`` excepted). If the caller is
        cancelled (a trio cancel scope, ``fail_after``), ``notifications/cancelled`` goes to the
        peer. With ``on_progress``, a progress token is attached and each
        ``notifications/progress`` for the request is passed to the callback, in order.

        Raises:
            MCPError: the peer answered with an error.
            SessionClosed: the session closed before an answer (:class:`PeerDisconnected` when
                the peer left).
            RequestTimeout: the session's default request timeout elapsed.
            LocalProtocolError: the protocol forbids this request now (for example the peer did
                not advertise the capability it needs).
            RemoteProtocolError: the peer's answer was malformed or invalid.
        """
        slot = await self._request(method, params, on_progress)
        assert slot.result is not None
        return slot.result

    async def _request(
        self, method: str, params: Mapping[str, Any] | Any, on_progress: ProgressCallback | None
    ) -> _Slot:
        """:meth:`send_request`, returning the answered slot (its ``typed`` too)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._ready.is_set() and method != "ping":
            await self._ready.wait()
        slot = _Slot(method, on_progress)
        async with self._send_lock:
            self._check_open()
            token = next(self._tokens) if on_progress is not None else None
            rid = self._engine.send_request(method, params, progress_token=token)
            self._pending[rid] = slot
            reader = await self._flush_claiming(rid)
        return await self._answer_of(rid, slot, reader)

    async def _flush_claiming(self, rid: RequestId) -> Callable[[], Awaitable[None]] | None:
        """:meth:`_flush` (send lock held) of our request ``rid``, its answer claimed from
        the transport (:attr:`Transport.claiming`): what reads it in the caller's task, or
        None (the reader task delivers it). A failed write forgets ``rid`` and re-raises."""
        transport = self._transport
        transport.claiming = rid
        try:
            await self._flush()
        except BaseException:
            transport.claiming = None
            self._pending.pop(rid, None)
            transport.release_answer(rid)
            raise
        transport.claiming = None
        return transport.take_answer(rid)

    async def _answer_of(self, rid: RequestId, slot: _Slot,
                         reader: Callable[[], Awaitable[None]] | None = None) -> _Slot:
        """Wait for the answer to our request ``rid`` (already written, ``slot`` pending):
        bounded by ``request_timeout`` (then cancelled and :class:`RequestTimeout`); a
        cancelled caller cancels the request. Raises the error the answer was. With
        ``reader`` (:meth:`_flush_claiming`), the answer is read in this task, under the
        same bound, then acted on as the reader task would (the slot is set)."""
        timeout = self._request_timeout
        try:
            # (After a reader, whose reads were schedule points, a set slot is not waited.)
            if timeout is None:
                if reader is not None:
                    await reader()
                if reader is None or not slot.event.is_set():
                    await slot.event.wait()
            else:
                with trio.move_on_after(timeout) as scope:
                    if reader is not None:
                        await reader()
                    if reader is None or not slot.event.is_set():
                        await slot.event.wait()
                if scope.cancelled_caught and not slot.event.is_set():
                    await self._cancel_request(rid, f"timed out after {timeout:g} s")
                    raise errors.RequestTimeout(rid, slot.method, timeout)
        except trio.Cancelled:
            if not slot.event.is_set():
                await self._cancel_request(rid, "cancelled by the caller")
            raise
        finally:
            self._pending.pop(rid, None)
        if slot.error is not None:
            raise slot.error
        return slot

    async def _cancel_request(self, rid: RequestId, reason: str) -> None:
        """Send ``notifications/cancelled`` for one of our requests (shielded, bounded)."""
        with trio.CancelScope(shield=True), trio.move_on_after(self._close_timeout):
            async with self._send_lock:
                if self._state is not SessionState.OPEN \
                        or rid not in self._engine.pending_requests:
                    return
                try:
                    self._engine.cancel(rid, reason)
                    await self._flush()
                except (LocalProtocolError, errors.SessionClosed):
                    pass

    async def ping(self) -> None:
        """Send ``ping`` and wait for the answer.

        Raises:
            as :meth:`send_request`.
        """
        await self.send_request("ping")

    async def _respond(self, rid: RequestId, result: Mapping[str, Any] | Any) -> None:
        async with self._send_lock:
            if self._engine_closed():
                return
            try:
                self._engine.send_response(rid, result)
            except LocalProtocolError as exc:
                # The result could not be encoded or validated: answer with an error instead.
                if rid in self._engine.serving_requests:
                    self._engine.send_error(rid, ErrorCode.INTERNAL_ERROR,
                                            f"could not send result: {exc}")
                else:
                    raise
            try:  # noqa: SIM105 - suppress() costs a context manager per answer
                await self._flush()
            except errors.SessionClosed:
                pass

    async def _respond_error(
        self, rid: RequestId, code: int, message: str, data: Any = None
    ) -> None:
        async with self._send_lock:
            if self._engine_closed():
                return
            self._engine.send_error(rid, code, message, data)
            with contextlib.suppress(errors.SessionClosed):
                await self._flush()

    # ------------------------------------------------------------------ reading

    async def _reader(self) -> None:
        engine = self._engine
        transport = self._transport
        lock = self._input_lock
        transport.feed_inline = functools.partial(self._feed_inline, transport)
        try:
            while True:
                self._reader_waiting = True
                try:
                    data = await transport.receive()
                except _CHECKED as exc:
                    self._reader_waiting = False
                    async with lock:
                        engine.connection_lost(f"transport failed: {exc!r}")
                        if await self._drain(None):
                            return
                else:
                    self._reader_waiting = False
                    async with lock:
                        if await self._drain(data):
                            return
                    del data  # an idle session's reader keeps no chunk alive
        except Exception as exc:  # pragma: no cover - a bug; never let it escape the nursery
            logger.exception("trio-mcp session reader failed")
            self._close(errors.PeerDisconnected(f"internal error in reader: {exc!r}"),
                        grace=False)
        finally:
            self._reader_waiting = False
            transport.feed_inline = None

    async def _drain(self, data: bytes | None) -> bool:
        """Give ``data`` to the engine (``b""``: end of input; ``None``: nothing) and act on
        every event it makes (the input lock held); True when the session is over (the reader
        ends)."""
        engine = self._engine
        trace = self._trace
        if data is not None:
            if trace is not None and data:
                for frame in data.splitlines():
                    trace("recv", frame)
            engine.receive_data(data)
        while True:
            try:
                event = engine.next_event()
            except RemoteProtocolError as exc:
                if await self._on_protocol_error(exc):
                    return True
                continue
            if event is NEED_DATA:
                return False
            if trace is not None:
                trace("event", event)
            if await self._dispatch(event):
                return True

    #: The reader waits in its transport's receive (see _feed_inline).
    _reader_waiting = False
    #: While an inline feed that may claim a request runs: where its request goes.
    _claim: list[Claimed] | None = None

    async def _feed_inline(self, transport: Transport, data: bytes,
                           claim: list[Claimed] | None = None) -> bool:
        """``transport``'s :attr:`Transport.feed_inline` while the reader reads it: process
        ``data`` (whole NDJSON lines) in the calling task when the reader is idle, and
        return True; else do nothing and return False (the caller delivers it through the
        transport, in order).

        The events it makes are acted on here exactly as the reader would (a request starts
        its handler task in the session's nursery), under the same input lock, so the engine
        sees one input at a time and in the order it came. Saves the reader's scheduler round
        (an HTTP request or answer is one task hop shorter).

        With ``claim`` (a list, empty), the first request ``data`` carries is not given a
        task: it is appended to ``claim`` as a :class:`Claimed`, registered as the session's
        handlers are, and the caller serves it with :meth:`serve_claimed` (a task less).
        """
        if not self._reader_waiting or self._input_lock.locked() or self._nursery is None \
                or self._state is not SessionState.OPEN or transport is not self._transport \
                or not transport.reader_idle():
            return False
        async with self._input_lock:
            self._claim = claim
            try:
                over = await self._drain(data)
            except Exception as exc:  # a bug: the session ends, as when its reader fails
                logger.exception("trio-mcp session input failed")
                self._close(errors.PeerDisconnected(f"internal error in reader: {exc!r}"),
                            grace=False)
                return True
            finally:
                self._claim = None
        if over:  # the reader would have ended here: the session closes
            self._close(errors.SessionClosed("session ended"), grace=False)
        return True

    async def _on_protocol_error(self, exc: RemoteProtocolError) -> bool:
        """Handle a protocol error from the engine; return True when the session is over."""
        logger.debug("protocol error from peer: %s", exc)
        frame = exc.response_frame
        if frame is None and exc.response_hint is not None:  # raised by a custom engine
            frame = Frame(FrameKind.ERROR, exc.response_hint)
        if frame is not None:
            await self._send_raw(frame, last=exc.fatal)
        if exc.finished_request is not None:
            slot = self._pending.pop(exc.finished_request, None)
            if slot is not None:
                slot.set_error(exc)
        if exc.fatal:
            logger.warning("trio-mcp: closing the session: the peer broke the protocol: %s",
                           exc)
            self._close(errors.PeerDisconnected(f"protocol error: {exc}"), grace=False)
            return True  # the reader ends
        return False

    async def _dispatch(self, event: Event) -> bool:
        """Act on one engine event (the reader's only dispatch); return True when the session
        is over. The two events of every call come first, and act without a schedule point."""
        cls = event.__class__
        if cls is ResponseReceived:
            response = cast(ResponseReceived, event)
            slot = self._pending.pop(response.request_id, None)
            if slot is not None:
                slot.set_result(response.result, response.typed)
        elif cls is RequestReceived:
            assert isinstance(event, RequestReceived)
            if event.method == "ping":
                await self._respond(event.request_id, {})
            elif self._state is not SessionState.OPEN:
                await self._respond_error(event.request_id, ErrorCode.INVALID_REQUEST,
                                          "the session is closing")
            else:
                self._start_handler(event)
        elif cls is NotificationReceived:
            assert isinstance(event, NotificationReceived)
            try:
                await self._on_notification(event)
            except Exception:
                logger.exception("notification handler for %s failed", event.method)
        elif cls is ErrorReceived:
            assert isinstance(event, ErrorReceived)
            self._on_error(event)
        elif cls is ProgressReceived:
            assert isinstance(event, ProgressReceived)
            slot = self._pending.get(event.request_id)
            if slot is not None and slot.on_progress is not None:
                try:
                    await slot.on_progress(event.progress, event.total, event.message)
                except Exception:
                    logger.exception("progress callback failed")
        elif cls is RequestCancelled:
            assert isinstance(event, RequestCancelled)
            scope = self._handlers.get(event.request_id)
            if scope is not None:
                scope.cancel()
        elif cls is PeerDisconnected:
            assert isinstance(event, PeerDisconnected)
            reason = event.reason or "peer closed the connection"
            self._close(errors.PeerDisconnected(reason), grace=False)
            return True  # the reader ends
        elif cls is Closed:
            return True
        elif cls is Initialized:
            assert isinstance(event, Initialized)
            await self._on_initialized(event)
        elif cls is InitializeRequested:
            assert isinstance(event, InitializeRequested)
            await self._on_initialize_requested(event)
        return False

    def _on_error(self, event: ErrorReceived) -> None:
        if event.request_id is None:
            logger.warning("peer sent an error with no id: %s", event.error.message)
            return
        slot = self._pending.pop(event.request_id, None)
        if slot is not None:
            slot.set_error(_mcp_error(event.error, event.method, event.request_id))

    # ------------------------------------------------------------------ incoming requests

    def _start_handler(self, event: RequestReceived) -> None:
        assert self._nursery is not None
        self._served += 1
        scope = trio.CancelScope()
        self._handlers[event.request_id] = scope
        claim = self._claim
        if claim is not None and not claim:  # the feeding task serves it (see _feed_inline)
            claim.append(Claimed(event, scope))
            return
        self._nursery.start_soon(self._serve_request, event, scope)

    async def serve_claimed(self, claimed: Claimed) -> None:
        """Serve a request that :meth:`_feed_inline` gave the calling task (``claim``), in
        that task: what the session's handler task would do (the handler, then its answer).
        The request counts among the session's handlers as any other: a cancellation, the
        session's close and its grace period all reach it through ``claimed.scope``.

        Raises:
            trio.Cancelled: the calling task was cancelled (the handler was too).
        """
        token = current_request.set(current_request.get())
        try:
            await self._serve_request(claimed.event, claimed.scope)
        finally:
            current_request.reset(token)  # the caller's task goes on with its own value

    async def _serve_request(self, event: RequestReceived, scope: trio.CancelScope) -> None:
        rid = event.request_id
        current_request.set(rid)
        try:
            with scope:
                ctx = self._make_context(event)
                try:
                    result = await self._handle_request(ctx)
                except errors.MCPError as exc:
                    await self._respond_error(rid, exc.code, exc.message, exc.data)
                except (errors.SessionClosed, trio.Cancelled):
                    raise
                except Exception as exc:
                    logger.exception("handler for %s failed", event.method)
                    await self._respond_error(rid, ErrorCode.INTERNAL_ERROR,
                                              f"internal error: {exc}")
                else:
                    await self._respond(rid, result)
        except errors.SessionClosed:
            pass
        finally:
            # The engine forgets a request once it is answered, so the peer may reuse its id
            # while this task ends: only this handler's own entry is removed.
            if self._handlers.get(rid) is scope:
                del self._handlers[rid]
            if not self._handlers and self._handlers_idle is not None:
                self._handlers_idle.set()

    # ------------------------------------------------------------------ hooks

    def _background_tasks(self) -> list[Callable[[], Awaitable[None]]]:
        """Extra tasks to run beside the reader for the session's lifetime (subclasses)."""
        return []

    def _make_context(self, event: RequestReceived) -> RequestContext:
        """Build the context a request handler gets (subclasses return richer ones)."""
        return RequestContext(self, event.request_id, event.method, event.params,
                              event.progress_token)

    async def _handle_request(self, ctx: RequestContext) -> Mapping[str, Any] | Any:
        """Answer one incoming request (subclasses). Raise MCPError to send an error."""
        raise errors.MCPError(ErrorCode.METHOD_NOT_FOUND, f"method not found: {ctx.method}")

    async def _on_notification(self, event: NotificationReceived) -> None:
        """React to an incoming notification (subclasses); runs in arrival order."""
        await trio.lowlevel.checkpoint()

    async def _on_initialized(self, event: Initialized) -> None:
        self._ready.set()
        await trio.lowlevel.checkpoint()

    async def _on_initialize_requested(self, event: InitializeRequested) -> None:
        raise AssertionError("only a server receives initialize")  # pragma: no cover

    # ------------------------------------------------------------------ keepalive

    async def _keepalive(self, interval: float) -> None:
        """Ping every ``interval`` seconds; close the session if a ping is not answered in time."""
        await self._ready.wait()
        while self._state is SessionState.OPEN:
            await trio.sleep(interval)
            with trio.move_on_after(interval) as scope:
                try:
                    await self.ping()
                except errors.SessionClosed:
                    return
                except errors.MCPError:
                    pass  # an answer, even an error, shows the peer is alive
            if scope.cancelled_caught:
                self._close(errors.PeerDisconnected(
                    f"keepalive: no answer to ping within {interval:g} s"), grace=False)
                return


def _mcp_error(error: ErrorObject, method: str, rid: RequestId) -> errors.MCPError:
    return errors.MCPError(error.code, error.message, error.data, method=method, request_id=rid)

