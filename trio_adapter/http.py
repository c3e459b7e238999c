"""Streamable HTTP for trio: :func:`serve_http` (server) and :class:`StreamableHTTPTransport`.

Every decision (status codes, sessions, which stream a message goes on, SSE ids, resumption)
is :mod:`sansio.http`'s; this module owns sockets, tasks and timeouts.
"""

from __future__ import annotations

import logging
import math
import secrets
import ssl
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs
import h11
import trio

from sansio import _codec
from sansio.http import (
    DEFAULT_ALLOWED_HOSTS,
    Accept,
    CompleteRequest,
    EventStore,
    HTTPServerConnection,
    Listen,
    OpenStream,
    Reject,
    StreamableHTTPServer,
    StreamEvent,
    Terminate,
    request_head,
)
from sansio.sse import SSEDecoder

from ._session import current_request
from ._transport import Transport
from .server import Server, ServerSession

__all__ = ["HTTPServerInfo", "SessionExpired", "StreamableHTTPTransport", "serve_http"]

logger = logging.getLogger("trio_mcp.http")

_CHUNK = 65536
COALESCE_WINDOW = 0.002
"""Seconds an SSE response head (and priming event) waits for the first event, so that a
quick answer leaves in the same write."""


@attrs.frozen
class HTTPServerInfo:
    """What :func:`serve_http` reports through ``nursery.start``."""

    host: str
    port: int
    path: str
    tls: bool = False

    @property
    def url(self) -> str:
        """The MCP endpoint's URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{self.path}"


# ---------------------------------------------------------------- server


class _SessionTransport(Transport):
    """The transport of one HTTP session: POST bodies in, routed stream events out."""

    def __init__(self, endpoint: _Endpoint, key: str) -> None:
        self.endpoint = endpoint
        self.key = key
        self._in_send, self._in_recv = trio.open_memory_channel[bytes](math.inf)
        self.closed = False
        self.last_active = trio.current_time()

    def deliver(self, message: bytes) -> None:
        self.last_active = trio.current_time()
        if not self.closed:
            self._in_send.send_nowait(message.rstrip(b"\n") + b"\n")

    async def receive(self) -> bytes:
        try:
            return await self._in_recv.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return b""

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise trio.ClosedResourceError("the HTTP session is closed")
        related = current_request.get()
        for frame in data.splitlines():
            self.endpoint.dispatch(self.key, frame, related)
        await trio.lowlevel.checkpoint()

    def end_input(self) -> None:
        """The session was terminated (DELETE, expiry): the engine sees end of input."""
        self._in_send.close()

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self._in_send.close()
            self.endpoint.session_gone(self.key)
        await trio.lowlevel.checkpoint()


class _Endpoint:
    def __init__(self, server: Server, core: StreamableHTTPServer, nursery: trio.Nursery,
                 stateless: bool) -> None:
        self.server = server
        self.core = core
        self.nursery = nursery
        self.stateless = stateless
        self.transports: dict[str, _SessionTransport] = {}
        self.streams: dict[tuple[str, str], trio.MemorySendChannel[StreamEvent]] = {}

    def dispatch(self, key: str, frame: bytes, related: Any) -> None:
        for event in self.core.route(key, frame, related):
            channel = self.streams.get((key, event.stream_id))
            if channel is not None:
                try:
                    channel.send_nowait(event)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.core.detach(key, event.stream_id)

    def session_gone(self, key: str) -> None:
        self.transports.pop(key, None)
        self.core.terminate(key)
        for (skey, sid), channel in list(self.streams.items()):
            if skey == key:
                channel.close()
                del self.streams[(skey, sid)]

    async def _session_task(self, transport: _SessionTransport,
                            task_status: trio.TaskStatus[ServerSession]) -> None:
        await self.server.serve(transport, task_status=task_status)

    async def new_session(self, key: str) -> _SessionTransport:
        transport = _SessionTransport(self, key)
        self.transports[key] = transport
        await self.nursery.start(self._session_task, transport)
        return transport

    def open_channel(self, key: str, stream_id: str
                     ) -> trio.MemoryReceiveChannel[StreamEvent]:
        send, recv = trio.open_memory_channel[StreamEvent](math.inf)
        self.streams[(key, stream_id)] = send
        return recv

    def close_channel(self, key: str, stream_id: str) -> None:
        channel = self.streams.pop((key, stream_id), None)
        if channel is not None:
            channel.close()
        self.core.detach(key, stream_id)

    async def expire_idle(self, idle: float) -> None:
        while True:
            await trio.sleep(idle / 4)
            now = trio.current_time()
            for key, transport in list(self.transports.items()):
                if now - transport.last_active > idle:
                    transport.end_input()
                    self.core.terminate(key)


class _Conn:
    """One TCP connection of :func:`serve_http`."""

    def __init__(self, endpoint: _Endpoint, stream: trio.abc.Stream, *, max_body: int,
                 request_timeout: float, keepalive_timeout: float) -> None:
        self.endpoint = endpoint
        self.stream = stream
        self.http = HTTPServerConnection(max_body=max_body)
        self.request_timeout = request_timeout
        self.keepalive_timeout = keepalive_timeout

    async def _read_request(self, first: bool) -> CompleteRequest | bytes | None:
        http = self.http
        idle = True
        with trio.move_on_after(self.keepalive_timeout if not first else
                                self.request_timeout) as idle_scope:
            while True:
                got = http.next_request()
                if got is not None or http.closed:
                    return got
                data = await self.stream.receive_some(_CHUNK)
                if idle and data:  # a request has begun: it gets request_timeout in all
                    idle = False
                    idle_scope.deadline = trio.current_time() + self.request_timeout
                http.receive_data(bytes(data))
        if idle:
            return None
        return http._error(408, "request timed out")

    async def run(self) -> None:
        first = True
        try:
            while True:
                request = await self._read_request(first)
                first = False
                if request is None:
                    return
                if isinstance(request, bytes):
                    await self.stream.send_all(request)
                    return
                await self._answer(request)
                if not self.http.next_cycle():
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return
        except Exception:  # a bug: it ends this connection, never the server
            logger.exception("trio-mcp: HTTP connection failed")
            return
        finally:
            await trio.aclose_forcefully(self.stream)

    async def _answer(self, request: CompleteRequest) -> None:
        endpoint, http, send = self.endpoint, self.http, self.stream.send_all
        outcome = endpoint.core.handle(request)
        if isinstance(outcome, Reject):
            await send(http.response(outcome.status, outcome.headers, outcome.body))
        elif isinstance(outcome, Accept):
            transport = endpoint.transports.get(outcome.session_id or "")
            if transport is not None:
                transport.deliver(outcome.message)
            await send(http.response(202, outcome.headers))
        elif isinstance(outcome, Terminate):
            transport = endpoint.transports.get(outcome.session_id)
            if transport is not None:
                transport.end_input()
            await send(http.response(outcome.status, outcome.headers))
        elif isinstance(outcome, OpenStream):
            await self._post_stream(outcome, request)
        elif isinstance(outcome, Listen):
            await self._listen(outcome)

    async def _post_stream(self, outcome: OpenStream, request: CompleteRequest) -> None:
        endpoint, http, send = self.endpoint, self.http, self.stream.send_all
        key = outcome.session_id
        channel = endpoint.open_channel(key, outcome.stream_id)
        try:
            transport = endpoint.transports.get(key)
            if transport is None:
                if not outcome.new_session:  # pragma: no cover - core and table disagree
                    await send(http.response(404, [("content-type", "application/json")]))
                    return
                transport = await endpoint.new_session(key)
                if endpoint.stateless and b'"initialize"' not in outcome.message:
                    transport.deliver(_stateless_handshake(request))
            transport.deliver(outcome.message)
            if outcome.json:
                async for event in channel:
                    if event.final:
                        await send(http.response(200, outcome.headers, event.data))
                        return
                await send(http.response(500, [("content-type", "application/json")]))
                return
            await self._stream(200, outcome.headers, (outcome.first,), channel)
        finally:
            endpoint.close_channel(key, outcome.stream_id)
            if endpoint.stateless:
                transport_ = endpoint.transports.get(key)
                if transport_ is not None:
                    transport_.end_input()

    async def _stream(self, status: int, headers: Sequence[tuple[str, str]],
                      first: Sequence[bytes],
                      channel: trio.MemoryReceiveChannel[StreamEvent] | None) -> None:
        """Send an SSE response: the head, ``first``, then the channel's events until the
        final one (or until the channel closes)."""
        http, send = self.http, self.stream.send_all
        out = [http.start_stream(status, headers)]
        out.extend(http.stream_data(data) for data in first if data)
        if channel is None:
            out.append(http.end_stream())
            await send(b"".join(out))
            return
        # What is ready goes out in one write: the head and the priming event wait up to
        # COALESCE_WINDOW for the first event (a quick answer then costs one packet instead
        # of three); after that, every write takes all the events already queued.
        first_event: StreamEvent | None = None
        with trio.move_on_after(COALESCE_WINDOW):  # only the wait: never a write
            try:
                first_event = await channel.receive()
            except trio.EndOfChannel:
                out.append(http.end_stream())
                await send(b"".join(out))
                return
        if first_event is not None:
            out.append(http.stream_data(first_event.data))
            if first_event.final:
                out.append(http.end_stream())
                await send(b"".join(out))
                return
        while True:
            try:
                while True:
                    event = channel.receive_nowait()
                    out.append(http.stream_data(event.data))
                    if event.final:
                        out.append(http.end_stream())
                        await send(b"".join(out))
                        return
            except trio.WouldBlock:
                pass
            except trio.EndOfChannel:  # the stream ended (its session closed)
                out.append(http.end_stream())
                await send(b"".join(out))
                return
            await send(b"".join(out))
            out.clear()
            try:
                event = await channel.receive()
            except trio.EndOfChannel:
                await send(http.end_stream())
                return
            out.append(http.stream_data(event.data))
            if event.final:
                out.append(http.end_stream())
                await send(b"".join(out))
                return

    async def _listen(self, outcome: Listen) -> None:
        endpoint = self.endpoint
        channel = None if outcome.done else endpoint.open_channel(outcome.session_id,
                                                                  outcome.stream_id)
        try:
            await self._stream(outcome.status, outcome.headers, outcome.replay, channel)
        finally:
            if channel is not None:
                endpoint.close_channel(outcome.session_id, outcome.stream_id)


def _stateless_handshake(request: CompleteRequest) -> bytes:
    """Stateless mode: each request runs in a fresh session that skips the handshake."""
    version = request.header("mcp-protocol-version") or "2025-03-26"
    init = {"jsonrpc": "2.0", "id": "stateless-init", "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "stateless", "version": "0"}}}
    return (_codec.dumps(init) + b"\n" +
            _codec.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))


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
    request_timeout: float = 30.0,
    keepalive_timeout: float = 60.0,
    idle_session_timeout: float | None = 3600.0,
    event_store: EventStore | None = None,
    retry_ms: int | None = 1000,
    ssl_context: ssl.SSLContext | None = None,
    task_status: trio.TaskStatus[HTTPServerInfo] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``server`` over Streamable HTTP until cancelled.

    Works with ``nursery.start``: ``info = await nursery.start(serve_http, server)`` returns
    once listening, with the bound port (``port=0`` picks a free one) and ``info.url``.

    Args:
        server: the :class:`~trio_adapter.Server`; each MCP session is one of its sessions.
        host, port, path: where to listen and the MCP endpoint's path.
        json_response: answer requests with ``application/json`` rather than SSE.
        stateless: no sessions (no ``Mcp-Session-Id``; GET and DELETE are 405); each request
            is served by a fresh session, so server-to-client requests are refused.
        allowed_hosts, allowed_origins: ``Host`` / ``Origin`` allow-lists (403 otherwise);
            loopback by default. ``None`` allows any.
        max_body: the largest request body (413 beyond).
        request_timeout: how long a client may take to send one request (head and body).
        keepalive_timeout: how long an idle keep-alive connection is kept.
        idle_session_timeout: sessions with no request for this long are terminated.
        event_store: where SSE events are kept for resumption (in memory by default).
        retry_ms: the ``retry`` advertised in priming events.
        ssl_context: serve HTTPS with this server-side context (``info.url`` is then
            ``https://``).
    """
    core = StreamableHTTPServer(lambda: secrets.token_hex(16), path=path,
                                supported_versions=server.supported_versions,
                                allowed_hosts=allowed_hosts, allowed_origins=allowed_origins,
                                json_response=json_response, stateless=stateless,
                                event_store=event_store, retry_ms=retry_ms)
    listeners = await trio.open_tcp_listeners(port, host=host)
    async with server.running(), trio.open_nursery() as nursery:  # one lifespan for all sessions
        endpoint = _Endpoint(server, core, nursery, stateless)
        if idle_session_timeout is not None:
            nursery.start_soon(endpoint.expire_idle, idle_session_timeout)

        async def handle(stream: trio.abc.Stream) -> None:
            if ssl_context is not None:
                stream = trio.SSLStream(stream, ssl_context, server_side=True)
            conn = _Conn(endpoint, stream, max_body=max_body, request_timeout=request_timeout,
                         keepalive_timeout=keepalive_timeout)
            await conn.run()

        bound = listeners[0].socket.getsockname()
        await nursery.start(trio.serve_listeners, handle, listeners)
        task_status.started(HTTPServerInfo(host, bound[1], path, ssl_context is not None))
        await trio.sleep_forever()


# ---------------------------------------------------------------- client


class SessionExpired(trio.BrokenResourceError):
    """The server answered 404 for our ``Mcp-Session-Id``: the session is gone."""


class _Response:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], stream: trio.abc.Stream,
                 conn: h11.Connection, pool: _Pool | None = None) -> None:
        self.status = status
        self.headers = {k.decode().lower(): v.decode("latin-1") for k, v in headers}
        self.stream = stream
        self.conn = conn
        self._pool = pool
        self._done = False

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

    async def body(self) -> bytes:
        return b"".join([c async for c in self.chunks()])

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
        if pool is not None and self._finished() and conn.our_state is h11.DONE \
                and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            if pool.put(self.stream, conn):
                await trio.lowlevel.checkpoint()
                return
        await trio.aclose_forcefully(self.stream)


class _Pool:
    """Idle keep-alive connections to the endpoint, most recently used first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.closed = False
        self._idle: list[tuple[trio.abc.Stream, h11.Connection]] = []

    def get(self) -> tuple[trio.abc.Stream, h11.Connection] | None:
        return self._idle.pop() if self._idle else None

    def put(self, stream: trio.abc.Stream, conn: h11.Connection) -> bool:
        if self.closed or len(self._idle) >= self.size:
            return False
        self._idle.append((stream, conn))
        return True

    async def aclose(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, []
        for stream, _ in idle:
            await trio.aclose_forcefully(stream)


class _Exchange:
    """One request written on a connection, whose response head is still to be read."""

    def __init__(self, stream: trio.abc.Stream, conn: h11.Connection,
                 request: tuple[str, list[tuple[str, str]], bytes], reused: bool) -> None:
        self.stream = stream
        self.conn = conn
        self.request = request  # to send again if a reused connection turns out stale
        self.reused = reused


def _request_bytes(conn: h11.Connection, method: str, target: str,
                   headers: list[tuple[str, str]], body: bytes) -> bytes:
    out = conn.send(request_head(method, target, tuple(headers))) or b""
    if body:
        out += conn.send(h11.Data(data=body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


class StreamableHTTPTransport(Transport):
    """A client transport to a Streamable HTTP MCP endpoint.

    Each frame is POSTed; JSON answers and SSE streams are read in background tasks (in the
    session's nursery) and fed back in order of arrival. After the handshake a GET opens the
    standalone stream (skipped if the server answers 405). A dropped SSE stream is resumed
    with ``Last-Event-ID``, waiting the server's ``retry`` (bounded backoff, at most
    ``max_reconnects`` tries). :meth:`aclose` sends DELETE (bounded by ``close_timeout``).
    A 404 for our session raises :class:`SessionExpired`; HTTP errors answering a request
    are turned into a JSON-RPC error for that request.

    Args:
        url: the MCP endpoint, ``http://`` or ``https://``.
        headers: extra headers on every request (for example ``Authorization``).
        ssl_context: for ``https://`` (default: the system's trust store).
        connect_timeout: bound on connecting and getting a response head.
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
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 ssl_context: ssl.SSLContext | None = None, connect_timeout: float = 30.0,
                 close_timeout: float = 2.0, max_reconnects: int = 5,
                 reinitialize: bool = False, max_idle_connections: int = 8) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._host_header = parts.netloc.rsplit("@", 1)[-1]
        self._extra = dict(headers or {})
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._close_timeout = close_timeout
        self._max_reconnects = max_reconnects
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._in_send, self._in_recv = trio.open_memory_channel[bytes](math.inf)
        self._nursery: trio.Nursery | None = None
        self._closed = False
        self._listening = False
        self._listen_opened = trio.Event()  # the standalone GET got its answer's head
        self._failure: BaseException | None = None
        self._reinit = reinitialize
        self._reinit_lock = trio.Lock()
        self._pool = _Pool(max_idle_connections)
        self._init_frame: bytes | None = None
        self._initialized_frame: bytes | None = None
        #: How many times a new session was started after a 404 (``reinitialize=True``).
        self.reinitialized = 0

    async def start(self, nursery: trio.Nursery | None = None) -> None:
        if nursery is None:
            raise RuntimeError("StreamableHTTPTransport needs the session's nursery")
        self._nursery = nursery
        await trio.lowlevel.checkpoint()

    # -- HTTP plumbing

    async def _open(self) -> trio.abc.Stream:
        stream: trio.abc.Stream = await trio.open_tcp_stream(self._host, self._port)
        if self._tls:
            context = self._ssl or ssl.create_default_context()
            stream = trio.SSLStream(stream, context, server_hostname=self._host)
        return stream

    def _headers(self, accept: str, extra: Mapping[str, str] | None = None
                 ) -> list[tuple[str, str]]:
        headers = [("host", self._host_header), ("accept", accept),
                   ("user-agent", "trio-mcp")]
        if self.session_id is not None:
            headers.append(("mcp-session-id", self.session_id))
        if self.protocol_version is not None:
            headers.append(("mcp-protocol-version", self.protocol_version))
        headers.extend((k.lower(), v) for k, v in self._extra.items())
        headers.extend((extra or {}).items())
        return headers

    async def _request(self, method: str, headers: list[tuple[str, str]], body: bytes = b""
                       ) -> _Response:
        return await self._read_head(await self._send_request(method, headers, body))

    async def _send_request(self, method: str, headers: list[tuple[str, str]],
                            body: bytes = b"") -> _Exchange:
        """Write a request on an idle keep-alive connection, or on a new one."""
        hdrs = [*headers, ("content-length", str(len(body)))] if body or \
            method == "POST" else headers
        pooled = self._pool.get()
        if pooled is not None:
            stream, conn = pooled
            data = _request_bytes(conn, method, self._target, hdrs, body)
            try:
                with trio.fail_after(self._connect_timeout):
                    await stream.send_all(data)
            except (OSError, trio.BrokenResourceError, trio.TooSlowError):
                await trio.aclose_forcefully(stream)  # stale: the server closed it
            else:
                return _Exchange(stream, conn, (method, hdrs, body), reused=True)
        return await self._fresh(method, hdrs, body)

    async def _fresh(self, method: str, hdrs: list[tuple[str, str]], body: bytes
                     ) -> _Exchange:
        conn = h11.Connection(h11.CLIENT)
        data = _request_bytes(conn, method, self._target, hdrs, body)
        with trio.fail_after(self._connect_timeout):
            stream = await self._open()
            try:
                await stream.send_all(data)
            except BaseException:
                await trio.aclose_forcefully(stream)
                raise
        return _Exchange(stream, conn, (method, hdrs, body), reused=False)

    async def _read_head(self, exchange: _Exchange) -> _Response:
        stream, conn = exchange.stream, exchange.conn
        got_bytes = False
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(_CHUNK)
                    got_bytes = got_bytes or bool(data)
                    conn.receive_data(bytes(data))
                    continue
                if isinstance(event, h11.Response):
                    return _Response(event.status_code, list(event.headers), stream, conn,
                                     self._pool)
                if isinstance(event, h11.ConnectionClosed):
                    raise trio.BrokenResourceError("the server closed the connection")
        except (OSError, trio.BrokenResourceError, h11.ProtocolError) as exc:
            await trio.aclose_forcefully(stream)
            if exchange.reused and not got_bytes:
                # A kept-alive connection the server had closed before reading the request
                # (it answers nothing on it): send it again on a new connection, once.
                return await self._read_head(await self._fresh(*exchange.request))
            raise exc from None
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise

    # -- Transport

    async def send(self, data: bytes) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the transport is closed")
        for frame in data.splitlines():
            try:
                await self._post(frame)
            except SessionExpired:
                raise
            except (OSError, h11.ProtocolError, trio.TooSlowError,
                    trio.BrokenResourceError) as exc:
                cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) and \
                    exc.__cause__ is not None else exc
                raise trio.BrokenResourceError(f"POST to {self.url} failed: {cause!r}") from exc

    async def _post(self, frame: bytes) -> None:
        """Send one frame. ``initialize`` (its session id is needed by every later request),
        notifications and responses wait for the answer's head here; the answers to other
        requests are read in the background, so a long request never holds the session's
        send lock."""
        msg = _codec.loads(frame)
        headers = self._headers("application/json, text/event-stream",
                                {"content-type": "application/json"})
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "initialize":
            self._init_frame = frame
        elif method == "notifications/initialized":
            self._initialized_frame = frame
        exchange = await self._send_request("POST", headers, frame)
        is_request = isinstance(msg, dict) and "id" in msg and method is not None
        if method == "initialize" or not is_request:
            # Notifications and responses are answered at once (202): waiting for that keeps
            # them in order with what is sent next, over however many connections.
            await self._answer(await self._read_head(exchange), msg, frame)
        else:
            assert self._nursery is not None
            self._nursery.start_soon(self._answer_later, exchange, msg, frame)

    async def _answer_later(self, exchange: _Exchange, msg: Any, frame: bytes) -> None:
        try:
            with trio.fail_after(self._connect_timeout):
                response = await self._read_head(exchange)
            await self._answer(response, msg, frame, inline=True)
        except SessionExpired as exc:
            self._fail(exc)
        except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError) as exc:
            if isinstance(msg, dict) and "method" in msg and "id" in msg:
                self._fail_request(msg, 0, repr(exc).encode())

    def _fail(self, exc: BaseException) -> None:
        self._failure = exc
        self._in_send.close()

    async def _reinitialize(self, stale: str) -> None:
        """Start a new session in place of ``stale`` (the server answered 404), replaying the
        handshake this transport already carried; the engine above never notices."""
        async with self._reinit_lock:
            if self.session_id != stale:
                return  # another task already did it
            if self._init_frame is None:
                raise SessionExpired(f"the server no longer knows session {stale} (HTTP 404)")
            self.session_id = None
            headers = self._headers("application/json, text/event-stream",
                                    {"content-type": "application/json"})
            response = await self._request("POST", headers, self._init_frame)
            try:
                sid = response.headers.get("mcp-session-id")
                body = await response.body()
            finally:
                await response.aclose()
            if response.status != 200 or not sid or (b'"result"' not in body):
                raise SessionExpired(f"session {stale} expired (HTTP 404) and a new one could "
                                     f"not be started (HTTP {response.status})")
            self.session_id = sid
            self.reinitialized += 1
            if self._initialized_frame is not None:
                headers = self._headers("application/json, text/event-stream",
                                        {"content-type": "application/json"})
                response = await self._request("POST", headers, self._initialized_frame)
                await response.aclose()

    async def _answer(self, response: _Response, msg: Any, frame: bytes,
                      retried: bool = False, inline: bool = False) -> None:
        """Act on the answer to a POST. With ``inline`` (already in a background task), a
        body to read is read here rather than in a new task."""
        sid = response.headers.get("mcp-session-id")
        if sid:
            self.session_id = sid
        status = response.status
        is_request = isinstance(msg, dict) and "method" in msg and "id" in msg
        if status == 202 or (200 <= status < 300 and not is_request):
            await response.aclose()
            if isinstance(msg, dict) and msg.get("method") == "notifications/initialized":
                # The standalone stream is open (or refused) before anything else is sent:
                # a server may send requests there as soon as the session starts, and drop
                # them while no stream is open.
                self._start_listening()
                with trio.move_on_after(self._connect_timeout):
                    await self._listen_opened.wait()
            return
        if status == 404 and self.session_id is not None:
            await response.aclose()
            if not self._reinit or retried:
                raise SessionExpired(f"the server no longer knows session {self.session_id} "
                                     "(HTTP 404)")
            await self._reinitialize(self.session_id)
            headers = self._headers("application/json, text/event-stream",
                                    {"content-type": "application/json"})
            response = await self._request("POST", headers, frame)
            await self._answer(response, msg, frame, retried=True, inline=inline)
            return
        if status >= 300:
            body = await response.body()
            await response.aclose()
            if is_request:
                self._fail_request(msg, status, body)
                return
            raise trio.BrokenResourceError(f"HTTP {status} from {self.url}: "
                                           f"{body[:200].decode('utf-8', 'replace')}")
        ctype = response.headers.get("content-type", "")
        assert self._nursery is not None
        if ctype.startswith("text/event-stream"):
            if inline:
                await self._read_sse(response, True)
            else:
                self._nursery.start_soon(self._read_sse, response, True)
        elif inline:
            await self._read_json(response, msg)
        else:
            self._nursery.start_soon(self._read_json, response, msg)

    def _fail_request(self, msg: dict[str, Any], status: int, body: bytes) -> None:
        message = f"HTTP {status}" if status else "HTTP request failed"
        code = -32603
        try:
            err = _codec.loads(body).get("error", {})
            message += f": {err.get('message')}"
            code = int(err.get("code", code))
        except Exception:
            if body:
                message += f": {body[:200].decode('utf-8', 'replace')}"
        reply = {"jsonrpc": "2.0", "id": msg["id"], "error": {"code": code, "message": message,
                                                               "data": {"httpStatus": status}}}
        self._in_send.send_nowait(_codec.dumps(reply) + b"\n")

    async def _read_json(self, response: _Response, msg: Any) -> None:
        try:
            body = await response.body()
        except (OSError, trio.BrokenResourceError, h11.ProtocolError):
            return
        finally:
            await response.aclose()
        self._deliver(body)

    def _deliver(self, data: bytes) -> None:
        if not data.strip():
            return
        if self.protocol_version is None:
            try:
                obj = _codec.loads(data)
                version = obj.get("result", {}).get("protocolVersion") if isinstance(
                    obj, dict) else None
                if isinstance(version, str):
                    self.protocol_version = version
            except Exception:
                pass
        if not self._closed:
            self._in_send.send_nowait(data.strip() + b"\n")

    async def _read_sse(self, response: _Response | None, resumable: bool,
                        last_event_id: str | None = None) -> None:
        decoder = SSEDecoder()
        attempts = 0
        while True:
            try:
                if response is None:
                    extra = {"last-event-id": last_event_id} if last_event_id else None
                    response = await self._request("GET", self._headers("text/event-stream",
                                                                        extra))
                    if response.status != 200:
                        await response.aclose()
                        return
                got_response = False
                async for chunk in response.chunks():
                    for event in decoder.feed(chunk):
                        attempts = 0
                        if event.data:
                            self._deliver(event.data.encode())
                            if '"result"' in event.data or '"error"' in event.data:
                                got_response = True
                await response.aclose()
                response = None
                if not resumable or got_response or self._closed:
                    return
            except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError):
                if response is not None:
                    await response.aclose()
                    response = None
            last_event_id = decoder.last_event_id or last_event_id
            attempts += 1
            if self._closed or last_event_id is None or attempts > self._max_reconnects:
                return
            delay = (decoder.retry if decoder.retry is not None else 1000) / 1000
            await trio.sleep(min(delay * attempts, 30.0))

    def _start_listening(self) -> None:
        if self._listening or self._nursery is None:
            return
        self._listening = True
        self._nursery.start_soon(self._listen)

    async def _listen(self) -> None:
        try:
            response = await self._request("GET", self._headers("text/event-stream"))
        except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError):
            return
        finally:
            self._listen_opened.set()
        if response.status != 200:
            await response.aclose()
            return
        await self._read_sse(response, True)

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
        if self.session_id is not None:
            with trio.move_on_after(self._close_timeout), trio.CancelScope(shield=True):
                try:
                    response = await self._request("DELETE", self._headers("application/json"))
                    await response.aclose()
                except (OSError, trio.BrokenResourceError, h11.ProtocolError,
                        trio.TooSlowError):
                    pass
        with trio.CancelScope(shield=True):
            await self._pool.aclose()
