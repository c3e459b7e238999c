"""Streamable HTTP client transport for trio: :class:`StreamableHTTPTransport` (every decision
is :class:`sansio.http_client.StreamableHTTPClient`'s; this module owns sockets, tasks and
timeouts)."""

from __future__ import annotations

import functools
import logging
import math
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import h11
import trio

from sansio import http_client as _hc
from sansio import oauth as _oauth
from sansio._h1 import ClientConnection, ResponseStart
from sansio.frames import Frame, FrameKind
from sansio.http import (
    HeadCache,
)
from sansio.http_client import HTTPRequest, PostAnswer, StreamableHTTPClient, frame_of
from sansio.oauth import OAuthError

from ._netfail import _check_resolvable, describe_failure
from ._transport import Transport
from ._util import receive_after_wait, send_quickly
from .errors import TransportError

_CHUNK = 65536


class _FailAt:
    """``trio.fail_at`` without its generator (a context manager made per request on the hot
    path): a cancel scope with ``deadline`` whose expiry raises :class:`trio.TooSlowError`."""

    __slots__ = ("_scope",)

    def __init__(self, deadline: float) -> None:
        self._scope = trio.CancelScope(deadline=deadline)

    def __enter__(self) -> trio.CancelScope:
        return self._scope.__enter__()

    def __exit__(self, *exc: Any) -> bool:
        scope = self._scope
        suppressed = scope.__exit__(*exc)
        if scope.cancelled_caught:
            raise trio.TooSlowError
        return bool(suppressed)

#: How many received messages a StreamableHTTPTransport holds for the session's reader.
INBOX_SIZE = 256
#: How many connections a StreamableHTTPTransport opens at most (busy and idle).
DEFAULT_MAX_CONNECTIONS = 32
#: Seconds a StreamableHTTPTransport waits for more of a whole (JSON or error) body.
DEFAULT_READ_TIMEOUT = 30.0

logger = logging.getLogger("trio_mcp.http")

if TYPE_CHECKING:
    from .oauth import OAuth

class HTTPTransportError(TransportError):
    """:class:`StreamableHTTPTransport` failed; ``str()`` is one line naming the URL.

    Attributes:
        url: the endpoint.
    """

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class EndpointUnreachable(HTTPTransportError):
    """No connection to the endpoint: ``cannot connect to URL: connection refused`` (unknown
    host, timed out, TLS failure, ...). The low-level error is ``__cause__``.

    Attributes:
        reason: the short reason.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot connect to {url}: {reason}", url)
        self.reason = reason


class NotAnMCPEndpoint(HTTPTransportError):
    """The URL answers, but not as an MCP endpoint does: a web page, or a 2xx answer to a
    request that is neither JSON nor SSE (``not an MCP endpoint: HTTP 200 with Content-Type
    text/html``). Its body is not read.

    Attributes:
        status: the HTTP status.
        media_type: the answer's media type (``""`` without ``Content-Type``).
    """

    def __init__(self, url: str, answer: PostAnswer) -> None:
        super().__init__(f"not an MCP endpoint: {answer.describe()} from {url}", url)
        self.status = answer.status
        self.media_type = answer.media_type


class SessionExpired(HTTPTransportError):
    """The server answered 404 for our ``Mcp-Session-Id``: the session is gone."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message, url)


class _Response:
    def __init__(self, status: int, headers: Sequence[tuple[str, str]], stream: trio.abc.Stream,
                 conn: ClientConnection, pool: _Pool | None = None, *,
                 idle_timeout: float | None = None) -> None:
        self.status = status
        self.headers = dict(headers)  # names lowercased (HeadCache.received)
        self.stream = stream
        self.conn = conn
        self._pool = pool
        self._done = False
        self.idle_timeout = idle_timeout  # bound on each wait for more of a whole body

    async def chunks(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.stream.receive_some(_CHUNK)
                self.conn.receive_data(bytes(data))
                continue
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
                return
            elif isinstance(event, h11.ConnectionClosed):
                return

    async def body(self, limit: int | None = None) -> bytes:
        """Read the rest of the body; with ``limit``, at most that many bytes (the rest is
        left unread: the connection is then not reused)."""
        out = bytearray()
        idle = math.inf if self.idle_timeout is None else self.idle_timeout
        while limit is None or len(out) < limit:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                with trio.fail_after(idle):
                    data = await self.stream.receive_some(_CHUNK)
                self.conn.receive_data(bytes(data))
            elif isinstance(event, h11.Data):
                out += event.data
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
                break
            elif isinstance(event, h11.ConnectionClosed):
                break
        return bytes(out if limit is None else out[:limit])

    def _finished(self) -> bool:
        """Whether the whole response is in (reading on only from what is buffered)."""
        if self._done:
            return True
        try:
            while True:
                event = self.conn.next_event()
                if isinstance(event, h11.EndOfMessage):
                    self._done = True
                    return True
                if not isinstance(event, h11.Data):  # NEED_DATA, PAUSED, closed
                    return False
        except h11.ProtocolError:
            return False

    async def aclose(self) -> None:
        """Done with the response: its connection goes back to the pool when it can be reused
        (the whole response read, keep-alive on both sides), else it is closed."""
        pool, conn = self._pool, self.conn
        if pool is not None and self._finished() and conn.reusable:
            conn.start_next_cycle()
            if pool.put(self.stream, conn):
                await trio.lowlevel.checkpoint_if_cancelled()  # no round of its own
                return
        if pool is not None:
            await pool.discard(self.stream)
        else:
            await trio.aclose_forcefully(self.stream)


class _Pool:
    """The connections to the endpoint: at most ``limit`` open at once (busy and idle;
    ``None``: no cap), and up to ``size`` idle keep-alive ones kept for the next requests,
    most recently used first.

    A connection opened while none is free and the caller may not wait (a message answered
    at once, sent under the session's send lock) goes past the cap; it is closed, not kept,
    when done.
    """

    def __init__(self, size: int, limit: int | None = None) -> None:
        self.size = size
        self.limit = limit
        self.closed = False
        self._idle: list[tuple[trio.abc.Stream, ClientConnection]] = []
        self._used = 0  # slots taken: counted connections open, or being opened
        self._counted: set[int] = set()  # id() of the open connections holding a slot
        self._changed = trio.Event()
        self._live: set[int] = set()  # id() of every open connection
        self.peak = 0  # the most connections open at once (counted or not)

    def get(self) -> tuple[trio.abc.Stream, ClientConnection] | None:
        return self._idle.pop() if self._idle else None

    def reserve(self) -> bool:
        """Take a slot to open a connection, if one is free."""
        if self.limit is not None and self._used >= self.limit:
            return False
        self._used += 1
        return True

    def unreserve(self) -> None:
        """A slot taken with :meth:`reserve` was not used (the connection failed to open)."""
        self._used -= 1
        self._wake()

    def opened(self, stream: trio.abc.Stream, counted: bool) -> None:
        """A connection is open; ``counted``: it holds the slot its caller reserved."""
        if counted:
            self._counted.add(id(stream))
        self._live.add(id(stream))
        self.peak = max(self.peak, len(self._live))

    @property
    def open_connections(self) -> int:
        """How many connections are open now (busy and idle)."""
        return len(self._live)

    async def wait(self) -> tuple[trio.abc.Stream, ClientConnection] | None:
        """Wait for an idle connection, or for a free slot (then reserved: ``None``)."""
        while True:
            pooled = self.get()
            if pooled is not None or self.reserve():
                return pooled
            await self._changed.wait()

    def put(self, stream: trio.abc.Stream, conn: ClientConnection) -> bool:
        if self.closed or len(self._idle) >= self.size or id(stream) not in self._counted:
            return False
        self._idle.append((stream, conn))
        self._wake()
        return True

    def holds_idle(self, stream: trio.abc.Stream) -> bool:
        """Whether ``stream`` is back among the idle connections."""
        return any(s is stream for s, _ in self._idle)

    async def discard(self, stream: trio.abc.Stream, *, keep_slot: bool = False) -> None:
        """Close a connection, freeing its slot (``keep_slot``: the caller opens another in
        its place with it)."""
        self._forget(stream, keep_slot)
        await trio.aclose_forcefully(stream)

    def _forget(self, stream: trio.abc.Stream, keep_slot: bool) -> None:
        key = id(stream)
        if key not in self._live:
            return  # already closed
        self._live.discard(key)
        if any(s is stream for s, _ in self._idle):
            self._idle = [(s, c) for s, c in self._idle if s is not stream]
        if key in self._counted:
            self._counted.discard(key)
            if not keep_slot:
                self._used -= 1
                self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def aclose(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, []
        for stream, _ in idle:
            await self.discard(stream)


class _Exchange:
    """One request written on a connection, whose response head is still to be read."""

    def __init__(self, stream: trio.abc.Stream, conn: ClientConnection,
                 request: tuple[str, list[tuple[str, str]], bytes], reused: bool, *,
                 counted: bool = True, send_error: BaseException | None = None) -> None:
        self.stream = stream
        self.conn = conn
        self.request = request  # to send again if a reused connection turns out stale
        self.reused = reused
        self.counted = counted  # the connection holds a slot of the pool
        # Writing the request failed once connected (a server that answers 413 and closes
        # before reading a large body): the answer's head may still be there to read.
        self.send_error = send_error


def _request_bytes(conn: ClientConnection, method: str, target: str,
                   headers: list[tuple[str, str]], body: bytes) -> bytes:
    return conn.send_request(method, target, tuple(headers), body)


class StreamableHTTPTransport(Transport):
    """A client transport to a Streamable HTTP MCP endpoint.

    Each frame is POSTed; JSON answers and SSE streams are read in background tasks (in the
    session's nursery) and fed back in order of arrival. After the handshake a GET opens the
    standalone stream (skipped if the server answers 405). A dropped SSE stream is resumed
    with ``Last-Event-ID``, waiting the server's ``retry`` (bounded backoff, at most
    ``max_reconnects`` tries). :meth:`aclose` sends DELETE (bounded by ``close_timeout``).
    A 404 for our session raises :class:`SessionExpired`; HTTP errors answering a request
    are turned into a JSON-RPC error for that request, with a one-line message.

    Failures are :class:`~trio_adapter.TransportError` s with one-line messages and the
    low-level error as ``__cause__``: :class:`EndpointUnreachable` (refused, unknown host,
    timed out, TLS), :class:`NotAnMCPEndpoint` (a web page, or a 2xx answer that is neither
    JSON nor SSE: raised at once, the body unread), :class:`HTTPTransportError` (after
    connecting). During the handshake ``Client.connect`` raises them as
    :class:`~trio_adapter.ConnectError` with the same message. Every protocol decision (the
    headers, what an answer means, when to resume, when to start a new session) is its
    :attr:`client`'s, a :class:`sansio.http_client.StreamableHTTPClient`; this class moves
    the bytes.

    Args:
        url: the MCP endpoint, ``http://`` or ``https://``.
        headers: extra headers on every request (for example ``Authorization``).
        ssl_context: for ``https://`` (default: the system's trust store).
        connect_timeout: bound on connecting and writing a request (and on waiting for a
            free connection).
        close_timeout: bound on the DELETE at close.
        max_reconnects: reconnection attempts for one dropped stream.
        reinitialize: on a 404 for our session, start a new one transparently (replaying the
            ``initialize`` and ``initialized`` this transport sent) and resend the message,
            instead of failing with :class:`SessionExpired`. Server-side session state
            (subscriptions, log level) is not restored.
        max_idle_connections: how many finished keep-alive connections are kept for the next
            requests (HTTP/1.1 persistent connections; 0 opens one per request). A request
            on a kept connection that the server had closed meanwhile is sent again on a new
            one, once, when no byte of an answer came.
        auth: an :class:`~trio_adapter.oauth.OAuth`: its token goes on every request, and a
            401 or 403 answer runs its flow and sends the request again (a failed flow
            answers the request with an error naming why).
        head_timeout: bound on the head of an answer that comes at once (``initialize``,
            notifications, responses, GETs, the DELETE); default: ``connect_timeout``.
        answer_timeout: bound on the head of the answer to any other request (past it,
            that request fails); ``None``: none.
        read_timeout: bound on each wait for more of a whole JSON or error body (past it,
            the request it answers fails); ``None``: none.
        max_connections: the most connections open at once (busy and idle, the standalone
            GET's included; at least 2; ``None``: no cap). A request beyond it waits for one
            in the background, at most ``answer_timeout`` (``connect_timeout`` when that
            is ``None`` or shorter), then fails alone; a message
            answered at once may open one past it rather than wait.

    Raises:
        ValueError: ``url`` is not an http(s) URL, or ``max_connections`` is below 2.
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 ssl_context: ssl.SSLContext | None = None, connect_timeout: float = 30.0,
                 close_timeout: float = 2.0, max_reconnects: int = 5,
                 reinitialize: bool = False, max_idle_connections: int = 8,
                 auth: OAuth | None = None,
                 head_timeout: float | None = None,
                 answer_timeout: float | None = _hc.DEFAULT_ANSWER_TIMEOUT,
                 read_timeout: float | None = DEFAULT_READ_TIMEOUT,
                 max_connections: int | None = DEFAULT_MAX_CONNECTIONS) -> None:
        if max_connections is not None and max_connections < 2:
            # one is the standalone GET stream's, for as long as the session lasts
            raise ValueError("max_connections must be at least 2 (or None)")
        #: OAuth authorization (``auth=``): a token on every request, a 401/403 runs the flow.
        self.auth = auth
        #: The protocol state (what to send, what an answer means): sans-IO.
        self.client = StreamableHTTPClient(url, headers=headers, reinitialize=reinitialize,
                                           max_reconnects=max_reconnects,
                                           head_timeout=connect_timeout
                                           if head_timeout is None else head_timeout,
                                           answer_timeout=answer_timeout)
        self._settings: dict[str, Any] = {
            "headers": headers, "ssl_context": ssl_context, "connect_timeout": connect_timeout,
            "close_timeout": close_timeout, "max_reconnects": max_reconnects,
            "reinitialize": reinitialize, "max_idle_connections": max_idle_connections,
            "auth": auth, "head_timeout": head_timeout, "answer_timeout": answer_timeout,
            "read_timeout": read_timeout, "max_connections": max_connections}
        #: Fail the whole transport when a stream is lost and cannot be resumed (an answer
        #: that will never come, the standalone stream gone) or the endpoint cannot be
        #: reached for a request's answer, rather than fail that one request: set by
        #: ``Client.connect`` when it reconnects, so that the session opens a new connection.
        self.fail_on_loss = False
        # The cancel scopes of this transport's background tasks (in the session's nursery):
        # aclose cancels them, so that a replaced transport leaves nothing running.
        self._task_scopes: set[trio.CancelScope] = set()
        self.url = url
        self._tls = self.client.tls
        self._host = self.client.host
        self._port = self.client.port
        self._target = self.client.target
        self._heads = HeadCache()  # this transport's own, bounded
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._close_timeout = close_timeout
        # bound on a request's wait for a free connection (max_connections)
        self._queue_timeout = connect_timeout if answer_timeout is None else \
            max(answer_timeout, connect_timeout)
        # What the answers carry, waiting for the session's reader: bounded. A stream reader
        # waits when it is full (backpressure down to the socket); a local error answer that
        # finds it full fails the transport rather than grow it.
        self._in_send, self._in_recv = trio.open_memory_channel[bytes](INBOX_SIZE)
        self._nursery: trio.Nursery | None = None
        self._closed = False
        self._listen_opened = trio.Event()  # the standalone GET got its answer's head
        self._failure: BaseException | None = None
        self._reinit_lock = trio.Lock()
        self._read_timeout = read_timeout
        self._pool = _Pool(max_idle_connections, max_connections)
        # The requests whose answers are read in the background, by id: cancelling one (a
        # 2026-07-28 cancellation) closes its response stream.
        self._request_scopes: dict[tuple[type, Any], trio.CancelScope] = {}

    @property
    def session_id(self) -> str | None:
        """The session id the server gave (``Mcp-Session-Id``), ``None`` before or without."""
        return self.client.session_id

    @property
    def protocol_version(self) -> str | None:
        """The negotiated revision, sent as ``MCP-Protocol-Version`` after the handshake."""
        return self.client.protocol_version

    def reopened(self) -> StreamableHTTPTransport:
        """A new, unopened transport to the same endpoint with the same settings (a new MCP
        session; ``Client.connect(reconnect=...)`` uses it to replace a failed one)."""
        again = StreamableHTTPTransport(self.url, **self._settings)
        again.fail_on_loss = self.fail_on_loss
        return again

    @property
    def retry_hint(self) -> float | None:
        """The server's reconnection time (the last SSE ``retry``), in seconds, if it gave one."""
        ms = self.client.retry_ms
        return None if ms is None else ms / 1000

    def _spawn(self, fn: Any, *args: Any) -> None:
        """Start a background task in the session's nursery, cancelled by :meth:`aclose`."""
        assert self._nursery is not None
        self._nursery.start_soon(self._scoped, fn, *args, name=fn)

    async def _scoped(self, fn: Any, *args: Any) -> None:
        with trio.CancelScope() as scope:
            self._task_scopes.add(scope)
            if self._closed:
                scope.cancel()
            try:
                await fn(*args)
            finally:
                self._task_scopes.discard(scope)

    def _stream_lost(self, stream: int) -> None:
        """A stream was given up before it was complete: with :attr:`fail_on_loss`, the
        transport fails (the session reconnects, and the calls in flight fail with
        :class:`PeerDisconnected`); else the request it was to answer fails alone, with the
        error the client core holds for it."""
        error = self.client.lost(stream)
        if self.client.take_lost(stream) and self.fail_on_loss and not self._closed:
            self._fail(HTTPTransportError(
                f"a stream from {self.url} was lost and could not be resumed", self.url))
        else:
            self._deliver_error(error)

    @property
    def reinitialized(self) -> int:
        """How many times a new session was started after a 404 (``reinitialize=True``)."""
        return self.client.reinitialized

    async def start(self, nursery: trio.Nursery | None = None) -> None:
        if nursery is None:
            raise RuntimeError("StreamableHTTPTransport needs the session's nursery")
        self._nursery = nursery
        if self.auth is not None:
            await self.auth.prepare(self.url)  # a stored token goes on the first request
        await trio.lowlevel.checkpoint()

    # -- HTTP plumbing

    async def _open(self) -> trio.abc.Stream:
        _check_resolvable(self._host)
        stream: trio.abc.Stream = await trio.open_tcp_stream(self._host, self._port)
        if self._tls:
            context = self._ssl or ssl.create_default_context()
            stream = trio.SSLStream(stream, context, server_hostname=self._host)
        return stream

    def _headers(self, accept: str, extra: Mapping[str, str] | None = None
                 ) -> list[tuple[str, str]]:
        return list(self.client.headers(accept, extra))

    async def _send(self, request: HTTPRequest) -> _Response:
        """Send one request the client said to send; its answer's head (bounded by the
        request's :attr:`~sansio.http_client.HTTPRequest.head_timeout`)."""
        exchange = await self._send_request(request.method, list(request.headers),
                                            request.body, limited=not request.in_order)
        assert exchange is not None
        with trio.fail_at(request.head_deadline(trio.current_time())):
            return await self._read_head(exchange)

    async def _request(self, method: str, headers: list[tuple[str, str]], body: bytes = b""
                       ) -> _Response:
        exchange = await self._send_request(method, headers, body)
        assert exchange is not None
        return await self._read_head(exchange)

    async def _send_request(self, method: str, headers: list[tuple[str, str]],
                            body: bytes = b"", *, limited: bool = True, wait: bool = True
                            ) -> _Exchange | None:
        """Write a request on an idle keep-alive connection, or on a new one.

        With ``limited`` the pool's cap holds: without a free connection, wait for one
        (bounded by ``connect_timeout``), or with ``wait=False`` return ``None`` at once
        (nothing sent). Without ``limited`` (a message answered at once, sent under the
        session's send lock) a connection past the cap is opened rather than wait.

        Raises:
            HTTPTransportError: no connection became free within ``connect_timeout``.
            EndpointUnreachable: connecting failed.
        """
        hdrs = [*headers, ("content-length", str(len(body)))] if body or \
            method == "POST" else headers
        if self.auth is not None:
            hdrs = [*hdrs, *self.auth.headers(method, self.url)]
        pool = self._pool
        pooled = pool.get()
        counted = True
        if pooled is None and not pool.reserve():
            if not limited:
                counted = False
            elif not wait:
                return None
            else:
                # A queued request waits as long as its answer's head may take: it is
                # waiting for its answer either way (answer_timeout, or connect_timeout).
                bound = self._queue_timeout
                try:
                    with trio.fail_after(bound):
                        pooled = await pool.wait()
                except trio.TooSlowError:
                    raise HTTPTransportError(
                        f"all {pool.limit} connections to {self.url} stayed busy for "
                        f"{bound:g} s", self.url) from None
        if pooled is not None:
            stream, conn = pooled
            data = _request_bytes(conn, method, self._target, hdrs, body)
            try:
                rest = await send_quickly(stream, data)  # usually all of it, with no wait
                if rest:
                    with _FailAt(trio.current_time() + self._connect_timeout):
                        await stream.send_all(rest)
            except (OSError, trio.BrokenResourceError, trio.TooSlowError):
                await pool.discard(stream, keep_slot=True)  # stale: the server closed it
            else:
                return _Exchange(stream, conn, (method, hdrs, body), reused=True)
        return await self._fresh(method, hdrs, body, counted)

    async def _fresh(self, method: str, hdrs: list[tuple[str, str]], body: bytes,
                     counted: bool = True) -> _Exchange:
        """Open a connection (a slot is already reserved when ``counted``) and write."""
        conn = ClientConnection(self._heads)
        data = _request_bytes(conn, method, self._target, hdrs, body)
        pool = self._pool
        try:
            with trio.fail_after(self._connect_timeout):
                stream = await self._open()
        except BaseException as exc:
            if counted:
                pool.unreserve()
            if isinstance(exc, trio.TooSlowError):
                raise EndpointUnreachable(
                    self.url, f"timed out after {self._connect_timeout:g} s") from exc
            if isinstance(exc, (OSError, trio.BrokenResourceError)):
                raise EndpointUnreachable(self.url, describe_failure(exc)) from exc
            raise
        pool.opened(stream, counted)
        exchange = _Exchange(stream, conn, (method, hdrs, body), reused=False, counted=counted)
        try:
            with trio.fail_after(self._connect_timeout):
                await stream.send_all(data)  # for https://, the TLS handshake is here
        except trio.TooSlowError as exc:
            await pool.discard(stream)
            raise EndpointUnreachable(
                self.url, f"timed out after {self._connect_timeout:g} s") from exc
        except (OSError, trio.BrokenResourceError) as exc:
            if isinstance(exc.__cause__, ssl.SSLError) or isinstance(exc, ssl.SSLError):
                await pool.discard(stream)
                raise EndpointUnreachable(self.url, describe_failure(exc)) from exc
            exchange.send_error = exc  # the server may have answered (413) and closed
        except BaseException:
            await pool.discard(stream)
            raise
        return exchange

    async def _read_head(self, exchange: _Exchange) -> _Response:
        stream, conn = exchange.stream, exchange.conn
        got_bytes = False
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    # The request was just sent: its answer is not here yet.
                    data = await receive_after_wait(stream, _CHUNK)
                    if not data:  # end of stream before a whole head
                        raise trio.BrokenResourceError(
                            "the server closed the connection " +
                            ("in the middle of its answer" if got_bytes else "without answering"))
                    got_bytes = True
                    conn.receive_data(bytes(data))
                    continue
                if isinstance(event, ResponseStart):
                    return _Response(event.status_code, event.fields, stream, conn,
                                     self._pool, idle_timeout=self._read_timeout)
                if isinstance(event, h11.ConnectionClosed):
                    raise trio.BrokenResourceError("the server closed the connection")
        except (OSError, trio.BrokenResourceError, h11.ProtocolError) as exc:
            stale = exchange.reused and not got_bytes
            await self._pool.discard(stream, keep_slot=stale and exchange.counted)
            if stale:
                # A kept-alive connection the server had closed before reading the request
                # (it answers nothing on it): send it again on a new connection, once.
                return await self._read_head(await self._fresh(*exchange.request,
                                                               exchange.counted))
            if exchange.send_error is not None:
                raise exchange.send_error from None
            raise exc from None
        except BaseException:
            await self._pool.discard(stream)
            raise

    # -- Transport

    async def send(self, data: bytes) -> None:
        """Send frames given as bytes (not by the engine): each line is decoded to learn what
        it is. The session uses :meth:`send_frames`."""
        await self.send_frames([frame_of(line) for line in data.splitlines()])

    async def send_frames(self, frames: list[Frame]) -> None:
        """POST each frame; what it is (request, notification, response; its method and id)
        is read from the frame's fields, never from its bytes."""
        if self._closed:
            raise trio.ClosedResourceError("the transport is closed")
        for frame in frames:
            cancelled = self.client.cancelled_request(frame)
            if cancelled is not None:
                # 2026-07-28: cancelling a request is closing its response stream.
                scope = self._request_scopes.get((type(cancelled), cancelled))
                if scope is not None:
                    scope.cancel()
                await trio.lowlevel.checkpoint()
                continue
            try:
                await self._post(frame)
            except TransportError:
                raise
            except (OSError, h11.ProtocolError, trio.TooSlowError,
                    trio.BrokenResourceError) as exc:
                raise self._post_error(exc) from exc

    def _post_error(self, exc: BaseException, timeout: float | None = None
                    ) -> HTTPTransportError:
        """The one-line error for a POST that failed after connecting (``timeout``: the
        bound that a :class:`trio.TooSlowError` broke)."""
        if isinstance(exc, trio.TooSlowError):
            bound = self._connect_timeout if timeout is None else timeout
            return HTTPTransportError(f"no answer from {self.url} within "
                                      f"{bound:g} s", self.url)
        if isinstance(exc, h11.ProtocolError):
            return HTTPTransportError(f"{self.url} did not answer in HTTP/1.1 "
                                      f"({' '.join(str(exc).split())})", self.url)
        return HTTPTransportError(f"POST to {self.url} failed: {describe_failure(exc)}",
                                  self.url)

    async def _post(self, msg: Frame) -> None:
        """Send one frame. ``initialize`` (its session id is needed by every later request),
        notifications and responses wait for the answer's head here; the answers to other
        requests are read in the background, so a long request never holds the session's
        send lock."""
        request = self.client.request_for(msg)
        exchange = await self._send_request(request.method, list(request.headers),
                                            request.body, limited=not request.in_order,
                                            wait=False)
        if request.in_order:
            assert exchange is not None
            try:
                with trio.fail_at(request.head_deadline(trio.current_time())):
                    response = await self._read_head(exchange)
            except trio.TooSlowError as exc:
                raise self._post_error(exc, request.head_timeout) from exc
            await self._answer(response, msg)
        elif exchange is not None and msg.kind is FrameKind.REQUEST and \
                self.claiming is not None and msg.request_id == self.claiming:
            # The caller reads its own answer (take_answer): no task, no hop.
            self._claimed = (msg.request_id, exchange, msg, request)
        else:
            # Every connection busy (exchange None): the request waits for one in the
            # background, holding nothing up.
            assert self._nursery is not None
            self._nursery.start_soon(self._answer_later, exchange, msg, request)

    #: The answer left for the session's caller (request id, exchange, frame, request).
    _claimed: tuple[Any, _Exchange, Frame, HTTPRequest] | None = None

    def take_answer(self, request_id: Any) -> Callable[[], Awaitable[None]] | None:
        claimed = self._claimed
        if claimed is None or claimed[0] != request_id or \
                type(claimed[0]) is not type(request_id):
            return None
        self._claimed = None
        _, exchange, msg, request = claimed
        return functools.partial(self._read_claimed, exchange, msg, request)

    def release_answer(self, request_id: Any) -> None:
        claimed = self._claimed
        if claimed is not None and claimed[0] == request_id and self._nursery is not None:
            self._claimed = None
            self._nursery.start_soon(self._answer_later, *claimed[1:])

    async def _read_claimed(self, exchange: _Exchange, msg: Frame,
                            request: HTTPRequest) -> None:
        """Read a claimed answer in the caller's task (what :meth:`_answer_later` does in
        a task of its own). A caller cancelled meanwhile (its deadline, or its own) closes
        the connection, unless its answer was all read and it went back to the pool."""
        try:
            await self._answer_later(exchange, msg, request)
        except BaseException:
            if not self._pool.holds_idle(exchange.stream):
                with trio.CancelScope(shield=True):
                    await self._pool.discard(exchange.stream)
            raise

    async def _answer_later(self, exchange: _Exchange | None, msg: Frame,
                            request: HTTPRequest) -> None:
        # Started without _spawn: this scope is both the request's (its cancellation closes
        # its stream) and the task's (aclose cancels it): one cancel scope less per request.
        key = (type(msg.request_id), msg.request_id)
        scope = trio.CancelScope()
        self._request_scopes[key] = scope
        self._task_scopes.add(scope)
        if self._closed:
            scope.cancel()
        try:
            with scope:
                if exchange is None:
                    try:
                        exchange = await self._send_request(
                            request.method, list(request.headers), request.body)
                    except HTTPTransportError as exc:  # unreachable, or no free connection
                        if self.fail_on_loss and isinstance(exc, EndpointUnreachable):
                            self._fail(exc)  # the server is gone: the session reconnects
                            return
                        self._deliver_error(self.client.error_for(msg, 0, message=str(exc)))
                        return
                    assert exchange is not None
                await self._answer_in_background(exchange, msg, request)
            if scope.cancelled_caught and exchange is not None:
                # the request was cancelled: its stream is closed
                await self._pool.discard(exchange.stream)
        finally:
            self._task_scopes.discard(scope)
            if self._request_scopes.get(key) is scope:
                del self._request_scopes[key]

    async def _answer_in_background(self, exchange: _Exchange, msg: Frame,
                                    request: HTTPRequest) -> None:
        try:
            with _FailAt(request.head_deadline(trio.current_time())):
                response = await self._read_head(exchange)
        except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError,
                EndpointUnreachable) as exc:
            error = exc if isinstance(exc, TransportError) else \
                self._post_error(exc, request.head_timeout)
            if self.fail_on_loss and isinstance(error, EndpointUnreachable):
                self._fail(error)  # the server is gone: the session reconnects
                return
            self._deliver_error(self.client.error_for(msg, 0, message=str(error)))
            return
        try:
            await self._answer(response, msg, inline=True)
        except SessionExpired as exc:
            self._fail(exc)
        except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError,
                EndpointUnreachable) as exc:
            error = exc if isinstance(exc, TransportError) else self._post_error(exc)
            if self.fail_on_loss and isinstance(error, EndpointUnreachable):
                self._fail(error)  # the server is gone: the session reconnects
                return
            self._deliver_error(self.client.error_for(msg, 0, message=str(error)))

    def _fail(self, exc: BaseException) -> None:
        self._failure = exc
        self._in_send.close()

    async def _reinitialize(self, stale: str) -> None:
        """Start a new session in place of ``stale`` (the server answered 404), replaying the
        handshake this transport already carried; the engine above never notices."""
        async with self._reinit_lock:
            step = self.client.begin_reinitialize(stale)
            if step is None:
                return  # another task already did it
            if isinstance(step, _hc.SessionExpired):
                raise SessionExpired(step.message, self.url)
            response = await self._send(step)
            try:
                body = await response.body()
            finally:
                await response.aclose()
            done = self.client.reinitialize_answer(stale, response.status, response.headers,
                                                   body)
            if isinstance(done, _hc.SessionExpired):
                raise SessionExpired(done.message, self.url)
            if done.initialized is not None:
                response = await self._send(done.initialized)
                await response.aclose()

    async def _answer(self, response: _Response, msg: Frame, retried: bool = False,
                      inline: bool = False, auth_round: int = 0) -> None:
        """Act on the answer to a POST, as the client says. With ``inline`` (already in a
        background task), a body to read is read here rather than in a new task."""
        if self.auth is not None:
            if response.status in (401, 403) and auth_round <= _oauth.MAX_AUTHORIZATIONS:
                await self._authorize(response, msg, retried=retried, inline=inline,
                                      auth_round=auth_round)
                return
            if 200 <= response.status < 300:
                self.auth.succeeded()
        outcome = self.client.answer(msg, response.status, response.headers, retried=retried)
        if isinstance(outcome, _hc.Accepted):
            await response.aclose()
            if outcome.open_standalone:
                # The standalone stream is open (or refused) before anything else is sent:
                # a server may send requests there as soon as the session starts, and drop
                # them while no stream is open.
                self._start_listening()
                with trio.move_on_after(self._connect_timeout):
                    await self._listen_opened.wait()
            return
        if isinstance(outcome, _hc.SessionExpired):
            await response.aclose()
            if not outcome.reinitialize:
                raise SessionExpired(outcome.message, self.url)
            await self._reinitialize(outcome.session_id)
            response = await self._send(self.client.request_for(msg))
            await self._answer(response, msg, retried=True, inline=inline)
            return
        if isinstance(outcome, _hc.NotMCP):
            await response.aclose()  # the body is not read: nothing in it is for us
            if outcome.answer_locally:
                self._deliver_error(self.client.error_for(msg, outcome.answer.status,
                                                          message=outcome.message))
                return
            raise NotAnMCPEndpoint(self.url, outcome.answer)
        if isinstance(outcome, _hc.HTTPFailure):
            body = b""
            with trio.move_on_after(self._connect_timeout):
                body = await response.body(outcome.read_limit)
            await response.aclose()
            refusal = None
            challenge = response.headers.get("www-authenticate")
            if outcome.status in (401, 403) and challenge:
                # no auth= (else the flow ran): what the challenge says is missing
                refusal = _oauth.describe_refusal(outcome.status, challenge)
            if outcome.answer_locally:
                self._deliver_error(self.client.error_for(msg, outcome.status, body,
                                                          outcome.content_type, message=refusal))
                return
            raise HTTPTransportError(refusal or self.client.failure_message(
                outcome.status, body, outcome.content_type), self.url)
        assert self._nursery is not None
        if isinstance(outcome, _hc.ReadSSE):
            if inline:
                await self._read_sse(response, outcome.stream)
            else:
                self._spawn(self._read_sse, response, outcome.stream)
        elif inline:
            await self._read_json(response, msg)
        else:
            self._spawn(self._read_json, response, msg)

    async def _authorize(self, response: _Response, msg: Frame, *, retried: bool, inline: bool,
                         auth_round: int) -> None:
        """A 401/403 with ``auth=``: run the flow, then send ``msg`` again."""
        assert self.auth is not None
        generation = self.auth.generation
        await response.aclose()
        try:
            await self.auth.challenge(self.url, response.status, response.headers, generation)
        except OAuthError as exc:
            message = f"authorization failed for {self.url}: {exc}"
            if inline or (msg.kind is FrameKind.REQUEST and msg.method != "initialize"):
                self._deliver_error(self.client.error_for(msg, response.status,
                                                          message=message))
                return
            raise HTTPTransportError(message, self.url) from exc
        retry = self.client.request_for(msg)
        exchange = await self._send_request(retry.method, list(retry.headers), retry.body)
        assert exchange is not None
        with trio.fail_at(retry.head_deadline(trio.current_time())):
            again = await self._read_head(exchange)
        await self._answer(again, msg, retried, inline, auth_round + 1)

    def _deliver_error(self, error: bytes | None) -> None:
        """Deliver the local error answering a request whose exchange failed (never waits:
        it may run in the session's send path, which the reader may be in)."""
        if error is None or self._closed:
            return
        try:
            self._in_send.send_nowait(error + b"\n")
        except trio.WouldBlock:
            self._fail(HTTPTransportError(
                f"more than {INBOX_SIZE} messages from {self.url} wait to be read", self.url))
            self._in_send.close()
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _read_json(self, response: _Response, msg: Frame | None = None) -> None:
        """Read a whole JSON answer (each wait for more bounded by ``read_timeout``); one
        that breaks off or stalls answers ``msg`` with a local error."""
        try:
            body = await response.body()
            complete = response._done
        except (OSError, trio.BrokenResourceError, h11.ProtocolError,
                trio.TooSlowError) as exc:
            reason = f"no more of it within {self._read_timeout:g} s" if isinstance(
                exc, trio.TooSlowError) else describe_failure(exc)
            if msg is not None:
                self._deliver_error(self.client.error_for(
                    msg, response.status, message=f"the answer from {self.url} broke off: "
                    f"{reason}"))
            return
        finally:
            await response.aclose()
        if not complete and msg is not None:
            self._deliver_error(self.client.error_for(
                msg, response.status, message=f"the answer from {self.url} broke off: the "
                "server closed the connection"))
            return
        await self._deliver(self.client.json_body(body))

    async def _deliver(self, messages: Sequence[bytes]) -> None:
        """Hand what an answer carried to the session's reader; waits while the inbox is
        full (only background readers call this)."""
        send = self._in_send
        for message in messages:
            if self._closed:
                return
            feed = self.feed_inline
            if feed is not None and await feed(message + b"\n"):
                continue  # the session's reader was idle: acted on here, no hop to it
            try:
                try:  # room in the inbox (the usual case): no scheduler round of its own
                    send.send_nowait(message + b"\n")
                    await trio.lowlevel.checkpoint_if_cancelled()
                except trio.WouldBlock:
                    await send.send(message + b"\n")
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                return

    async def _read_sse(self, response: _Response | None, stream: int) -> None:
        """Read SSE stream ``stream`` (``response`` is its first answer), delivering what it
        holds, and resume it (waiting the delay the client says) while the client says to."""
        client = self.client
        resume: HTTPRequest | None = None
        while True:
            try:
                if response is None:
                    assert resume is not None
                    try:
                        response = await self._send(resume)
                    except HTTPTransportError as exc:  # the server is gone: give up now
                        client.resume_failed(stream, exc.reason if isinstance(
                            exc, EndpointUnreachable) else str(exc))
                        self._stream_lost(stream)
                        return
                    if not client.resume_answer(stream, response.status):
                        await response.aclose()
                        self._stream_lost(stream)
                        return
                last: Sequence[bytes] = ()
                chunks = response.chunks()
                async for chunk in chunks:
                    got = client.sse_data(stream, chunk)
                    if not got.broken and response.conn.body_received:
                        # The whole answer is in: its connection goes back to the pool
                        # before its messages are acted on (what they lead to, such as
                        # notifications/initialized after initialize, may reuse it at once).
                        last = got.messages
                        break
                    await self._deliver(got.messages)
                    if got.broken:  # resuming would meet it again: the stream is given up
                        await response.aclose()
                        self._deliver_error(got.failure)
                        return
                await chunks.aclose()
                await response.aclose()
                response = None
                if last:
                    await self._deliver(last)
            except (OSError, trio.BrokenResourceError, h11.ProtocolError,
                    trio.TooSlowError) as exc:
                if response is not None:
                    await response.aclose()
                    response = None
                if self.fail_on_loss and isinstance(exc, EndpointUnreachable):
                    self._fail(exc)  # the server is gone: the session reconnects
                    return
            resume = client.resume(stream)
            if resume is None:
                self._stream_lost(stream)
                return
            await trio.sleep(resume.delay)

    def _start_listening(self) -> None:
        if self._nursery is None:
            return
        request = self.client.standalone_stream()
        if request is not None:
            self._spawn(self._listen, request)

    async def _listen(self, request: HTTPRequest) -> None:
        try:
            response = await self._send(request)
        except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError,
                HTTPTransportError):
            return
        finally:
            self._listen_opened.set()
        opened = self.client.standalone_answer(response.status)
        if opened is None:
            await response.aclose()
            return
        await self._read_sse(response, opened.stream)

    def reader_idle(self) -> bool:
        stats = self._in_recv.statistics()
        return not self._closed and stats.tasks_waiting_receive > 0 and \
            stats.current_buffer_used == 0

    async def receive(self) -> bytes:
        try:
            return await self._in_recv.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            if self._failure is not None and not self._closed:
                raise trio.BrokenResourceError(str(self._failure)) from self._failure
            return b""

    async def aclose(self) -> None:
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        self._in_send.close()
        delete = self.client.terminate()
        if delete is not None:
            with trio.move_on_after(self._close_timeout), trio.CancelScope(shield=True):
                try:
                    response = await self._send(delete)
                    await response.aclose()
                except (OSError, trio.BrokenResourceError, h11.ProtocolError,
                        trio.TooSlowError, HTTPTransportError):
                    pass
        with trio.CancelScope(shield=True):
            await self._pool.aclose()
        for scope in list(self._task_scopes):
            scope.cancel()

