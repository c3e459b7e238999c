"""The MCP client: a logical :class:`Client` and the :class:`ClientSession` it connects.

>>> client = Client("my-client", "1.0")
>>> # async with client.connect(transport) as session:
>>> #     tools = await session.list_all_tools()
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any, Literal, TypeVar

import trio

from sansio import (
    HANDSHAKE_VERSIONS,
    NEED_DATA,
    SUPPORTED_VERSIONS,
    Connection,
    ErrorCode,
    ErrorReceived,
    Event,
    Initialized,
    InputRequired,
    ListenAcknowledged,
    ListenEnded,
    LocalProtocolError,
    NotificationReceived,
    PeerDisconnected,
    RemoteProtocolError,
    ResponseReceived,
    Role,
    SubscriptionFilter,
    task_client,
)
from sansio import era_probe as _probe
from sansio import types as t
from sansio.http_client import StreamableHTTPClient, refresh_tools_on, split_tools
from sansio.reconnect import retry_safe
from sansio.versions import META_LOG_LEVEL, STATELESS_VERSIONS, Era, era_of

from . import errors
from ._process import CommandTransport
from ._reconnect import Reconnect, ReconnectInfo, Reconnector, reopenable
from ._session import (
    BaseSession,
    ProgressCallback,
    RequestContext,
    SessionState,
    TraceHook,
    _Slot,
)
from ._task_client import CANCEL_TIMEOUT, TaskHandle, TaskStatusCallback
from ._transport import Transport
from ._util import session_scope

__all__ = [
    "Client",
    "ClientSession",
    "ConnectMode",
    "ElicitationHandler",
    "Listener",
    "LoggingHandler",
    "NotificationHandler",
    "SamplingHandler",
]

T = TypeVar("T")

logger = logging.getLogger("trio_mcp.client")

#: ``"auto"``: probe with ``server/discover`` and fall back to ``initialize``; ``"modern"``:
#: the 2026-07-28 era only; ``"legacy"``: the handshake era only (``initialize``).
ConnectMode = Literal["auto", "modern", "legacy"]
_MODES = ("auto", "modern", "legacy")

#: The era each server spoke, by server command (stdio) or endpoint URL (HTTP): process-local,
#: in this module, at most ``_ERA_CACHE_SIZE`` entries (least recently used dropped). A
#: server known to speak only the handshake era is not probed again; one known to speak a
#: stateless revision is probed with it first.
_ERA_CACHE: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_ERA_CACHE_SIZE = 256

#: (tasks, 2025-11-25) at most this many tools' ``execution.taskSupport`` kept per session.
_MAX_TOOLS_REMEMBERED = 10_000


def _cache_key(transport: Transport) -> tuple[Any, ...] | None:
    if isinstance(transport, CommandTransport):
        return ("stdio", tuple(transport.argv), str(transport.cwd or ""))
    client = getattr(transport, "client", None)
    if isinstance(client, StreamableHTTPClient):
        return ("http", client.url)
    return None


def _remember(key: tuple[Any, ...] | None, version: str | None) -> None:
    if key is None or version is None:
        return
    _ERA_CACHE[key] = version
    _ERA_CACHE.move_to_end(key)
    while len(_ERA_CACHE) > _ERA_CACHE_SIZE:
        _ERA_CACHE.popitem(last=False)


def forget_eras() -> None:
    """Empty the process-local cache of the era each server spoke."""
    _ERA_CACHE.clear()

#: ``sampling(ctx, params) -> CreateMessageResult`` (or its JSON dict).
SamplingHandler = Callable[[RequestContext, t.CreateMessageRequestParams],
                           Awaitable["t.CreateMessageResult | Mapping[str, Any]"]]
#: ``elicitation(ctx, params) -> ElicitResult`` (or its JSON dict); params are
#: :class:`sansio.types.ElicitRequestFormParams` or :class:`sansio.types.ElicitRequestURLParams`.
ElicitationHandler = Callable[[RequestContext, Any],
                              Awaitable["t.ElicitResult | Mapping[str, Any]"]]
#: ``logging(params)`` for each ``notifications/message``.
LoggingHandler = Callable[[t.LoggingMessageNotificationParams], Awaitable[None]]
#: ``notification(session, method, params)`` for every notification the session gets.
NotificationHandler = Callable[["ClientSession", str, "dict[str, Any] | None"], Awaitable[None]]


class Client:
    """A logical MCP client: its identity, roots and the handlers for what servers ask of it.

    One ``Client`` connects any number of sessions. Capabilities follow what is configured:
    ``roots`` (with ``listChanged``) when ``roots`` is given, ``sampling`` with a sampling
    handler, ``elicitation`` with an elicitation handler.

    Args:
        name: ``clientInfo.name``.
        version: ``clientInfo.version``.
        title: ``clientInfo.title`` (2025-06-18).
        roots: the roots offered to servers (``roots/list``); change them with
            :meth:`set_roots`.
        sampling_handler: answers ``sampling/createMessage``.
        elicitation_handler: answers ``elicitation/create``.
        elicitation_url: advertise URL-mode elicitation too (2025-11-25).
        logging_handler: receives ``notifications/message``.
        notification_handler: receives every notification (after the specific handlers).
        protocol_version: pin one revision (its era too); default: the newest common one.
        supported_versions: the revisions this client accepts from a server. Default: both
            eras (:data:`sansio.SUPPORTED_VERSIONS`), so ``"auto"`` probes with
            ``server/discover`` first; only the handshake revisions when ``mode="legacy"`` or
            ``protocol_version`` names a handshake revision (then ``initialize`` is the first
            message, exactly as before the 2026-07-28 era).
        mode: ``"auto"`` (probe with ``server/discover`` when a stateless revision is
            supported, fall back to ``initialize``), ``"modern"`` (2026-07-28 only) or
            ``"legacy"`` (``initialize`` only); also per :meth:`connect`.
        probe_timeout: bound, in seconds, on the ``server/discover`` probe of ``"auto"``;
            no answer within it falls back to ``initialize``.
        max_input_rounds: at most this many ``input_required`` rounds per request
            (2026-07-28 multi round-trip requests).
        input_backoff: seconds to wait before retrying a round that asked for no input
            (state only).
        validate: check incoming params and results against the MCP types.
        request_timeout: a default timeout for every request, in seconds
            (:class:`~trio_adapter.RequestTimeout`); ``None`` for none (use ``trio.fail_after``).
        keepalive_interval: ping the server this often, in seconds; close the session when a
            ping is not answered within the same time.
        handler_grace: on close, how long handlers of server requests may run before they are
            cancelled.
        close_timeout: bound on closing the transport.
        connect_timeout: bound, in seconds, on all of :meth:`connect` (era probe, handshake,
            a restart); past it :class:`~trio_adapter.ConnectError`. ``None``: no bound.
            The handshake's ``initialize`` is also bounded by ``request_timeout``.
        trace: a hook that sees every frame and event (see :data:`TraceHook`).
    """

    def __init__(
        self,
        name: str,
        version: str,
        *,
        title: str | None = None,
        roots: Iterable[t.Root | str] | None = None,
        sampling_handler: SamplingHandler | None = None,
        elicitation_handler: ElicitationHandler | None = None,
        elicitation_url: bool = False,
        logging_handler: LoggingHandler | None = None,
        notification_handler: NotificationHandler | None = None,
        protocol_version: str | None = None,
        supported_versions: Iterable[str] | None = None,
        mode: ConnectMode = "auto",
        probe_timeout: float = 5.0,
        max_input_rounds: int = 10,
        input_backoff: float = 0.05,
        validate: bool = True,
        request_timeout: float | None = None,
        keepalive_interval: float | None = None,
        handler_grace: float = 1.0,
        close_timeout: float = 5.0,
        trace: TraceHook | None = None,
        connect_timeout: float | None = 60.0,
    ) -> None:
        self.info = t.Implementation(name=name, version=version, title=title)
        self._roots: list[t.Root] | None = None if roots is None else _roots(roots)
        self.sampling_handler = sampling_handler
        self.elicitation_handler = elicitation_handler
        self.elicitation_url = elicitation_url
        self.logging_handler = logging_handler
        self.notification_handler = notification_handler
        self.protocol_version = protocol_version
        self._versions_given = supported_versions is not None
        if supported_versions is None:
            legacy_only = mode == "legacy" or (protocol_version is not None and
                                               protocol_version in HANDSHAKE_VERSIONS)
            supported_versions = HANDSHAKE_VERSIONS if legacy_only else SUPPORTED_VERSIONS
        self.supported_versions = tuple(supported_versions)
        self.validate = validate
        self.request_timeout = request_timeout
        self.keepalive_interval = keepalive_interval
        self.handler_grace = handler_grace
        self.close_timeout = close_timeout
        self.connect_timeout = connect_timeout
        self.trace = trace
        self.mode: ConnectMode = mode
        self.probe_timeout = probe_timeout
        self.max_input_rounds = max_input_rounds
        self.input_backoff = input_backoff
        self._sessions: set[ClientSession] = set()
        if protocol_version is not None and protocol_version not in self.supported_versions:
            raise ValueError(f"protocol_version {protocol_version!r} is not supported")
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(_MODES)}, not {mode!r}")
        if max_input_rounds < 1:
            raise ValueError("max_input_rounds must be at least 1")

    def _versions_for(self, mode: str, pinned: str | None) -> tuple[str, ...]:
        """The revisions a connection may speak: the configured ones, plus the stateless
        ones for a modern connection when none were configured."""
        if not self._versions_given and (
                mode == "modern" or (pinned is not None and pinned in STATELESS_VERSIONS)):
            return tuple(dict.fromkeys((*self.supported_versions, *STATELESS_VERSIONS)))
        return self.supported_versions

    @property
    def sessions(self) -> list[ClientSession]:
        """The live (initialized, not yet closed) sessions of this client."""
        return [s for s in self._sessions if not s.closed]

    @property
    def roots(self) -> list[t.Root] | None:
        """The roots offered to servers, or ``None`` when roots are not supported."""
        return None if self._roots is None else list(self._roots)

    def capabilities(self, *, modern: bool = False) -> dict[str, Any]:
        """The ``capabilities`` object this client sends in ``initialize`` (``modern``: the
        one stamped on every 2026-07-28 request, where roots have no ``listChanged``)."""
        caps: dict[str, Any] = {}
        if self._roots is not None:
            caps["roots"] = {} if modern else {"listChanged": True}
        if self.sampling_handler is not None:
            caps["sampling"] = {}
        if self.elicitation_handler is not None:
            caps["elicitation"] = {"form": {}, "url": {}} if self.elicitation_url else {}
        return caps

    async def set_roots(self, roots: Iterable[t.Root | str]) -> None:
        """Replace the roots and send ``notifications/roots/list_changed`` to every session.

        Raises:
            ValueError: roots were not enabled when the client was made (``roots=None``).
        """
        if self._roots is None:
            raise ValueError("this client was made without roots (pass roots=[] to enable them)")
        self._roots = _roots(roots)
        for session in self.sessions:
            if session.era is Era.STATELESS:  # each request carries what it needs: no notification
                continue
            with suppress(errors.SessionClosed):
                await session.send_notification("notifications/roots/list_changed")

    @asynccontextmanager
    async def connect(self, transport: Transport, *, mode: ConnectMode | None = None,
                      protocol_version: str | None = None,
                      reconnect: Reconnect | None = None) -> AsyncIterator[ClientSession]:
        """Connect over ``transport``, settle the era and yield the ready session.

        ``"auto"`` (the default :attr:`mode`) sends ``server/discover`` first and speaks
        the newest stateless revision the server supports (2026-07-28); on any other answer
        (an error that is not a -32022 naming a common revision, no answer within
        ``probe_timeout``, the server closing the connection) it falls back to ``initialize``.
        A stdio server that dies on the probe is started again, once, for the fallback. The
        era each server spoke is cached per command or URL (process-local). ``"modern"`` and
        ``"legacy"`` pin an era; ``protocol_version`` pins a revision (and its era).

        With ``reconnect`` (a :class:`~trio_adapter.Reconnect` policy), a transport that fails
        after the connection was made is opened again (``transport.reopened()``: a fresh child
        process, a new HTTP session) with jittered backoff and bounded attempts; the era is
        settled again and the listens are sent again (see ``docs/lifecycle.md``, Reconnect).
        Calls in flight fail with :class:`~trio_adapter.PeerDisconnected` (``retry_safe``
        says whether sending them again is safe); calls made meanwhile wait for the new
        transport. A failure of the first connection is still a :class:`ConnectError`.

        The session (and the transport) is closed when the block exits, whatever the outcome.
        Exceptions from the block propagate as themselves.

        Raises:
            ConnectError: the handshake (or the pinned modern era's probe) failed.
            ValueError: an unknown mode, or a revision this client does not support, or
                ``reconnect`` with a transport that cannot be opened again (it has no
                ``reopened()``).
        """
        async def open_(nursery: trio.Nursery) -> ClientSession:
            return await self.connect_in(nursery, transport, mode=mode,
                                         protocol_version=protocol_version,
                                         reconnect=reconnect)

        async with session_scope(open_, ClientSession.aclose) as session:
            yield session

    async def connect_in(self, nursery: trio.Nursery, transport: Transport, *,
                         mode: ConnectMode | None = None,
                         protocol_version: str | None = None,
                         reconnect: Reconnect | None = None) -> ClientSession:
        """Low-level :meth:`connect`: the session's tasks run in the caller's ``nursery``.

        The caller must ``await session.aclose()`` (the nursery does not end before the session
        does).

        Raises:
            ConnectError: the handshake failed (the session is closed).
            ValueError: as :meth:`connect`.
        """
        mode = self.mode if mode is None else mode
        pinned = self.protocol_version if protocol_version is None else protocol_version
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(_MODES)}, not {mode!r}")
        supported = self._versions_for(mode, pinned)
        if pinned is not None and pinned not in supported:
            raise ValueError(f"protocol_version {pinned!r} is not supported")
        if reconnect is not None and not reopenable(transport):
            raise ValueError(f"reconnect needs a transport that can be opened again (with "
                             f"reopened()); {type(transport).__name__} cannot")
        engine = Connection(Role.CLIENT, supported_versions=supported,
                            validate=self.validate)
        session = ClientSession(
            self, engine, transport, handler_grace=self.handler_grace,
            close_timeout=self.close_timeout, request_timeout=self.request_timeout,
            keepalive_interval=self.keepalive_interval, trace=self.trace)
        session._supported = supported
        if reconnect is not None:
            session._reconnector = Reconnector(session, reconnect, mode, pinned)
            if hasattr(transport, "fail_on_loss"):
                transport.fail_on_loss = True  # a lost stream: reconnect
        await nursery.start(session._run)
        limit = self.connect_timeout
        try:
            with trio.move_on_after(math.inf if limit is None else limit) as bound:
                await session._connect(mode, pinned)
            if bound.cancelled_caught:
                raise errors.ConnectError(f"no handshake with the server within {limit:g} s "
                                          "(connect_timeout)")
        except BaseException:
            await session.aclose()
            raise
        session._connected = True
        self._sessions.add(session)
        return session


class Reconnecting(errors.PeerDisconnected):
    """A call met the session while its transport is being replaced; it was not written
    (``retry_safe``). Calls through the session's request methods wait instead."""

    def __init__(self) -> None:
        super().__init__("the transport is being replaced (reconnecting)", retry_safe=True)

    def for_request(self, request_id: Any, method: str) -> Reconnecting:
        return self


class Listener:
    """The notifications one :meth:`ClientSession.listen` asked for: iterate it
    (``async for note in listener``) to get each :class:`sansio.NotificationReceived`.

    The buffer is bounded (``buffer`` notifications): when the consumer lags, newer ones are
    dropped (counted in :attr:`dropped`, logged). Iteration ends when the stream ends (the
    server ended it, or the session closed).

    Attributes:
        requested: the filter asked for.
        honoured: what the server agreed to send (2026-07-28: its acknowledgement; the
            handshake era: what was asked).
        dropped: notifications lost to a full buffer.
    """

    def __init__(self, requested: SubscriptionFilter, buffer: int) -> None:
        self.requested = requested
        self.honoured: SubscriptionFilter | None = None
        self.dropped = 0
        self._send, self._receive = trio.open_memory_channel[NotificationReceived](buffer)
        self._acked = trio.Event()
        self._rid: Any = None  # the listen request's id (2026-07-28; new after a reconnect)

    def _push(self, note: NotificationReceived) -> None:
        try:
            self._send.send_nowait(note)
        except trio.WouldBlock:
            self.dropped += 1
            logger.warning("listen buffer full: dropped %s", note.method)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    def _end(self) -> None:
        self._send.close()
        self._acked.set()

    def __aiter__(self) -> Listener:
        return self

    async def __anext__(self) -> NotificationReceived:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def receive(self) -> NotificationReceived:
        """The next notification.

        Raises:
            trio.EndOfChannel: the stream ended.
        """
        return await self._receive.receive()


class ClientSession(BaseSession):
    """One connection from a :class:`Client` to a server. Made by :meth:`Client.connect`.

    Every request method waits for the answer; cancel the call (``trio.fail_after``, a cancel
    scope) and ``notifications/cancelled`` is sent to the server. Each raises
    :class:`~trio_adapter.MCPError` for an error answer, :class:`~trio_adapter.SessionClosed` /
    :class:`~trio_adapter.PeerDisconnected` when the session ends first, and
    :class:`sansio.LocalProtocolError` when the server did not advertise the feature.
    """

    _role_name = "client"

    def __init__(self, client: Client, engine: Connection, transport: Transport,
                 **kwargs: Any) -> None:
        super().__init__(engine, transport, **kwargs)
        self.client = client
        self._init_result: dict[str, Any] | None = None
        self._era: Literal["modern", "legacy"] | None = None
        self._discover: dict[str, Any] | None = None
        self._facts: _probe.DiscoverFacts | None = None
        self._listeners: dict[Any, Listener] = {}
        self._legacy_listeners: set[Listener] = set()
        # The reader starts once the era is settled (the probe reads the transport itself).
        self._era_settled = trio.Event()
        self._supported: tuple[str, ...] = client.supported_versions
        self._pinned: str | None = client.protocol_version
        self._log_level: str | None = None

    # ------------------------------------------------------------------ era

    async def _reader(self) -> None:
        if self._reconnector is None:
            await self._era_settled.wait()
            await super()._reader()
            return
        # With reconnect: read each transport in turn, until the session closes.
        while True:
            await self._era_settled.wait()
            if self.closed:
                return
            with trio.CancelScope() as scope:
                self._read_scope = scope
                self._reading_engine = self._engine
                await super()._reader()
            self._read_scope = None
            if self._state is not SessionState.OPEN:
                return

    # ------------------------------------------------------------------ reconnect

    _reconnector: Reconnector | None = None
    _read_scope: trio.CancelScope | None = None
    _reading_engine: Connection | None = None
    _connected = False  # the first connection was made (a failure after it may reconnect)

    @property
    def reconnects(self) -> ReconnectInfo | None:
        """What reconnecting did (attempts, last error, ...); ``None`` without ``reconnect=``."""
        return None if self._reconnector is None else self._reconnector.info

    async def wait_reconnected(self) -> ReconnectInfo:
        """Wait until the session's transport has next been replaced; return
        :attr:`reconnects`.

        Raises:
            ValueError: the session was connected without ``reconnect=``.
            PeerDisconnected: the attempts were spent (the terminal error).
            SessionClosed: the session closed first.
        """
        if self._reconnector is None:
            raise ValueError("this session was connected without reconnect=")
        return await self._reconnector.wait_reconnected()

    def _close(self, error: errors.SessionClosed, *, grace: bool = True) -> None:
        if self._state is not SessionState.OPEN:
            return
        reconnector = self._reconnector
        if isinstance(error, errors.PeerDisconnected):
            if reconnector is not None and self._connected and reconnector.lost(error):
                return  # the transport is being replaced: the session stays open
            modern = self._era == "modern"
            for rid, slot in list(self._pending.items()):  # say which are safe to retry
                del self._pending[rid]
                slot.set_error(errors.PeerDisconnected(
                    error.reason, request_id=rid, method=slot.method,
                    retry_safe=retry_safe(modern, slot.method)))
        super()._close(error, grace=grace)
        if reconnector is not None:
            reconnector.closed()

    async def _keepalive(self, interval: float) -> None:
        # With reconnect, a keepalive failure reconnects rather than closes: ping again on
        # each new transport.
        while True:
            await super()._keepalive(interval)
            if self._reconnector is None or self._state is not SessionState.OPEN:
                return
            await self._ready.wait()

    def _check_open(self) -> None:
        super()._check_open()
        if self._reconnector is not None and self._reconnector.down:
            raise Reconnecting()

    def _install(self, transport: Transport) -> None:
        """Run on ``transport`` (just started) with a new engine: the era is settled anew."""
        self._transport = transport
        self._engine = Connection(Role.CLIENT, supported_versions=self._supported,
                                  validate=self.client.validate)
        self._era = None
        self._discover = None
        self._facts = None
        self._init_result = None
        self._probe_engine = None
        self._probe_closed = False

    async def _resend_listens(self) -> None:
        """After a reconnect: send each open listen again (2026-07-28: a new
        ``subscriptions/listen``, same listener; the handshake era: ``resources/subscribe``
        for its URIs). A listen of the other era ends."""
        modern = self._era == "modern"
        for rid, listener in list(self._listeners.items()):
            slot = self._pending.get(rid)
            if slot is None:
                continue
            if not modern:
                self._pending.pop(rid, None)
                self._listeners.pop(rid, None)
                slot.set_error(errors.PeerDisconnected(
                    "the server no longer speaks 2026-07-28 after the reconnect"))
                listener._end()
                continue
            async with self._send_lock:
                self._check_open()
                new_rid = self._engine.send_listen(listener.requested)
                self._pending.pop(rid, None)
                self._listeners.pop(rid, None)
                self._pending[new_rid] = slot
                self._listeners[new_rid] = listener
                listener._rid = new_rid
                await self._flush()
        for legacy in list(self._legacy_listeners):
            if modern:
                self._legacy_listeners.discard(legacy)
                legacy._end()
                continue
            for uri in legacy.requested.resource_subscriptions:
                with suppress(errors.MCPError):
                    await self._request_once("resources/subscribe", {"uri": uri}, None)

    async def _connect(self, mode: ConnectMode, pinned: str | None) -> None:
        """Settle the era (probe, retry, fall back) and complete the connection."""
        supported = self._supported
        self._pinned = pinned
        key = _cache_key(self._transport)
        cached = _ERA_CACHE.get(key) if key is not None else None
        first: str | None = None
        if mode != "legacy" and (pinned is None or era_of(pinned) is Era.STATELESS):
            first = _probe.plan(supported, pinned)
            if mode == "auto" and pinned is None and cached is not None:
                if era_of(cached) is Era.HANDSHAKE:
                    first = None  # known to speak only the handshake era
                elif cached in supported:
                    first = cached  # the revision it spoke last time
        if first is None:
            if mode == "modern" or (pinned is not None and era_of(pinned) is Era.STATELESS):
                raise errors.ConnectError("no 2026-07-28 revision to speak: this client "
                                          f"supports {', '.join(supported)}")
            # pinned to the handshake era, or known to speak only it: nothing new learnt
            await self._legacy(None)
            return
        strict = mode == "modern" or pinned is not None
        version, retried, restarted = first, False, False
        while True:
            decision = await self._probe_once(version, retried, pinned if strict else None)
            if isinstance(decision, _probe.RetryWith):
                version, retried = decision.version, True
                continue
            if isinstance(decision, _probe.UseModern):
                await self._use_modern(decision.version, key)
                return
            if isinstance(decision, _probe.ProbeFailed) or strict:
                code = getattr(decision, "code", None)
                raise errors.ConnectError(  # no code of its own: unsupported revision
                    f"the server does not speak 2026-07-28: {decision.reason}",
                    code if code is not None else int(ErrorCode.UNSUPPORTED_PROTOCOL_VERSION))
            logger.debug("falling back to initialize: %s", decision.reason)
            if self._probe_closed and not restarted:
                restarted = True
                await self._restart_transport()
            await self._legacy(key)
            return

    async def _legacy(self, key: tuple[Any, ...] | None) -> None:
        self._era = "legacy"
        self._era_settled.set()
        await self._handshake()
        _remember(key, self._engine.protocol_version)

    async def _use_modern(self, version: str, key: tuple[Any, ...] | None) -> None:
        engine = self._probe_engine
        if engine is None or engine.protocol_version != version:
            engine = self._modern_engine(version)
        self._engine = engine
        self._era = "modern"
        assert self._discover is not None
        self._facts = _probe.discover_facts(self._discover)
        _remember(key, version)
        self._era_settled.set()
        self._ready.set()

    def _modern_engine(self, version: str) -> Connection:
        client = self.client
        engine = Connection(Role.CLIENT, supported_versions=self._supported,
                            validate=client.validate)
        engine.start_stateless(version, client.capabilities(modern=True), client.info)
        return engine

    _probe_engine: Connection | None = None
    _probe_closed = False

    async def _probe_once(self, version: str, retried: bool, pinned: str | None
                          ) -> _probe.Decision:
        """Send ``server/discover`` stamped with ``version`` on a probe engine and read the
        transport (the session's reader has not started) until its answer, bounded by the
        client's ``probe_timeout``. Only this task uses the transport meanwhile."""
        supported = self._supported
        engine = self._modern_engine(version)
        self._probe_engine = engine
        self._probe_closed = False
        rid = engine.send_request("server/discover")
        transport = self._transport
        try:
            await self._write_probe(engine)
        except errors.TransportError as exc:
            if isinstance(transport, CommandTransport):
                self._probe_closed = True
                return _probe.decide_no_answer(str(exc), supported, pinned)
            raise errors.ConnectError(str(exc)) from exc
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self._probe_closed = True
            return _probe.decide_no_answer(f"the server closed the connection ({exc})",
                                           supported, pinned)
        with trio.move_on_after(self.client.probe_timeout):
            while True:
                try:
                    data = await transport.receive()
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    if isinstance(exc.__cause__, errors.TransportError) and \
                            not isinstance(transport, CommandTransport):
                        raise errors.ConnectError(str(exc.__cause__)) from exc.__cause__
                    self._probe_closed = True
                    return _probe.decide_no_answer(f"the connection failed ({exc})",
                                                   supported, pinned)
                if self._trace is not None and data:
                    for line in data.splitlines():
                        self._trace("recv", line)
                engine.receive_data(data)
                while True:
                    try:
                        event = engine.next_event()
                    except RemoteProtocolError as exc:
                        if exc.finished_request == rid or exc.fatal:
                            return _probe.decide_no_answer(f"a malformed answer ({exc})",
                                                           supported, pinned)
                        continue
                    if event is NEED_DATA:
                        break
                    if self._trace is not None:
                        self._trace("event", event)
                    if isinstance(event, ResponseReceived) and event.request_id == rid:
                        self._discover = event.result
                        return _probe.decide_result(event.result, supported, pinned)
                    if isinstance(event, ErrorReceived) and event.request_id == rid:
                        return _probe.decide_error(event.error.code, event.error.data,
                                                   supported, retried=retried, pinned=pinned)
                    if isinstance(event, PeerDisconnected):
                        self._probe_closed = True
                        return _probe.decide_no_answer(
                            event.reason or "the server closed the connection", supported,
                            pinned)
                if not data:
                    self._probe_closed = True
                    return _probe.decide_no_answer("the server closed the connection",
                                                   supported, pinned)
        # No answer in time. A late one must not reach the initialize that follows (the
        # same id): a command is started again for the fallback, an HTTP request's stream
        # is closed (its cancellation).
        if isinstance(transport, CommandTransport):
            self._probe_closed = True
        elif type(transport).send_frames is not Transport.send_frames:
            with suppress(LocalProtocolError, trio.BrokenResourceError,
                          trio.ClosedResourceError, errors.TransportError):
                engine.cancel(rid, "no answer to the era probe")
                await self._write_probe(engine)
        return _probe.decide_no_answer(f"timed out after {self.client.probe_timeout:g} s",
                                       supported, pinned)

    async def _write_probe(self, engine: Connection) -> None:
        transport = self._transport
        frames = engine.frames_to_send()
        if self._trace is not None:
            for frame in frames:
                self._trace("send", frame.data.rstrip(b"\n"))
        if type(transport).send_frames is not Transport.send_frames:
            await transport.send_frames(frames)
        else:
            await transport.send(b"".join(frame.data for frame in frames))

    async def _restart_transport(self) -> None:
        """The stdio server died on the probe: start its command again for ``initialize``."""
        old = self._transport
        if not isinstance(old, CommandTransport) or self._nursery is None:
            return
        new = old.reopened()
        with trio.CancelScope(shield=True):
            await old.aclose()
        logger.info("%s exited on server/discover: starting it again for initialize",
                    old.argv[0])
        await new.start(self._nursery)
        self._transport = new

    @property
    def era(self) -> Era | None:
        """:attr:`~sansio.Era.STATELESS` (2026-07-28, no handshake: ``mode="modern"``) or
        :attr:`~sansio.Era.HANDSHAKE` (``initialize``: ``mode="legacy"``), once the era is
        settled; ``None`` before."""
        if self._era is None:
            return None
        return Era.STATELESS if self._era == "modern" else Era.HANDSHAKE

    @property
    def discover_result(self) -> dict[str, Any]:
        """The ``server/discover`` result (2026-07-28; ``{}`` in the handshake era)."""
        return (self._discover or {}) if self._era == "modern" else {}

    # ------------------------------------------------------------------ handshake

    async def _handshake(self) -> None:
        slot = _Slot("initialize", None)
        async with self._send_lock:
            self._check_open()
            rid = self._engine.send_initialize(
                self.client.info, self.client.capabilities(),
                protocol_version=self._pinned)
            self._pending[rid] = slot
            try:
                await self._flush()
            except errors.SessionClosed as exc:
                if isinstance(exc.__cause__, errors.TransportError):  # already one clear line
                    raise errors.ConnectError(str(exc.__cause__)) from exc.__cause__
                raise errors.ConnectError(f"initialize could not be sent: {exc}") from exc
        timeout = self._request_timeout
        with trio.move_on_after(math.inf if timeout is None else timeout):
            await slot.event.wait()
        if not slot.event.is_set():
            self._pending.pop(rid, None)
            raise errors.ConnectError(f"no answer to initialize within {timeout:g} s "
                                      "(request_timeout)")
        error = slot.error
        if error is None:
            return
        if isinstance(error, errors.MCPError):
            raise errors.ConnectError(f"the server refused initialize: {error.message}",
                                      int(error.code)) from error
        if isinstance(error, errors.SessionClosed):
            raise errors.ConnectError(
                f"the server closed the connection before the handshake completed: "
                f"{error.reason}") from error
        code = getattr(error, "code", None)
        raise errors.ConnectError(f"handshake failed: {error}",
                                  None if code is None else int(code)) from error

    async def _on_initialized(self, event: Initialized) -> None:
        self._init_result = event.result
        async with self._send_lock:
            if not self._closing:
                self._engine.send_initialized()
                with suppress(errors.SessionClosed):
                    await self._flush()
        slot = self._pending.pop(event.request_id, None) if event.request_id is not None \
            else None
        self._ready.set()
        if slot is not None:
            slot.set_result(event.result or {})

    # ------------------------------------------------------------------ facts

    @property
    def server_info(self) -> t.Implementation:
        """The server's ``serverInfo`` (2026-07-28: from ``server/discover``)."""
        if self._facts is not None:
            info = self._facts.server_info
            if not isinstance(info.get("name"), str) or not isinstance(info.get("version"), str):
                info = {"name": str(info.get("name", "")), "version": str(info.get("version", ""))}
            return t.structure(info, t.Implementation)
        return t.structure(self._engine.peer_info or {}, t.Implementation)

    @property
    def server_capabilities(self) -> dict[str, Any]:
        """The server's capabilities, as received (2026-07-28: from ``server/discover``)."""
        if self._facts is not None:
            return self._facts.capabilities
        return self._engine.peer_capabilities or {}

    @property
    def instructions(self) -> str | None:
        """The server's ``instructions``, if it gave any."""
        if self._facts is not None:
            return self._facts.instructions
        return self._engine.instructions

    @property
    def initialize_result(self) -> dict[str, Any]:
        """The ``initialize`` result as received."""
        return self._init_result or {}

    # ------------------------------------------------------------------ requests

    async def _request(
        self, method: str, params: Mapping[str, Any] | Any, on_progress: ProgressCallback | None
    ) -> _Slot:
        """:meth:`_request_once`; with ``reconnect=``, a call made while the transport is
        replaced waits for the new one, and (2026-07-28, ``retry_calls``) a call the lost
        transport failed is sent again."""
        reconnector = self._reconnector
        if reconnector is None:
            return await self._request_once(method, params, on_progress)
        retries = 0
        while True:
            if reconnector.down and not self.closed:
                await self._ready.wait()  # the next transport (or the terminal close)
            try:
                slot = await self._request_once(method, params, on_progress)
            except Reconnecting:
                continue  # never written: wait for the next transport
            except errors.PeerDisconnected as exc:
                if self.closed or not exc.retry_safe or self._era != "modern" or \
                        retries >= reconnector.policy.retry_calls:
                    raise
                retries += 1
                logger.info("%s: sending it again after a reconnect (%s)", method, exc.reason)
                continue
            reconnector.answered()
            return slot

    async def _request_once(
        self, method: str, params: Mapping[str, Any] | Any, on_progress: ProgressCallback | None
    ) -> _Slot:
        """Send a request and wait for its final answer. In the 2026-07-28 era: drive its
        ``input_required`` rounds (the client's handlers answer the input requests; each
        retry is a new request carrying the state byte-exact), drop ``tools/list`` entries
        with invalid ``x-mcp-header`` annotations, and after a -32020 answering a
        ``tools/call`` list the tools again and retry it once."""
        if self._era != "modern":
            return await super()._request(method, params, on_progress)
        if self._log_level is not None and (params is None or isinstance(params, Mapping)):
            # 2026-07-28 asks for log messages per request (_meta logLevel).
            params = dict(params or {})
            meta = params.get("_meta")
            params["_meta"] = {META_LOG_LEVEL: self._log_level,
                               **(meta if isinstance(meta, Mapping) else {})}
        try:
            slot = await self._mrtr(method, params, on_progress)
        except errors.MCPError as exc:
            if method != "tools/call" or not refresh_tools_on(int(exc.code)):
                raise
            logger.info("tools/call answered -32020: listing the tools again, then retrying")
            await self.list_all_tools()
            slot = await self._mrtr(method, params, on_progress)
        if method == "tools/list" and isinstance(slot.result, dict):
            self._filter_tools(slot)
        return slot

    async def _mrtr(self, method: str, params: Mapping[str, Any] | Any,
                    on_progress: ProgressCallback | None) -> _Slot:
        slot = await super()._request(method, params, on_progress)
        rounds = 0
        while isinstance(slot.typed, InputRequired):
            event = slot.typed
            rounds += 1
            if rounds > self.client.max_input_rounds:
                raise errors.MCPError(
                    -32603, f"{method}: the server still asks for input after "
                    f"{self.client.max_input_rounds} rounds (max_input_rounds)", method=method)
            if not event.input_requests:
                await trio.sleep(self.client.input_backoff)  # a state-only round: back off
            responses = await self._fulfil(method, event.input_requests)
            slot = await self._send_round(event, responses or None, on_progress)
        return slot

    async def _fulfil(self, method: str, requests: Mapping[str, Any]) -> dict[str, Any]:
        """Answer a round's input requests with the client's handlers, in order."""
        out: dict[str, Any] = {}
        for key, request in requests.items():
            if not isinstance(request, Mapping) or not isinstance(request.get("method"), str):
                raise errors.MCPError(-32602, f"{method}: input request {key!r} is malformed",
                                      method=method)
            wanted = request["method"]
            params = request.get("params")
            ctx = RequestContext(self, str(key), wanted,
                                 dict(params) if isinstance(params, Mapping) else None)
            try:
                result = await self._handle_request(ctx)
            except errors.MCPError as exc:
                raise errors.MCPError(
                    exc.code, f"{method}: the server asks for {wanted} input ({key!r}), which "
                    f"this client cannot give: {exc.message}", method=method) from exc
            out[str(key)] = result
        return out

    async def _send_round(self, event: InputRequired, responses: Mapping[str, Any] | None,
                          on_progress: ProgressCallback | None) -> _Slot:
        """One retry of an ``input_required`` round (core's ``send_retry``: new id, state
        echoed); waits for its answer as :meth:`BaseSession._request` does."""
        await trio.lowlevel.checkpoint_if_cancelled()
        slot = _Slot(event.method, on_progress)
        async with self._send_lock:
            self._check_open()
            token = next(self._tokens) if on_progress is not None else None
            rid = self._engine.send_retry(event, responses, progress_token=token)
            self._pending[rid] = slot
            reader = await self._flush_claiming(rid)
        return await self._answer_of(rid, slot, reader)

    def _filter_tools(self, slot: _Slot) -> None:
        assert slot.result is not None
        tools = slot.result.get("tools")
        if not isinstance(tools, list):
            return
        split = split_tools(tools)
        for name, problems in split.rejected:
            logger.warning("dropping tool %r from tools/list: %s", name, "; ".join(problems))
        if split.rejected:
            slot.result = {**slot.result, "tools": list(split.kept)}
            slot.typed = None
        http = getattr(self._transport, "client", None)
        if isinstance(http, StreamableHTTPClient):
            http.declare_tools(split.annotations)

    async def ping(self) -> None:
        """Send ``ping`` and wait for the answer (2026-07-28, which has no ``ping``:
        ``server/discover``).

        Raises:
            as :meth:`send_request`.
        """
        await self.send_request("server/discover" if self._era == "modern" else "ping")

    async def _dispatch(self, event: Event) -> bool:
        cls = event.__class__
        if cls is PeerDisconnected and self._reconnector is not None and \
                self._reading_engine is not self._engine:
            return True  # the end of a transport already replaced: not this one's
        if cls is InputRequired:
            assert isinstance(event, InputRequired)
            slot = self._pending.pop(event.request_id, None)
            if slot is not None:
                slot.set_result(event.result, event)
            return False
        if cls is ListenAcknowledged:
            assert isinstance(event, ListenAcknowledged)
            listener = self._listeners.get(event.request_id)
            if listener is not None:
                listener.honoured = event.honoured
                listener._acked.set()
            return False
        if cls is ListenEnded:
            assert isinstance(event, ListenEnded)
            slot = self._pending.pop(event.request_id, None)
            if slot is not None:
                slot.set_result({})
            listener = self._listeners.pop(event.request_id, None)
            if listener is not None:
                listener._end()
            return False
        if cls is ResponseReceived or cls is ErrorReceived:
            rid = getattr(event, "request_id", None)
            listener = self._listeners.pop(rid, None) if rid is not None else None
            if listener is not None:
                listener._end()
        return await super()._dispatch(event)

    @asynccontextmanager
    async def listen(
        self,
        *,
        tools: bool = False,
        prompts: bool = False,
        resources: bool = False,
        resource_uris: Iterable[str] = (),
        buffer: int = 64,
        ack_timeout: float = 10.0,
    ) -> AsyncIterator[Listener]:
        """Receive the list-changed and resource-updated notifications asked for.

        2026-07-28: opens a ``subscriptions/listen`` stream and waits (at most
        ``ack_timeout`` seconds) for its acknowledgement; leaving the block cancels it (over
        Streamable HTTP, by closing its stream). The handshake era: the server's own
        notifications of those kinds are passed on, after ``resources/subscribe`` for each
        URI (undone on leaving). With ``reconnect=``, a listen survives a reconnect: it is
        sent again on the new transport and the same listener goes on yielding (what the
        server sent meanwhile is lost); without it, a listen ends with its session.

        Args:
            tools, prompts, resources: the ``list_changed`` notifications wanted.
            resource_uris: the resources whose ``notifications/resources/updated`` are wanted.
            buffer: how many notifications wait for the consumer (then newer are dropped).
            ack_timeout: bound on the acknowledgement.

        Raises:
            MCPError: the server refused the listen (or a subscription).
            TimeoutError: no acknowledgement within ``ack_timeout`` (``trio.TooSlowError``).
            SessionClosed: the session closed.
        """
        wanted = SubscriptionFilter(tools_list_changed=tools, prompts_list_changed=prompts,
                                    resources_list_changed=resources,
                                    resource_subscriptions=tuple(dict.fromkeys(resource_uris)))
        listener = Listener(wanted, buffer)
        if self._era != "modern":
            uris = list(wanted.resource_subscriptions)
            for uri in uris:
                await self.subscribe_resource(uri)
            listener.honoured = wanted
            self._legacy_listeners.add(listener)
            try:
                yield listener
            finally:
                self._legacy_listeners.discard(listener)
                listener._end()
                with trio.CancelScope(shield=True), trio.move_on_after(self._close_timeout):
                    for uri in uris:
                        with suppress(errors.MCPError, errors.SessionClosed):
                            await self.unsubscribe_resource(uri)
            return
        slot = _Slot("subscriptions/listen", None)
        async with self._send_lock:
            self._check_open()
            rid = self._engine.send_listen(wanted)
            self._pending[rid] = slot
            self._listeners[rid] = listener
            listener._rid = rid
            try:
                await self._flush()
            except BaseException:
                self._pending.pop(rid, None)
                self._listeners.pop(rid, None)
                raise
        try:
            with trio.fail_after(ack_timeout):
                while not listener._acked.is_set() and not slot.event.is_set():
                    async with trio.open_nursery() as waiters:
                        async def ack() -> None:
                            await listener._acked.wait()
                            waiters.cancel_scope.cancel()

                        async def answered() -> None:
                            await slot.event.wait()
                            waiters.cancel_scope.cancel()

                        waiters.start_soon(ack)
                        waiters.start_soon(answered)
            if slot.error is not None and listener.honoured is None:
                raise slot.error
            if self._nursery is not None:
                # The listen's answer (the server ended the stream) or the session's end
                # ends the iteration.
                self._nursery.start_soon(_end_when_answered, slot, listener)
            yield listener
        finally:
            listener._end()
            rid = listener._rid  # sent again under a new id after a reconnect
            self._listeners.pop(rid, None)
            if not slot.event.is_set():
                await self._cancel_request(rid, "listen ended by the client")
            self._pending.pop(rid, None)

    async def _typed(self, method: str, params: Any, cls: type[T],
                     on_progress: ProgressCallback | None = None) -> T:
        slot = await self._request(method, params, on_progress)
        typed = slot.typed
        if typed.__class__ is cls:  # the engine validated it into this very type
            return typed
        return t.structure(slot.result, cls)

    async def _all(self, method: str, key: str, cls: type[Any]) -> list[Any]:
        items: list[Any] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            result = await self.send_request(method, {"cursor": cursor} if cursor else None)
            page = t.structure(result, cls)
            items.extend(getattr(page, key))
            cursor = page.next_cursor
            if not cursor:
                return items
            if cursor in seen:
                raise errors.MCPError(-32603, f"{method}: the server repeated cursor {cursor!r}",
                                      method=method)
            seen.add(cursor)

    async def list_tools(self, cursor: str | None = None) -> t.ListToolsResult:
        """One page of ``tools/list``."""
        return await self._typed("tools/list", _cursor(cursor), t.ListToolsResult)

    async def list_all_tools(self) -> list[t.Tool]:
        """Every tool, following ``nextCursor`` until the last page."""
        return await self._all("tools/list", "tools", t.ListToolsResult)

    # ------------------------------------------------------------------ tools/call and tasks
    # (issue 13, the client side of tasks: see trio_adapter/_task_client.py, sansio/task_client.py)

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        meta: Mapping[str, Any] | None = None,
        on_task_status: TaskStatusCallback | None = None,
    ) -> t.CallToolResult:
        """Call a tool and return its result.

        A tool that failed is *not* an exception: check ``result.is_error``.

        Against a server that runs the call as a task, this waits for the task and returns
        the same result the plain call gives (see :meth:`call_tool_as_task` for the handle):
        2026-07-28 declares the ``io.modelcontextprotocol/tasks`` extension on the request (the
        server decides); 2025-11-25 asks for a task only for a tool whose
        ``execution.taskSupport`` is ``"required"`` on a server with
        ``tasks.requests.tools.call`` (``tools/list`` is asked once per session to learn it).
        The task's input requests are answered by the client's handlers. Cancelling the call
        sends ``tasks/cancel`` (shielded, bounded by ``CANCEL_TIMEOUT``).

        Args:
            name: the tool.
            arguments: its arguments.
            on_progress: receive the tool's progress notifications.
            meta: ``_meta`` for the request.
            on_task_status: ``await on_task_status(snapshot)`` when the call became a task,
                with the task as created and after each poll that showed a change.

        Raises:
            TaskFailed: the task ended with a JSON-RPC error (an :class:`MCPError`: the
                error's code, message and data).
            TaskCancelled: the task was cancelled (by someone else, or the server).
            TaskExpired: the task showed no change for longer than its ttl.
            MCPError, SessionClosed, RequestTimeout: as every request.
        """
        started = await self._start_tool_call(name, arguments, on_progress, meta, None,
                                              ask=False)
        if not isinstance(started, TaskHandle):
            return started
        try:
            return await started.wait(on_status=on_task_status)
        except trio.Cancelled:
            with trio.CancelScope(shield=True), trio.move_on_after(CANCEL_TIMEOUT), \
                    suppress(Exception):
                await started.cancel()
            raise

    async def call_tool_as_task(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        meta: Mapping[str, Any] | None = None,
        ttl_ms: int | None = None,
        poll_policy: task_client.PollPolicy | None = None,
    ) -> TaskHandle | t.CallToolResult:
        """Call a tool, letting it become a task, and return the task's handle without
        waiting for it (poll it with :meth:`TaskHandle.wait`, :meth:`TaskHandle.get`; end it
        with :meth:`TaskHandle.cancel`).

        The server may still answer at once: then the result is returned (2026-07-28: the
        server alone decides; 2025-11-25: a task is asked for when the server declares
        ``tasks.requests.tools.call`` and the tool's ``execution.taskSupport`` is
        ``"optional"`` or ``"required"``).

        Args:
            name, arguments, on_progress, meta: as :meth:`call_tool`.
            ttl_ms: (2025-11-25) the ``params.task.ttl`` to ask for.
            poll_policy: how the handle polls (default :class:`~sansio.task_client.PollPolicy`:
                the server's interval, from 0.05 s to 30 s, x1.5 per unchanged poll).

        Raises:
            sansio.task_client.MalformedTask: the answer is a malformed task.
            MCPError, SessionClosed, RequestTimeout: as every request.
        """
        return await self._start_tool_call(name, arguments, on_progress, meta, ttl_ms,
                                           ask=True, policy=poll_policy)

    #: (2025-11-25) each tool's ``execution.taskSupport``, learnt from one ``tools/list``.
    _task_support: dict[str, str | None] | None = None

    async def _start_tool_call(
        self, name: str, arguments: Mapping[str, Any] | None,
        on_progress: ProgressCallback | None, meta: Mapping[str, Any] | None,
        ttl_ms: int | None, *, ask: bool, policy: task_client.PollPolicy | None = None,
    ) -> TaskHandle | t.CallToolResult:
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        modern = self._era == "modern"
        own_meta = dict(meta) if meta is not None else {}
        augmented = False
        if modern:  # the server decides; the extension is declared on this request only
            own_meta.setdefault(task_client.CLIENT_CAPABILITIES_META, task_client.declare_tasks(
                self.client.capabilities(modern=True)))
        elif await self._wants_task(name, ask):
            params["task"] = {} if ttl_ms is None else {"ttl": ttl_ms}
            augmented = True
        if own_meta:
            params["_meta"] = own_meta
        slot = await self._request("tools/call", params, on_progress)
        assert slot.result is not None
        created = task_client.created_task(slot.result, modern=modern, augmented=augmented)
        if created is not None:
            return TaskHandle(self, created, modern=modern, policy=policy)
        typed = slot.typed
        if typed.__class__ is t.CallToolResult:
            return typed
        return t.structure(slot.result, t.CallToolResult)

    async def _wants_task(self, name: str, ask: bool) -> bool:
        """(2025-11-25) Whether to put ``params.task`` on a call of tool ``name``: the server
        runs tools as tasks and the tool requires it (or allows it, when ``ask``)."""
        tasks = self.server_capabilities.get("tasks")
        requests = tasks.get("requests") if isinstance(tasks, Mapping) else None
        tools = requests.get("tools") if isinstance(requests, Mapping) else None
        if not (isinstance(tools, Mapping) and isinstance(tools.get("call"), Mapping)):
            return False
        if self._task_support is None:
            support: dict[str, str | None] = {}
            for tool in await self.list_all_tools():
                support[tool.name] = tool.execution.task_support if tool.execution else None
                if len(support) >= _MAX_TOOLS_REMEMBERED:
                    break
            self._task_support = support
        wanted = self._task_support.get(name)
        return wanted == "required" or (ask and wanted == "optional")

    async def list_resources(self, cursor: str | None = None) -> t.ListResourcesResult:
        """One page of ``resources/list``."""
        return await self._typed("resources/list", _cursor(cursor), t.ListResourcesResult)

    async def list_all_resources(self) -> list[t.Resource]:
        """Every resource, across pages."""
        return await self._all("resources/list", "resources", t.ListResourcesResult)

    async def list_resource_templates(
        self, cursor: str | None = None
    ) -> t.ListResourceTemplatesResult:
        """One page of ``resources/templates/list``."""
        return await self._typed("resources/templates/list", _cursor(cursor),
                                 t.ListResourceTemplatesResult)

    async def list_all_resource_templates(self) -> list[t.ResourceTemplate]:
        """Every resource template, across pages."""
        return await self._all("resources/templates/list", "resource_templates",
                               t.ListResourceTemplatesResult)

    async def read_resource(self, uri: str) -> t.ReadResourceResult:
        """Read a resource (``resources/read``)."""
        return await self._typed("resources/read", {"uri": uri}, t.ReadResourceResult)

    async def subscribe_resource(self, uri: str) -> None:
        """Subscribe to ``notifications/resources/updated`` for ``uri``."""
        await self.send_request("resources/subscribe", {"uri": uri})

    async def unsubscribe_resource(self, uri: str) -> None:
        """Undo :meth:`subscribe_resource`."""
        await self.send_request("resources/unsubscribe", {"uri": uri})

    async def list_prompts(self, cursor: str | None = None) -> t.ListPromptsResult:
        """One page of ``prompts/list``."""
        return await self._typed("prompts/list", _cursor(cursor), t.ListPromptsResult)

    async def list_all_prompts(self) -> list[t.Prompt]:
        """Every prompt, across pages."""
        return await self._all("prompts/list", "prompts", t.ListPromptsResult)

    async def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None
    ) -> t.GetPromptResult:
        """Get a prompt with its arguments filled in (``prompts/get``)."""
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        return await self._typed("prompts/get", params, t.GetPromptResult)

    async def complete(
        self,
        ref: t.PromptReference | t.ResourceTemplateReference | Mapping[str, Any],
        argument_name: str,
        value: str,
        *,
        context_arguments: Mapping[str, str] | None = None,
    ) -> t.Completion:
        """Ask for completions of one argument (``completion/complete``).

        Args:
            ref: the prompt or resource template whose argument is completed.
            argument_name: the argument.
            value: what the user typed so far.
            context_arguments: values of arguments already filled in (2025-06-18).
        """
        params: dict[str, Any] = {
            "ref": ref if isinstance(ref, Mapping) else t.unstructure(ref),
            "argument": {"name": argument_name, "value": value},
        }
        if context_arguments is not None:
            params["context"] = {"arguments": dict(context_arguments)}
        result = await self._typed("completion/complete", params, t.CompleteResult)
        return result.completion

    async def set_logging_level(self, level: t.LoggingLevel) -> None:
        """Ask the server to send log messages at ``level`` and above (``logging/setLevel``;
        2026-07-28, which has no such method: every later request of this session asks for
        them in its ``_meta``)."""
        if self._era == "modern":
            self._log_level = level
            await trio.lowlevel.checkpoint()
            return
        await self.send_request("logging/setLevel", {"level": level})

    async def send_roots_list_changed(self) -> None:
        """Send ``notifications/roots/list_changed`` (done for you by :meth:`Client.set_roots`)."""
        await self.send_notification("notifications/roots/list_changed")

    # ------------------------------------------------------------------ server requests

    async def _handle_request(self, ctx: RequestContext) -> Any:
        method = ctx.method
        client = self.client
        if method == "roots/list":
            roots = client.roots
            if roots is None:
                raise errors.MCPError(-32601, "roots are not supported by this client")
            return t.ListRootsResult(roots=roots)
        if method == "sampling/createMessage":
            if client.sampling_handler is None:
                raise errors.MCPError(-32601, "sampling is not supported by this client")
            params = t.structure(ctx.params or {}, t.CreateMessageRequestParams)
            return await client.sampling_handler(ctx, params)
        if method == "elicitation/create":
            if client.elicitation_handler is None:
                raise errors.MCPError(-32601, "elicitation is not supported by this client")
            eparams = t.structure(ctx.params or {}, t.ElicitRequestParams)
            return await client.elicitation_handler(ctx, eparams)
        raise errors.MCPError(-32601, f"method not found: {method}")

    async def _on_notification(self, event: NotificationReceived) -> None:
        client = self.client
        if event.subscription_id is not None:
            listener = self._listeners.get(event.subscription_id)
            if listener is not None:
                listener._push(event)
        elif self._legacy_listeners:
            for legacy in self._legacy_listeners:
                if legacy.requested.carries(event.method, event.params):
                    legacy._push(event)
        if event.method == "notifications/message" and client.logging_handler is not None:
            await client.logging_handler(
                t.structure(event.params or {}, t.LoggingMessageNotificationParams))
        if client.notification_handler is not None:
            await client.notification_handler(self, event.method, event.params)

    async def aclose(self) -> None:
        """Close the session (see :meth:`BaseSession.aclose`)."""
        try:
            await super().aclose()
        finally:
            self.client._sessions.discard(self)


async def _end_when_answered(slot: _Slot, listener: Listener) -> None:
    try:
        await slot.event.wait()
    finally:
        listener._end()


def _cursor(cursor: str | None) -> dict[str, Any] | None:
    return {"cursor": cursor} if cursor is not None else None


def _roots(roots: Iterable[t.Root | str]) -> list[t.Root]:
    return [r if isinstance(r, t.Root) else t.Root(uri=r) for r in roots]
