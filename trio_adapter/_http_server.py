"""Streamable HTTP server for trio: :func:`serve_http` (every decision is :mod:`sansio.http`'s;
this module owns sockets, tasks and timeouts)."""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import secrets
import ssl
import sys
import types
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs
import h11
import trio

from sansio import DEFAULT_MAX_FRAME_SIZE, _codec
from sansio.auth_server import AuthAnswer, Principal
from sansio.frames import Frame
from sansio.http import (
    DEFAULT_ALLOWED_HOSTS,
    DEFAULT_MAX_SESSIONS,
    Accept,
    CompleteRequest,
    EventStore,
    Listen,
    OpenStream,
    Reject,
    StreamableHTTPServer,
    StreamEvent,
    Terminate,
    header_annotations,
)

from ._auth_server import ProtectedResource, _AuthGate
from ._netfail import _check_resolvable, describe_failure
from ._redis_events import RedisEventStore
from ._redis_relay import SessionRelay, VirtualStream
from ._session import Claimed, current_request
from ._sync import Flag as _Flag
from ._transport import Transport
from ._util import receive_after_wait, send_quickly, write_nowait
from .server import Server, ServerSession

if TYPE_CHECKING:
    from .redis import RedisBackend

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    pass  # type: ignore[import-not-found,unused-ignore]

logger = logging.getLogger("trio_mcp.http")




_CHUNK = 65536
_JOIN_LIMIT = 65536  # pieces of a response joined into one write up to this size
_JSON_TYPE = ("content-type", "application/json")
T = TypeVar("T")

COALESCE_WINDOW = 0.002
"""Seconds an SSE response head (and priming event) waits for the first event, so that a
quick answer leaves in the same write."""
MODERN_HEAD_WINDOW = 0.25
EVENT_EXPIRY_PERIOD = 5.0
"""Seconds between two calls of the event store's age expiry (and of the idle checks, when
they are not more frequent)."""
"""Seconds the SSE head of a 2026-07-28 request's answer waits for the first event: an error
answer that comes by then gets its own HTTP status (404, 400) instead of a 200 stream."""


@attrs.frozen
class HTTPServerInfo:
    """What :func:`serve_http` reports through ``nursery.start``."""

    host: str
    port: int
    path: str
    tls: bool = False
    relay: SessionRelay | None = attrs.field(default=None, eq=False, repr=False)
    """``serve_http(shared=...)``: this worker's relay (its counts of relayed requests)."""

    @property
    def url(self) -> str:
        """The MCP endpoint's URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{self.path}"


# ---------------------------------------------------------------- server


class _Inbox:
    """A session's input: whole messages in arrival order, at most ``capacity`` of them from
    POSTs (:meth:`put` waits for room); the adapter's own cancellations (:meth:`put_nowait`,
    one per open 2026-07-28 stream at most) always fit, so the bound is capacity plus the
    open connections."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: collections.deque[bytes] = collections.deque()
        self._closed = False
        self._readers = trio.lowlevel.ParkingLot()
        self._writers = trio.lowlevel.ParkingLot()

    def __len__(self) -> int:
        return len(self._items)

    def reader_waiting(self) -> bool:
        """Whether the reader waits in :meth:`get` with nothing queued for it."""
        return not self._items and not self._closed and len(self._readers) > 0

    async def put(self, item: bytes) -> None:
        """Append ``item`` once there is room (at once, dropping it, once closed). The
        caller bounds the wait; nothing is appended when it is cancelled."""
        while len(self._items) >= self.capacity and not self._closed:
            await self._writers.park()
        self.put_nowait(item)

    def put_nowait(self, item: bytes) -> None:
        """Append ``item`` whatever the bound (dropped once closed)."""
        if not self._closed:
            self._items.append(item)
            self._readers.unpark()

    async def get(self) -> bytes:
        """What is queued, joined (``b""`` once closed and empty)."""
        while not self._items:
            if self._closed:
                return b""
            await self._readers.park()
        items = self._items
        out = b"".join(items) if len(items) > 1 else items[0]
        items.clear()
        self._writers.unpark_all()
        return out

    def close(self) -> None:
        self._closed = True
        self._readers.unpark_all()
        self._writers.unpark_all()


class _StreamBuffer:
    """The events of one SSE stream waiting for its connection to write them, bounded by
    count (``max_events``) and by bytes (``max_bytes``; one event larger than that still
    fits alone). The routing side sends (:meth:`send_nowait`, or :meth:`send` to wait for
    room), the connection receives; :meth:`close` lets the receiver take what is left, then
    :class:`trio.EndOfChannel` (as a closed memory channel does)."""

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._items: collections.deque[StreamEvent] = collections.deque()
        self._bytes = 0
        self._closed = False
        # The waiting receiver and senders, made by the first wait (most streams never have
        # one: their answer is there before anyone waits).
        self._readers: trio.lowlevel.ParkingLot | None = None
        self._writers: trio.lowlevel.ParkingLot | None = None
        #: Set while the stream's connection runs its request's handler itself and has sent
        #: nothing for it (:meth:`_Conn._serve_here`): an answer that is whole at once (an
        #: event with a ``body``) and finds nothing queued before it is given to this
        #: callback the moment it is routed, which writes it then, before the handler has
        #: even returned (once: the callback is cleared). It returns whether it took the
        #: event; one it did not take is queued as usual.
        self.answer_now: Callable[[StreamEvent], bool] | None = None

    @property
    def buffered(self) -> int:
        """Bytes of events waiting now."""
        return self._bytes

    def _room(self, size: int) -> bool:
        return not self._items or (len(self._items) < self.max_events
                                   and self._bytes + size <= self.max_bytes)

    def send_nowait(self, event: StreamEvent) -> None:
        """Queue ``event``; :class:`trio.WouldBlock` when it does not fit now,
        :class:`trio.ClosedResourceError` once closed."""
        if self._closed:
            raise trio.ClosedResourceError("the stream has ended")
        answer_now = self.answer_now
        if answer_now is not None and event.body and not self._items:
            self.answer_now = None
            if answer_now(event):
                return
        if not self._room(len(event.data)):
            raise trio.WouldBlock
        self._items.append(event)
        self._bytes += len(event.data)
        if self._readers is not None:
            self._readers.unpark()

    async def send(self, event: StreamEvent) -> None:
        """Queue ``event`` once it fits (the caller bounds the wait)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while not self._closed and not self._room(len(event.data)):
            if self._writers is None:
                self._writers = trio.lowlevel.ParkingLot()
            await self._writers.park()
        self.send_nowait(event)

    def receive_nowait(self) -> StreamEvent:
        """The oldest event; :class:`trio.WouldBlock` when none waits,
        :class:`trio.EndOfChannel` once closed and empty."""
        if self._items:
            event = self._items.popleft()
            self._bytes -= len(event.data)
            if self._writers is not None:
                self._writers.unpark_all()
            return event
        if self._closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> StreamEvent:
        """The oldest event, once there is one (:class:`trio.EndOfChannel` once closed)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        parked = False
        while True:
            try:
                event = self.receive_nowait()
            except trio.WouldBlock:
                if self._readers is None:
                    self._readers = trio.lowlevel.ParkingLot()
                await self._readers.park()
                parked = True
                continue
            if not parked:  # a wait was a schedule point already (as trio's channels do)
                await trio.lowlevel.cancel_shielded_checkpoint()
            return event

    def close(self) -> None:
        self._closed = True
        for lot in (self._readers, self._writers):
            if lot is not None:
                lot.unpark_all()

    def __aiter__(self) -> _StreamBuffer:
        return self

    async def __anext__(self) -> StreamEvent:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None


@types.coroutine
def _noting_first_wait(coro: Coroutine[Any, Any, T], on_wait: Callable[[], None]
                       ) -> Generator[Any, Any, T]:
    """``await coro``, calling ``on_wait()`` the first time ``coro`` yields to trio (a schedule
    point: it waits, or lets others run). Everything trio sends or throws goes to ``coro``
    unchanged, as plain ``await`` does."""
    value: Any = None
    error: BaseException | None = None
    waited = False
    while True:
        try:
            yielded = coro.send(value) if error is None else coro.throw(error)
        except StopIteration as stop:
            return cast(T, stop.value)
        if not waited:
            waited = True
            on_wait()
        try:
            value, error = (yield yielded), None
        except BaseException as exc:  # handed to coro, as await does
            value, error = None, exc


class _Prefetched:
    """A stream's channel whose first event may have been taken already (see
    :meth:`_Conn._post_stream`): what :meth:`_Conn._stream` reads, that event first."""

    def __init__(self, channel: _StreamBuffer) -> None:
        self._channel = channel
        self._held: StreamEvent | None = None
        self._ended = False

    @property
    def complete(self) -> bool:
        """Nothing more will come after what is held: the answer, or the stream's end."""
        return self._ended or (self._held is not None and self._held.final)

    def take_nowait(self) -> None:
        """Hold the first event if it is there already (or note the stream's end)."""
        if self._held is None and not self._ended:
            try:
                self._held = self._channel.receive_nowait()
            except trio.WouldBlock:
                pass
            except trio.EndOfChannel:
                self._ended = True

    async def prefetch(self) -> None:
        """Wait for the first event and hold it (or note the end of the stream)."""
        try:
            self._held = await self._channel.receive()
        except trio.EndOfChannel:
            self._ended = True

    def receive_nowait(self) -> StreamEvent:
        held = self._held
        if held is not None:
            self._held = None
            return held
        if self._ended:
            raise trio.EndOfChannel
        return self._channel.receive_nowait()

    async def receive(self) -> StreamEvent:
        if self._held is not None or self._ended:
            await trio.lowlevel.checkpoint()
            return self.receive_nowait()
        return await self._channel.receive()

    def __aiter__(self) -> _Prefetched:
        return self

    async def __anext__(self) -> StreamEvent:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None


class _SessionTransport(Transport):
    """The transport of one HTTP session: POST bodies in (bounded: see :class:`_Inbox`),
    routed stream events out."""

    def __init__(self, endpoint: _Endpoint, key: str) -> None:
        self.endpoint = endpoint
        self.key = key
        self._inbox = _Inbox(endpoint.max_pending)
        self.closed = False
        self.last_active = trio.current_time()

    async def deliver(self, message: bytes) -> None:
        """Queue one POST's message for the engine once there is room (the caller bounds the
        wait, and refuses the request when there was none)."""
        self.last_active = trio.current_time()
        if not self.closed:
            await self._inbox.put(message.rstrip(b"\n") + b"\n")

    def deliver_if_room(self, message: bytes) -> bool:
        """Queue one POST's message if the input has room now (True), else leave it (False:
        the caller waits with :meth:`deliver`). A closed session drops it (True)."""
        if self.closed:
            return True
        inbox = self._inbox
        if len(inbox) >= inbox.capacity:
            return False
        self.last_active = trio.current_time()
        inbox.put_nowait(message.rstrip(b"\n") + b"\n")
        return True

    async def deliver_inline(self, message: bytes, claim: list[Claimed] | None = None
                             ) -> bool:
        """Have the session process one POST's message in the calling task (the connection's)
        when its reader is idle (:attr:`Transport.feed_inline`): True if it was (or the
        session is closed: dropped), False if the caller must queue it."""
        if self.closed:
            return True
        feed = self.feed_inline  # (the session checks reader_idle itself)
        if feed is None:
            return False
        self.last_active = trio.current_time()
        return await feed(message.rstrip(b"\n") + b"\n", claim)

    def reader_idle(self) -> bool:
        return not self.closed and self._inbox.reader_waiting()

    def deliver_nowait(self, message: bytes) -> None:
        """Queue one message of the adapter's own (a cancellation) whatever the bound."""
        if not self.closed:
            self._inbox.put_nowait(message.rstrip(b"\n") + b"\n")

    async def receive(self) -> bytes:
        return await self._inbox.get()

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise trio.ClosedResourceError("the HTTP session is closed")
        related = current_request.get()
        for frame in data.splitlines():
            await self.endpoint.dispatch(self.key, frame, related)
        await trio.lowlevel.checkpoint()

    async def send_frames(self, frames: list[Frame]) -> None:
        """Route the engine's frames by their fields (nothing is decoded): a frame that names
        the request it belongs to goes with it, else with the request being served."""
        if self.closed:
            raise trio.ClosedResourceError("the HTTP session is closed")
        current = current_request.get()
        for frame in frames:
            related = frame.related_request_id
            await self.endpoint.dispatch(self.key, frame,
                                         current if related is None else related)
        # No yield of its own (dispatch yields only when a stream is full): the handler that
        # answered goes on to its end in this step, and the connection writes the answer in
        # the next one (a scheduler round less per request).
        await trio.lowlevel.checkpoint_if_cancelled()

    def end_input(self) -> None:
        """The session was terminated (DELETE, expiry): the engine sees end of input."""
        self._inbox.close()

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self._inbox.close()
            self.endpoint.session_gone(self.key)
        await trio.lowlevel.checkpoint()


class _Endpoint:
    def __init__(self, server: Server, core: StreamableHTTPServer, nursery: trio.Nursery,
                 stateless: bool, *, max_pending: int = 64, stream_buffer: int = 256,
                 stream_max_bytes: int = 4 * 1024 * 1024,
                 send_timeout: float = 30.0) -> None:
        self.server = server
        self.core = core
        self.nursery = nursery
        self.stateless = stateless
        self.max_pending = max_pending
        self.stream_buffer = stream_buffer
        self.stream_max_bytes = stream_max_bytes
        self.send_timeout = send_timeout
        self.transports: dict[str, _SessionTransport] = {}
        self.streams: dict[tuple[str, str], _StreamBuffer] = {}
        self.long_lived: set[tuple[str, str]] = set()
        self._session_streams: dict[str, set[str]] = {}  # key -> its open stream ids
        self.sessions: dict[str, ServerSession] = {}
        self.conns: set[_Conn] = set()
        self.draining = False
        self._drained = trio.Event()
        self.auth: _AuthGate | None = None  # serve_http(auth=...): checks every request
        self.relay: SessionRelay | None = None  # serve_http(shared=...): other workers' sessions
        self.redis_events: RedisEventStore | None = None  # ...and the event log in Redis
        self.relayed_streams: set[trio.CancelScope] = set()  # relayed GETs: long-lived

    async def dispatch(self, key: str, frame: bytes | Frame, related: Any) -> None:
        """Route one frame of session ``key`` to the streams the core names. A stream whose
        client reads too slowly (its buffer stays full for ``send_timeout``) is ended."""
        for event in self.core.route(key, frame, related):
            channel = self.streams.get((key, event.stream_id))
            if channel is None:
                continue
            try:
                channel.send_nowait(event)
            except trio.WouldBlock:
                with trio.move_on_after(self.send_timeout):
                    with contextlib.suppress(trio.BrokenResourceError,
                                             trio.ClosedResourceError):
                        await channel.send(event)
                    continue
                logger.warning("trio-mcp: ending SSE stream %s of a client that reads too "
                               "slowly", event.stream_id)
                self.close_channel(key, event.stream_id, channel)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.core.detach(key, event.stream_id)

    def session_gone(self, key: str) -> None:
        self.transports.pop(key, None)
        self.sessions.pop(key, None)
        self.core.terminate(key)
        for sid in self._session_streams.pop(key, ()):  # this session's only, not every one
            channel = self.streams.pop((key, sid), None)
            if channel is not None:
                channel.close()
            self.long_lived.discard((key, sid))

    async def _session_task(self, session: ServerSession) -> None:
        # What Server.serve does, less its lifespan: serve_http holds that for all sessions.
        sessions = self.server._sessions
        sessions.add(session)
        try:
            await session._run()
        finally:
            sessions.discard(session)

    def new_session(self, key: str, principal: Principal | None = None) -> _SessionTransport:
        """Make session ``key`` (of ``principal``, with auth) and start it (its task runs once
        this task waits: what is delivered meanwhile waits in its input). Made here rather than
        in the task, the session exists at once, and the request costs no scheduler round trip
        to start it."""
        transport = _SessionTransport(self, key)
        self.transports[key] = transport
        session = self.server._new_session(transport)
        session.principal = principal
        self.sessions[key] = session
        self.nursery.start_soon(self._session_task, session)
        return transport

    def conn_opened(self, conn: _Conn) -> None:
        self.conns.add(conn)

    def conn_closed(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        if self.draining and not self.conns:
            self._drained.set()

    async def drain(self) -> None:
        """Stop taking requests and end what runs, in order: idle connections are closed,
        requests arriving meanwhile get 503, every session is closed (its handlers get their
        grace; its SSE streams end), and the connections answering end as their responses
        do. Returns when no connection is left (the caller bounds the wait)."""
        self.draining = True
        for conn in list(self.conns):
            conn.stop_if_idle()
        # Closing a session cancels its 2026-07-28 listens at once (their streams end with
        # the listen's result) and ends its GET stream; long-lived streams left after that
        # are ended here, so that nothing waits on them.
        async with trio.open_nursery() as nursery:
            for session in list(self.sessions.values()):
                nursery.start_soon(session.aclose)
        for key, stream_id in list(self.long_lived):
            self.close_channel(key, stream_id)
        for scope in list(self.relayed_streams):  # GET streams relayed to other workers
            scope.cancel()
        for conn in list(self.conns):
            conn.stop_if_idle()
        if self.conns:
            await self._drained.wait()

    def open_channel(self, key: str, stream_id: str, *, long_lived: bool = False
                     ) -> _StreamBuffer:
        recv = send = _StreamBuffer(self.stream_buffer, self.stream_max_bytes)
        self.streams[(key, stream_id)] = send
        self._session_streams.setdefault(key, set()).add(stream_id)
        if long_lived:
            self.long_lived.add((key, stream_id))
        return recv

    def close_channel(self, key: str, stream_id: str,
                      channel: _StreamBuffer | None = None) -> None:
        """End stream ``stream_id`` of session ``key`` (only ``channel``, when given: a stream
        resumed since then is another one). Its response ends once what is buffered is sent;
        for a 2026-07-28 request that is its cancellation."""
        current = self.streams.get((key, stream_id))
        if current is None or (channel is not None and current is not channel):
            if channel is not None:
                channel.close()
            return
        del self.streams[(key, stream_id)]
        ids = self._session_streams.get(key)
        if ids is not None:
            ids.discard(stream_id)
            if not ids:
                del self._session_streams[key]
        self.long_lived.discard((key, stream_id))
        current.close()
        closed = self.core.detach(key, stream_id)
        transport = self.transports.get(key)
        if closed is not None and transport is not None:
            # 2026-07-28: the client closed the answer's stream, which cancels the request.
            for request_id in closed.request_ids:
                transport.deliver_nowait(_codec.dumps({
                    "jsonrpc": "2.0", "method": "notifications/cancelled", "params": {
                        "requestId": request_id,
                        "reason": "the client closed the response stream"}}))

    async def housekeeping(self, idle: float | None, unused: float | None) -> None:
        """Every few seconds: let the event store drop events past its age bound, and end
        the sessions idle for longer than ``idle`` seconds, or ``unused`` seconds for one
        that never had a request served since ``initialize`` (``None``: never)."""
        bounds = [b for b in (idle, unused, EVENT_EXPIRY_PERIOD * 4) if b is not None]
        period = min(bounds) / 4
        while True:
            await trio.sleep(period)
            now = trio.current_time()
            self.core.expire(now)
            shared = self.core.shared_session_ids  # hold no client's state: kept
            for key, transport in list(self.transports.items()):
                if key in shared:
                    continue
                session = self.sessions.get(key)
                limit = idle
                # A session is unused when no request was served since initialize and no
                # long-lived stream is open (a client listening on its GET stream uses it).
                if unused is not None and session is not None and not session.requests_served \
                        and not any((key, sid) in self.long_lived
                                    for sid in self._session_streams.get(key, ())):
                    limit = unused if idle is None else min(idle, unused)
                if limit is not None and now - transport.last_active > limit:
                    transport.end_input()
                    self.core.terminate(key)


class _Conn:
    """One TCP connection of :func:`serve_http`."""

    def __init__(self, endpoint: _Endpoint, stream: trio.abc.Stream, *, max_body: int,
                 max_header: int, request_timeout: float, keepalive_timeout: float,
                 sse_keepalive: float | None = None, response_timeout: float = 300.0) -> None:
        self.endpoint = endpoint
        self.stream = stream
        self.http = endpoint.core.connection(max_body=max_body, max_header=max_header)
        self.max_body, self.max_header = max_body, max_header
        self.request_timeout = request_timeout
        self.keepalive_timeout = keepalive_timeout
        self.sse_keepalive = sse_keepalive
        self.response_timeout = response_timeout
        self._idle_scope: trio.CancelScope | None = None  # set while waiting for a request
        self._reads = trio.CancelScope()  # run() enters it: the deadline of request reads
        self._began = False  # the request being read has begun

    def stop_if_idle(self) -> None:
        """Close the connection if it waits for a request that has not begun (draining)."""
        if self._idle_scope is not None:
            self._idle_scope.cancel()

    async def _read_request(self, first: bool) -> CompleteRequest | bytes | None:
        """The next request (None: the connection is to close; bytes: an error answer to
        send before closing). Waits at most ``keepalive_timeout`` for a request to begin
        (``request_timeout`` for the first), then ``request_timeout`` in all for it to come
        whole: the deadline is the connection's one read scope (:meth:`run`), so a read
        costs no cancel scope of its own; past it, :meth:`run` answers 408 (or just closes
        an idle connection)."""
        http = self.http
        if self.endpoint.draining:
            return None
        got = http.next_request()
        if got is not None or http.closed:  # pipelined: already here, no wait
            return got
        reads = self._reads
        reads.deadline = trio.current_time() + (self.keepalive_timeout if not first else
                                                self.request_timeout)
        self._began = False
        self._idle_scope = reads
        try:
            while True:
                # After an answer, the client's next request is not here yet (a new
                # connection's first often is).
                data = await (self.stream.receive_some(_CHUNK) if first else
                              receive_after_wait(self.stream, _CHUNK))
                http.receive_data(bytes(data))
                got = http.next_request()
                if got is not None or http.closed:
                    return got
                if not self._began and data:  # a request has begun: request_timeout in all
                    self._began = True
                    self._idle_scope = None
                    reads.deadline = trio.current_time() + self.request_timeout
        finally:
            self._idle_scope = None
            reads.deadline = math.inf

    async def run(self) -> None:
        first = True
        self.endpoint.conn_opened(self)
        try:
            # The deadline of every read of a request (set by _read_request, infinite
            # otherwise); it ends the connection when it passes (or a drain cancels it).
            with trio.CancelScope() as self._reads:
                while True:
                    request = await self._read_request(first)
                    first = False
                    if request is None:
                        return
                    if isinstance(request, bytes):
                        await self.stream.send_all(request)
                        await self._discard_rest()
                        return
                    if self.endpoint.draining:
                        await self.stream.send_all(self.http.response(
                            503, [_JSON_TYPE, ("connection", "close")],
                            _codec.dumps({"jsonrpc": "2.0", "id": None, "error": {
                                "code": -32000, "message": "the server is shutting down"}})))
                        return
                    await self._answer(request)
                    if self.endpoint.draining or not self.http.next_cycle():
                        return
            if self._began:  # a request began and did not come whole in time
                await self.stream.send_all(self.http._error(408, "request timed out"))
                await self._discard_rest()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return
        except Exception:  # a bug: it ends this connection, never the server
            logger.exception("trio-mcp: HTTP connection failed")
            return
        finally:
            self.endpoint.conn_closed(self)
            await trio.aclose_forcefully(self.stream)

    async def _discard_rest(self) -> None:
        """After a 413 or 431: read (and throw away) what the client is still sending, as the
        core bounds it, so that it reads the answer rather than a reset."""
        with trio.move_on_after(self.request_timeout):
            while self.http.discarding:
                self.http.receive_data(bytes(await self.stream.receive_some(_CHUNK)))
                self.http.next_request()

    async def _send(self, data: bytes) -> None:
        """Write ``data``; a client that takes more than ``request_timeout`` to read it loses
        the connection (:class:`trio.BrokenResourceError`)."""
        rest = await send_quickly(self.stream, data)  # usually all of it, with no wait
        if rest:
            await self._send_rest(rest)

    async def _send_rest(self, rest: bytes | memoryview) -> None:
        """Write what :func:`send_quickly` left, as :meth:`_send` does."""
        with trio.move_on_after(self.request_timeout):
            await self.stream.send_all(rest)
            return
        raise trio.BrokenResourceError("the client did not read the response in time")

    async def _send_pieces(self, pieces: list[bytes]) -> None:
        """Write ``pieces`` in order, as :meth:`_send` (one deadline for all): the small ones
        joined, a large one as it is (never copied again: a client that does not read
        holds one copy of its answer, not three)."""
        if sum(len(piece) for piece in pieces) <= _JOIN_LIMIT:
            await self._send(b"".join(pieces))
            return
        with trio.move_on_after(self.request_timeout):
            small: list[bytes] = []
            for piece in pieces:
                if len(piece) < _JOIN_LIMIT:
                    small.append(piece)
                    continue
                if small:
                    await self.stream.send_all(b"".join(small))
                    small.clear()
                await self.stream.send_all(piece)
            if small:
                await self.stream.send_all(b"".join(small))
            return
        raise trio.BrokenResourceError("the client did not read the response in time")

    async def _deliver(self, transport: _SessionTransport, message: bytes,
                       *, inline: bool = False, claim: list[Claimed] | None = None) -> bool:
        """Give ``message`` to the session; False if its input had no room for
        ``request_timeout`` (nothing was given). With ``inline`` (a POST of requests, whose
        connection waits for their answers anyway), an idle session acts on it in this task
        (each request's handler task starts here): no hop to the session's reader. Never for
        notifications and responses, whose handlers may take long: their 202 goes out at once.
        """
        # The usual cases, with no wait and no deadline: acted on here, or queued for the
        # reader (which is busy, or the message is not a request).
        if (inline and await transport.deliver_inline(message, claim)) or \
                transport.deliver_if_room(message):
            await trio.lowlevel.checkpoint_if_cancelled()
            return True
        with trio.move_on_after(self.request_timeout):
            await transport.deliver(message)
            return True
        return False

    async def _busy(self) -> None:
        """503 for a request its session has no room for (its input is full)."""
        await self._send(self.http.response(
            503, [_JSON_TYPE, ("retry-after", "1")],
            _codec.dumps({"jsonrpc": "2.0", "id": None, "error": {
                "code": -32000, "message": "the session is busy: too many messages waiting"}})))

    async def _answer(self, request: CompleteRequest) -> None:
        relay = self.endpoint.relay
        if relay is not None:
            owner = relay.owner_to_relay(request)
            if owner is not None:
                await self._relay(relay, owner, request)
                return
        await self._answer_here(request)

    async def _relay(self, relay: SessionRelay, owner: str, request: CompleteRequest) -> None:
        """Relay ``request`` to the worker ``owner`` that owns its session (see
        :mod:`trio_adapter._redis_relay`), watching for this client's going away meanwhile
        (the owner is told to stop then)."""
        reusable = False
        streams = self.endpoint.relayed_streams
        async with trio.open_nursery() as watching:
            if request.method == "GET":  # a long-lived stream: the drain ends it at once
                streams.add(watching.cancel_scope)
            try:
                watching.start_soon(self._watch_eof, watching.cancel_scope)
                reusable = await relay.relay(owner, request, _peer_address(self.stream),
                                             send=self._send, out=self.http.h11,
                                             local_answer=lambda: self._answer_here(request))
            finally:
                streams.discard(watching.cancel_scope)
                watching.cancel_scope.cancel()
        if not reusable:
            raise trio.BrokenResourceError("the relayed response was cut")

    async def _answer_here(self, request: CompleteRequest) -> None:
        endpoint, http, send = self.endpoint, self.http, self._send
        principal = None
        if endpoint.auth is not None:  # authorization: trio_adapter/_auth_server.py
            admitted = await endpoint.auth.admit(request, endpoint)
            if isinstance(admitted, AuthAnswer):
                await send(http.response(admitted.status, admitted.headers, admitted.body))
                return
            principal = admitted
        events = endpoint.redis_events
        if events is not None and request.method == "GET":
            # A resumption the local mirror may not reach: the event log in Redis is read
            # first (for a session of this worker's only), so that the core's sync read finds it.
            last, sid = request.header("last-event-id"), request.header("mcp-session-id")
            if last is not None and sid is not None and sid in endpoint.transports:
                await events.load(sid, last)
        outcome = endpoint.core.handle(request)
        if isinstance(outcome, Reject):
            await send(http.response(outcome.status, outcome.headers, outcome.body))
        elif isinstance(outcome, Accept):
            transport = endpoint.transports.get(outcome.session_id or "")
            if transport is not None and not await self._deliver(transport, outcome.message):
                await self._busy()
                return
            await send(http.response(202, outcome.headers))
        elif isinstance(outcome, Terminate):
            transport = endpoint.transports.get(outcome.session_id)
            if transport is not None:
                transport.end_input()
            await send(http.response(outcome.status, outcome.headers))
        elif isinstance(outcome, OpenStream):
            await self._post_stream(outcome, principal)
        elif isinstance(outcome, Listen):
            await self._listen(outcome)

    async def _post_stream(self, outcome: OpenStream, principal: Principal | None = None
                           ) -> None:
        endpoint, http = self.endpoint, self.http
        key = outcome.session_id
        channel = endpoint.open_channel(key, outcome.stream_id, long_lived=outcome.keepalive)
        try:
            transport = endpoint.transports.get(key)
            if transport is None:
                if not outcome.new_session:  # pragma: no cover - core and table disagree
                    await self._send(http.response(404, [_JSON_TYPE]))
                    return
                transport = endpoint.new_session(key, principal)
                if outcome.start_version is not None:
                    # Stateless HTTP: one handshake-era request, served with no handshake.
                    session = endpoint.sessions.get(key)
                    if session is not None:
                        session._engine.start_stateless(
                            outcome.start_version,
                            server_capabilities=endpoint.server.capabilities())
            # A 2026-07-28 request (not a listen) may be served by this task itself.
            claim: list[Claimed] | None = [] if outcome.modern and not outcome.keepalive \
                else None
            if not await self._deliver(transport, outcome.message, inline=True, claim=claim):
                endpoint.core.abandon(key, outcome.stream_id)
                await self._busy()
                return
            if outcome.modern:
                ready = _Prefetched(channel)
                session = endpoint.sessions.get(key)
                if claim and session is not None:
                    await self._serve_here(session, claim[0], outcome, ready, channel)
                else:
                    await self._answer_modern(outcome, ready)
            else:
                await self._answer_stream(outcome, channel)
        finally:
            endpoint.close_channel(key, outcome.stream_id)
            if (endpoint.stateless or outcome.modern) and not outcome.shared:
                # a one-request session
                transport_ = endpoint.transports.get(key)
                if transport_ is not None:
                    transport_.end_input()

    async def _answer_modern(self, outcome: OpenStream, ready: _Prefetched,
                             handler: trio.CancelScope | None = None) -> None:
        """Answer a 2026-07-28 POST from its stream's channel. The client closing the
        connection before the answer cancels the request (``_post_stream``'s close_channel,
        and at once ``handler``, the scope of a request this connection's task serves), so
        its EOF is watched; but first the head waits for an answer that comes at once:
        nothing is left to watch for then (a task less per request). A close meanwhile is
        seen when the watch starts, at most that window later."""
        if not outcome.keepalive and not ready.complete:
            with trio.move_on_after(MODERN_HEAD_WINDOW):
                await ready.prefetch()
        if ready.complete:
            await self._answer_stream(outcome, ready, head_waited=True)
            return
        async with trio.open_nursery() as watching:
            watching.start_soon(self._watch_eof, watching.cancel_scope, handler)
            await self._answer_stream(outcome, ready, head_waited=not outcome.keepalive)
            watching.cancel_scope.cancel()

    async def _serve_here(self, session: ServerSession, claimed: Claimed,
                          outcome: OpenStream, ready: _Prefetched,
                          channel: _StreamBuffer) -> None:
        """Serve a request the session gave this task (:meth:`BaseSession.serve_claimed`),
        then write its answer: a handler that answers without waiting costs no task at all,
        and its answer, whole at once, is written as soon as it is routed
        (:attr:`_StreamBuffer.answer_now`), before the handler's own ending (and the
        session's bookkeeping after it). Once the handler waits (its first schedule point)
        without having answered, a task of the endpoint's starts answering beside it
        (progress and other messages stream as they come; the client's close cancels the
        handler), and this task, after the handler, waits for it."""
        answering: list[_Flag] = []

        def start_answering() -> None:
            channel.answer_now = None
            if self._early is not None:  # answered already: nothing is left to stream
                return
            done = _Flag()
            try:
                self.endpoint.nursery.start_soon(self._answer_beside, outcome, ready,
                                                 claimed.scope, done)
            except RuntimeError:  # the endpoint is shutting down: so does this request
                claimed.scope.cancel()
                return
            answering.append(done)

        self._early = None
        channel.answer_now = self._answer_at_once
        try:
            await _noting_first_wait(session.serve_claimed(claimed), start_answering)
        finally:
            channel.answer_now = None
        early = self._take_early()  # set meanwhile, by _answer_at_once
        if early is not None:
            if early:  # what the kernel did not take at once
                await self._send_rest(early)
            self.endpoint.core.delivered(outcome.session_id, outcome.stream_id)
            return
        if answering:
            await answering[0].wait()
            return
        ready.take_nowait()
        await self._answer_modern(outcome, ready, claimed.scope)

    #: The part of an answer :meth:`_answer_at_once` wrote that is left to send (empty: all
    #: of it went), or None while no answer was written that way.
    _early: bytes | memoryview | None = None

    def _take_early(self) -> bytes | memoryview | None:
        early, self._early = self._early, None
        return early

    def _answer_at_once(self, event: StreamEvent) -> bool:
        """Write a 2026-07-28 answer whole at once the moment it is routed, in the handler's
        send path (this connection's task: :meth:`_serve_here`): one JSON body with the
        status the core gives it, as :meth:`_stream` would send it. What the kernel does not
        take now is left in ``_early`` for :meth:`_serve_here` to send. False (the event is
        queued for the usual path) for a large answer, which that path writes without
        copying it, and when the connection cannot send a response now."""
        if len(event.body) >= _JOIN_LIMIT:  # written in pieces, never copied: _stream
            return False
        try:
            data = b"".join(self._whole_answer(event))
        except h11.LocalProtocolError:  # pragma: no cover - a request in hand is whole
            return False
        self._early = write_nowait(self.stream, data)
        return True

    def _whole_answer(self, event: StreamEvent) -> list[bytes]:
        """The response to a 2026-07-28 request whose answer ``event`` is whole before the
        head went out (:attr:`StreamEvent.body`): one JSON body with the HTTP status the core
        gives it, in pieces (the body among them, not copied)."""
        return self.http.response_pieces(event.status or 200, [_JSON_TYPE], event.body)

    async def _answer_beside(self, outcome: OpenStream, ready: _Prefetched,
                             handler: trio.CancelScope, done: _Flag) -> None:
        """:meth:`_answer_modern` in a task of its own while this connection's task runs the
        request's handler; a connection that breaks meanwhile cancels the handler."""
        try:
            await self._answer_modern(outcome, ready, handler)
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            handler.cancel()
        except Exception:  # a bug: it ends this answer, never the server
            logger.exception("trio-mcp: HTTP answer failed")
            handler.cancel()
        finally:
            done.set()

    async def _watch_eof(self, scope: trio.CancelScope,
                         also: trio.CancelScope | None = None) -> None:
        """While an answer is sent: cancel ``scope`` (and ``also``) when the client closes
        the connection. What it sends meanwhile (a pipelined request) is kept for later,
        bounded."""
        kept = 0
        while kept <= self.max_body + self.max_header:
            data = await self.stream.receive_some(_CHUNK)
            if not data:
                scope.cancel()
                if also is not None:
                    also.cancel()
                return
            kept += len(data)
            self.http.receive_data(bytes(data))

    async def _answer_stream(self, outcome: OpenStream,
                             channel: _StreamBuffer | _Prefetched,
                             *, head_waited: bool = False) -> None:
        """Send the answer of a POST carrying requests: one JSON body, or an SSE stream
        (``head_waited``: the SSE head's wait for the first event is over: it goes out at
        once)."""
        endpoint, http, send = self.endpoint, self.http, self._send
        if outcome.json:
            # The head waits for the answer: at most response_timeout (only the wait).
            final: StreamEvent | None = None
            with trio.move_on_after(self.response_timeout) as waited:
                async for event in channel:
                    if event.final:
                        final = event
                        break
            if final is not None:
                await self._send_pieces(http.response_pieces(final.status or 200,
                                                             outcome.headers, final.data))
            elif waited.cancelled_caught:
                await send(http.response(504, [_JSON_TYPE], _codec.dumps({
                    "jsonrpc": "2.0", "id": None, "error": {
                        "code": -32001,
                        "message": f"no answer within {self.response_timeout:g} s"}})))
            else:  # the session ended first: shutting down (draining), or the handler failed
                await send(http.response(503 if endpoint.draining else 500, [_JSON_TYPE]))
            return
        # A 2026-07-28 answer may carry an HTTP status of its own (an error): its head waits
        # a little longer for it.
        window = 0.0 if head_waited else MODERN_HEAD_WINDOW \
            if outcome.modern and not outcome.keepalive else COALESCE_WINDOW
        await self._stream(200, outcome.headers, (outcome.first,), channel,
                           keepalive=outcome.keepalive, window=window,
                           stream=(outcome.session_id, outcome.stream_id))

    async def _receive(self, channel: _StreamBuffer | _Prefetched,
                       keepalive: bool) -> StreamEvent:
        """The next event of a stream; on a long-lived one, an SSE comment is written each
        ``sse_keepalive`` seconds it stays idle. Raises :class:`trio.EndOfChannel`."""
        interval = self.sse_keepalive
        if not keepalive or interval is None:
            return await channel.receive()
        while True:
            with trio.move_on_after(interval):
                return await channel.receive()
            await self._send(self.http.stream_data(self.endpoint.core.keepalive_comment()))

    async def _stream(self, status: int, headers: Sequence[tuple[str, str]],
                      first: Sequence[bytes],
                      channel: _StreamBuffer | _Prefetched | None,
                      *, keepalive: bool = False, window: float = COALESCE_WINDOW,
                      stream: tuple[str, str] | None = None) -> None:
        """Send an SSE response: the head, ``first``, then the channel's events until the
        final one (or until the channel closes). An answer with a status of its own that
        arrives within ``window`` goes out alone, as one JSON body with that status.

        Once the final event of ``stream`` (session key, stream id) is written, the core
        forgets the stream's stored events (:meth:`StreamableHTTPServer.delivered`)."""
        http, send = self.http, self._send

        async def finish(out: list[bytes]) -> None:
            """Write the final event's response end; the stream was read whole."""
            out.append(http.end_stream())
            await self._send_pieces(out)
            if stream is not None:
                self.endpoint.core.delivered(*stream)

        if channel is None:
            out = [http.start_stream(status, headers)]
            out.extend(http.stream_data(data) for data in first if data)
            await finish(out)  # a replay of a stream that has ended
            return
        # What is ready goes out in one write: the head and the priming event wait up to
        # ``window`` for the first event (a quick answer then costs one packet instead of
        # three); after that, every write takes all the events already queued.
        first_event: StreamEvent | None = None
        ended = False
        try:
            if window > 0:
                with trio.move_on_after(window):  # only the wait: never a write
                    first_event = await channel.receive()
            else:
                first_event = channel.receive_nowait()
        except trio.WouldBlock:
            pass
        except trio.EndOfChannel:
            ended = True
        if first_event is not None and first_event.body:
            await self._send_pieces(self._whole_answer(first_event))
            if stream is not None:
                self.endpoint.core.delivered(*stream)
            return
        if first_event is not None and first_event.final and \
                len(first_event.data) < _JOIN_LIMIT:
            # The usual quick answer: the whole SSE body (priming event and answer) is known,
            # so it goes out with a Content-Length in one write, not chunked: h11 rewrites a
            # chunked head's framing headers (validating them all again), and the client
            # parses one body instead of chunk framing.
            await self._send(http.response(status, headers, b"".join((*first, first_event.data))))
            if stream is not None:
                self.endpoint.core.delivered(*stream)
            return
        out = [http.start_stream(status, headers)]
        out.extend(http.stream_data(data) for data in first if data)
        if ended:  # the stream ended (its session closed)
            out.append(http.end_stream())
            await self._send_pieces(out)
            return
        if first_event is not None:
            out.extend(http.stream_pieces(first_event.data))
            if first_event.final:
                await finish(out)
                return
        while True:
            try:
                while True:
                    event = channel.receive_nowait()
                    out.extend(http.stream_pieces(event.data))
                    if event.final:
                        await finish(out)
                        return
            except trio.WouldBlock:
                pass
            except trio.EndOfChannel:  # the stream ended (its session closed)
                out.append(http.end_stream())
                await self._send_pieces(out)
                return
            await self._send_pieces(out)
            out.clear()
            try:
                event = await self._receive(channel, keepalive)
            except trio.EndOfChannel:
                await send(http.end_stream())
                return
            out.extend(http.stream_pieces(event.data))
            if event.final:
                await finish(out)
                return

    async def _listen(self, outcome: Listen) -> None:
        endpoint = self.endpoint
        channel = None if outcome.done else endpoint.open_channel(
            outcome.session_id, outcome.stream_id, long_lived=outcome.keepalive)
        try:
            await self._stream(outcome.status, outcome.headers, outcome.replay, channel,
                               keepalive=outcome.keepalive,
                               stream=(outcome.session_id, outcome.stream_id))
        finally:
            if channel is not None:
                endpoint.close_channel(outcome.session_id, outcome.stream_id)


async def serve_http(
    server: Server,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    path: str = "/mcp",
    json_response: bool = False,
    stateless: bool = False,
    allowed_hosts: tuple[str, ...] | None = DEFAULT_ALLOWED_HOSTS,
    allowed_origins: tuple[str, ...] | None = None,
    max_body: int = 4 * 1024 * 1024,
    max_header: int = 64 * 1024,
    request_timeout: float = 30.0,
    keepalive_timeout: float = 60.0,
    idle_session_timeout: float | None = 3600.0,
    event_store: EventStore | None = None,
    retry_ms: int | None = 1000,
    ssl_context: ssl.SSLContext | None = None,
    stop: trio.Event | None = None,
    drain_timeout: float = 5.0,
    reuse_port: bool = False,
    keepalive_interval: float | None = 15.0,
    response_timeout: float = 300.0,
    max_pending: int = 64,
    auth: ProtectedResource | None = None,
    max_sessions: int | None = DEFAULT_MAX_SESSIONS,
    unused_session_timeout: float | None = 60.0,
    max_connections: int | None = 1024,
    max_connections_per_client: int | None = 256,
    shared: RedisBackend | None = None,
    task_status: trio.TaskStatus[HTTPServerInfo] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``server`` over Streamable HTTP until cancelled, or until ``stop`` is set.

    Works with ``nursery.start``: ``info = await nursery.start(serve_http, server)`` returns
    once listening, with the bound port (``port=0`` picks a free one) and ``info.url``.

    Args:
        server: the :class:`~trio_adapter.Server`; each MCP session is one of its sessions.
        host, port, path: where to listen and the MCP endpoint's path.
        reuse_port: listen with ``SO_REUSEPORT`` (Linux), so that several processes given the
            same ``host`` and ``port`` share it, the kernel spreading connections over them
            (``trio-mcp serve --workers N``; docs/scale.md). Elsewhere: :class:`ListenError`
            saying the platform lacks it.
        json_response: answer requests with ``application/json`` rather than SSE.
        stateless: no sessions (no ``Mcp-Session-Id``; GET and DELETE are 405); each request
            is served by a fresh session that starts without a handshake at the revision of
            its ``MCP-Protocol-Version`` (2025-03-26 when absent) and with no client
            capabilities, so server-to-client requests are refused.
        allowed_hosts, allowed_origins: ``Host`` / ``Origin`` allow-lists (403 otherwise);
            loopback by default. ``None`` allows any.
        max_body: the largest request body (413 beyond; what the client is still sending is
            read and thrown away, up to twice ``max_body`` more bytes, so that it reads the
            413).
        max_header: the largest request head (431 beyond; likewise).
        request_timeout: how long a client may take to send one request (head and body).
        keepalive_timeout: how long an idle keep-alive connection is kept.
        idle_session_timeout: sessions with no request for this long are terminated.
        event_store: where SSE events are kept for resumption (in memory by default).
        retry_ms: the ``retry`` advertised in priming events.
        ssl_context: serve HTTPS with this server-side context (``info.url`` is then
            ``https://``).
        stop: set it to shut down gracefully: the listeners close, idle connections are
            closed, requests arriving meanwhile get 503, every session is closed (handlers get
            the session's grace, SSE streams end cleanly) and the responses in flight finish;
            after at most ``drain_timeout`` seconds what is left is cancelled, and
            ``serve_http`` returns. Cancelling it instead stops at once.
        drain_timeout: the bound on that drain. Long-lived streams (GET streams, 2026-07-28
            ``subscriptions/listen``) are ended first (a listen's end cancels its request):
            the drain never waits on them.
        keepalive_interval: a long-lived SSE stream idle for this many seconds gets an SSE
            comment (``: keepalive``), so that proxies and idle timers keep it open; ``None``
            sends none. (Every SSE response carries ``X-Accel-Buffering: no``.)
        response_timeout: how long a JSON-response answer (``json_response``) may take: after
            that the POST gets 504 (an SSE answer's head goes out at once instead).
        max_pending: how many POSTed messages may wait for one session's engine to read them;
            a POST that finds no room within ``request_timeout`` gets 503 with
            ``Retry-After`` (and is not given to the session).
        auth: make the endpoint an OAuth protected resource (docs/auth.md): the metadata at
            ``/.well-known/oauth-protected-resource[/<path>]``, 401 with a ``WWW-Authenticate``
            challenge for a request without a valid token for this resource, 403
            ``insufficient_scope`` for a call of a tool whose scopes it lacks, 404 for a
            session another principal opened; handlers see ``ctx.principal``.
        max_sessions: the most live sessions; an ``initialize`` beyond it gets 503 with
            ``Retry-After`` (:class:`sansio.http.StreamableHTTPServer`'s). ``None``: no cap.
        unused_session_timeout: a session that has had no request served since its
            ``initialize`` (only the handshake, or nothing but pings and notifications) is
            terminated after this many idle seconds instead of ``idle_session_timeout``.
        max_connections: the most TCP connections served at once; one more is answered 503
            (``Retry-After``, ``Connection: close``) and closed. ``None``: no cap.
        max_connections_per_client: likewise, per client IP address.
        shared: one of several workers sharing this :class:`~trio_adapter.redis.RedisBackend`
            (entered; docs/scale.md). Handshake-era session ids are minted as
            ``<worker_id>.<random>``; a request whose session another worker owns is relayed
            to it through Redis and its response streamed back (the owner serves it as one of
            its own connections; see :mod:`trio_adapter._redis_relay`): the owner's heartbeat
            gone -> 404 -32001 (the client re-initializes); the owner silent for
            ``request_timeout`` (plus ``response_timeout`` with ``json_response``) before the
            response head -> 504; Redis unreachable -> 503 with ``Retry-After``; a relayed
            response silent for ``response_timeout`` plus ``request_timeout`` is cut (the
            ``keepalive_interval`` comments keep long-lived streams open). The event log
            is a :class:`~trio_adapter.redis.RedisEventStore` unless ``event_store`` is given
            (one given is run here too: its writer task, and its load before a resumption).
            2026-07-28 requests need none of this: any worker answers them.

    Raises:
        ListenError: it cannot listen (address in use, unknown host, permission denied...),
            before reporting to ``nursery.start``.
        ValueError: ``max_body`` is larger than the engine's frame limit
            (:data:`sansio.DEFAULT_MAX_FRAME_SIZE`, 16 MiB): a body that large would end its
            session, where a 413 only refuses the request; ``keepalive_interval`` is not
            positive, or ``max_pending`` is below 1.
    """
    if keepalive_interval is not None and not keepalive_interval > 0:
        raise ValueError("keepalive_interval must be positive (or None)")
    if max_pending < 1:
        raise ValueError("max_pending must be at least 1")
    for name, cap in (("max_connections", max_connections),
                      ("max_connections_per_client", max_connections_per_client)):
        if cap is not None and cap < 1:
            raise ValueError(f"{name} must be at least 1 (or None)")
    if max_body > DEFAULT_MAX_FRAME_SIZE:
        raise ValueError(f"max_body {max_body} is larger than the engine's frame limit "
                         f"({DEFAULT_MAX_FRAME_SIZE} bytes)")
    relay: SessionRelay | None = None
    redis_events: RedisEventStore | None = None
    new_id: Callable[[], str] = lambda: secrets.token_hex(16)  # noqa: E731
    if shared is not None and not stateless:  # (stateless: no session to relay, none to resume)
        relay = SessionRelay(
            shared, head_timeout=request_timeout + (response_timeout if json_response else 0),
            idle_timeout=response_timeout + request_timeout, send_timeout=request_timeout,
            max_inflight=max_connections or 1024)
        new_id = relay.new_session_id
        if event_store is None:
            event_store = RedisEventStore(shared)
    if isinstance(event_store, RedisEventStore):  # its writer task and load hook run here
        redis_events = event_store
    core = StreamableHTTPServer(new_id, path=path,
                                supported_versions=server.supported_versions,
                                allowed_hosts=allowed_hosts, allowed_origins=allowed_origins,
                                json_response=json_response, stateless=stateless,
                                event_store=event_store, retry_ms=retry_ms,
                                tool_headers=_ToolHeaders(server), max_sessions=max_sessions,
                                # a principal is per request: no session shared by all
                                share_modern=auth is None)
    try:
        from ._listen import open_listeners

        _check_resolvable(host)
        listeners = await open_listeners(port, host, reuse_port=reuse_port)
    except OSError as exc:
        raise ListenError(host, port, exc) from exc
    # one lifespan for all sessions; the listeners are closed whatever happens
    async with _closing(listeners), server.running(), trio.open_nursery() as nursery:
        endpoint = _Endpoint(server, core, nursery, stateless, max_pending=max_pending,
                             send_timeout=request_timeout)
        nursery.start_soon(endpoint.housekeeping, idle_session_timeout, unused_session_timeout)
        endpoint.relay, endpoint.redis_events = relay, redis_events
        if redis_events is not None:
            nursery.start_soon(redis_events.run)
        per_client: collections.Counter[str] = collections.Counter()

        async def handle(stream: trio.abc.Stream) -> None:
            client = _peer_address(stream)
            if (max_connections is not None and len(endpoint.conns) >= max_connections) or (
                    max_connections_per_client is not None
                    and per_client[client] >= max_connections_per_client):
                await _refuse_connection(stream, request_timeout)
                return
            per_client[client] += 1
            try:
                await _serve_connection(stream)
            finally:
                per_client[client] -= 1
                if not per_client[client]:
                    del per_client[client]

        async def _serve_connection(stream: trio.abc.Stream) -> None:
            if ssl_context is not None and not isinstance(stream, VirtualStream):
                stream = trio.SSLStream(stream, ssl_context, server_side=True)
            conn = _Conn(endpoint, stream, max_body=max_body, max_header=max_header,
                         request_timeout=request_timeout, keepalive_timeout=keepalive_timeout,
                         sse_keepalive=keepalive_interval, response_timeout=response_timeout)
            await conn.run()

        bound = listeners[0].socket.getsockname()
        info = HTTPServerInfo(host, bound[1], path, ssl_context is not None, relay)
        if auth is not None:
            endpoint.auth = auth._bind(info.url, server)
        accepting = trio.CancelScope()

        async def accept(task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
            with accepting:  # connections run in the outer nursery, not in this scope
                await trio.serve_listeners(handle, listeners, handler_nursery=nursery,
                                           task_status=task_status)

        if relay is not None:  # relayed connections run as the accepted ones do
            await nursery.start(relay.serve_inbox, handle, nursery)
        await nursery.start(accept)
        task_status.started(info)
        if stop is None:
            await trio.sleep_forever()
        else:
            await stop.wait()
        accepting.cancel()  # closes the listeners
        with trio.move_on_after(drain_timeout):
            await endpoint.drain()
        nursery.cancel_scope.cancel()


def _peer_address(stream: trio.abc.Stream) -> str:
    """The client's IP address (``""`` when the stream has no socket; for a relayed
    connection, the address the relaying worker saw)."""
    if isinstance(stream, VirtualStream):
        return stream.peer
    sock = getattr(stream, "socket", None)
    try:
        peer = sock.getpeername() if sock is not None else None
    except OSError:
        return ""
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


async def _refuse_connection(stream: trio.abc.Stream, write_timeout: float) -> None:
    """A connection over ``max_connections`` (in all or for its client): 503 at once, with
    ``Connection: close``, then closed (the write bounded by ``write_timeout``)."""
    body = _codec.dumps({"jsonrpc": "2.0", "id": None, "error": {
        "code": -32000, "message": "too many connections: retry later"}})
    head = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"retry-after: 1\r\nconnection: close\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n")
    logger.warning("trio-mcp: refusing a connection: too many connections")
    with trio.move_on_after(write_timeout), contextlib.suppress(trio.BrokenResourceError,
                                                          trio.ClosedResourceError):
        await stream.send_all(head + body)
    await trio.aclose_forcefully(stream)


class _ToolHeaders:
    """The ``x-mcp-header`` annotations of ``server``'s tools, as they are now (2026-07-28
    ``tools/call`` requests are checked against them); a tool's are read again when it is
    replaced. Invalid annotations check nothing (a client drops such a tool)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._cache: dict[str, tuple[Any, dict[str, tuple[str, ...]] | None]] = {}

    def __call__(self, name: str) -> dict[str, tuple[str, ...]] | None:
        entry = self.server._tools.get(name)  # by name: no walk over every tool a call
        tool = entry.tool if entry is not None else None
        if tool is None:
            self._cache.pop(name, None)
            return None
        cached = self._cache.get(name)
        if cached is not None and cached[0] is tool:
            return cached[1]
        try:
            found: dict[str, tuple[str, ...]] | None = header_annotations(tool.input_schema)
        except ValueError:
            found = None
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[name] = (tool, found)
        return found


@asynccontextmanager
async def _closing(listeners: Sequence[trio.SocketListener]) -> AsyncIterator[None]:
    """Close ``listeners`` on the way out (serve_listeners closes them too, when it ran)."""
    try:
        yield
    finally:
        for listener in listeners:
            listener.socket.close()



class ListenError(OSError):
    """:func:`serve_http` cannot listen. ``str()`` is one line,
    ``cannot listen on 127.0.0.1:8765: address already in use``; the :class:`OSError` is
    ``__cause__`` and its ``errno`` is this one's.

    Attributes:
        host, port: where it tried.
        reason: the short reason (``address already in use``, ``unknown host``, ...).
    """

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, describe_failure(cause))
        self.host = host
        self.port = port
        self.reason = describe_failure(cause)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"cannot listen on {host}:{self.port}: {self.reason}"


