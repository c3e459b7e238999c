"""Streamable HTTP for trio: :func:`serve_http` (server) and :class:`StreamableHTTPTransport`.

Every decision (status codes, sessions, which stream a message goes on, SSE ids, resumption)
is :mod:`sansio.http`'s (server) or :class:`sansio.http_client.StreamableHTTPClient`'s
(client: headers, what an answer means, when to resume, when to start a new session); this
module owns sockets, tasks and timeouts.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import secrets
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs
import h11
import trio

from sansio import DEFAULT_MAX_FRAME_SIZE, _codec
from sansio import http_client as _hc
from sansio.frames import Frame
from sansio.http import (
    DEFAULT_ALLOWED_HOSTS,
    Accept,
    CompleteRequest,
    EventStore,
    HeadCache,
    Listen,
    OpenStream,
    Reject,
    StreamableHTTPServer,
    StreamEvent,
    Terminate,
    header_annotations,
)
from sansio.http_client import HTTPRequest, PostAnswer, StreamableHTTPClient, frame_of

from ._session import current_request
from ._transport import Transport
from .errors import TransportError
from .server import Server, ServerSession

__all__ = [
    "EndpointUnreachable",
    "HTTPServerInfo",
    "HTTPTransportError",
    "ListenError",
    "NotAnMCPEndpoint",
    "SessionExpired",
    "StreamableHTTPTransport",
    "serve_http",
]

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

logger = logging.getLogger("trio_mcp.http")

_CHUNK = 65536
_JSON_TYPE = ("content-type", "application/json")
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

    async def send_frames(self, frames: list[Frame]) -> None:
        """Route the engine's frames by their fields (nothing is decoded): a frame that names
        the request it belongs to goes with it, else with the request being served."""
        if self.closed:
            raise trio.ClosedResourceError("the HTTP session is closed")
        current = current_request.get()
        for frame in frames:
            related = frame.related_request_id
            self.endpoint.dispatch(self.key, frame, current if related is None else related)
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
        self.sessions: dict[str, ServerSession] = {}
        self.conns: set[_Conn] = set()
        self.draining = False
        self._drained = trio.Event()

    def dispatch(self, key: str, frame: bytes | Frame, related: Any) -> None:
        for event in self.core.route(key, frame, related):
            channel = self.streams.get((key, event.stream_id))
            if channel is not None:
                try:
                    channel.send_nowait(event)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.core.detach(key, event.stream_id)

    def session_gone(self, key: str) -> None:
        self.transports.pop(key, None)
        self.sessions.pop(key, None)
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
        session = await self.nursery.start(self._session_task, transport)
        if key in self.transports:
            self.sessions[key] = session
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
        async with trio.open_nursery() as nursery:
            for session in list(self.sessions.values()):
                nursery.start_soon(session.aclose)
        for conn in list(self.conns):
            conn.stop_if_idle()
        if self.conns:
            await self._drained.wait()

    def open_channel(self, key: str, stream_id: str
                     ) -> trio.MemoryReceiveChannel[StreamEvent]:
        send, recv = trio.open_memory_channel[StreamEvent](math.inf)
        self.streams[(key, stream_id)] = send
        return recv

    def close_channel(self, key: str, stream_id: str) -> None:
        channel = self.streams.pop((key, stream_id), None)
        if channel is not None:
            channel.close()
        closed = self.core.detach(key, stream_id)
        transport = self.transports.get(key)
        if closed is not None and transport is not None:
            # 2026-07-28: the client closed the answer's stream, which cancels the request.
            for request_id in closed.request_ids:
                with contextlib.suppress(trio.ClosedResourceError):
                    transport.deliver(_codec.dumps({
                        "jsonrpc": "2.0", "method": "notifications/cancelled", "params": {
                            "requestId": request_id,
                            "reason": "the client closed the response stream"}}))

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
                 max_header: int, request_timeout: float, keepalive_timeout: float) -> None:
        self.endpoint = endpoint
        self.stream = stream
        self.http = endpoint.core.connection(max_body=max_body, max_header=max_header)
        self.max_body, self.max_header = max_body, max_header
        self.request_timeout = request_timeout
        self.keepalive_timeout = keepalive_timeout
        self._idle_scope: trio.CancelScope | None = None  # set while waiting for a request

    def stop_if_idle(self) -> None:
        """Close the connection if it waits for a request that has not begun (draining)."""
        if self._idle_scope is not None:
            self._idle_scope.cancel()

    async def _read_request(self, first: bool) -> CompleteRequest | bytes | None:
        http = self.http
        idle = True
        with trio.move_on_after(self.keepalive_timeout if not first else
                                self.request_timeout) as idle_scope:
            self._idle_scope = idle_scope
            if self.endpoint.draining:
                return None
            while True:
                got = http.next_request()
                if got is not None or http.closed:
                    self._idle_scope = None
                    return got
                data = await self.stream.receive_some(_CHUNK)
                if idle and data:  # a request has begun: it gets request_timeout in all
                    idle = False
                    self._idle_scope = None
                    idle_scope.deadline = trio.current_time() + self.request_timeout
                http.receive_data(bytes(data))
        self._idle_scope = None
        if idle:
            return None
        return http._error(408, "request timed out")

    async def run(self) -> None:
        first = True
        self.endpoint.conn_opened(self)
        try:
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
                if endpoint.stateless and not outcome.initialize and not outcome.modern:
                    transport.deliver(_stateless_handshake(request))
            transport.deliver(outcome.message)
            if outcome.modern:
                # 2026-07-28: the client closing the connection before the answer cancels
                # the request (the finally below: close_channel), so watch for its EOF.
                async with trio.open_nursery() as watching:
                    watching.start_soon(self._watch_eof, watching.cancel_scope)
                    await self._answer_stream(outcome, channel)
                    watching.cancel_scope.cancel()
            else:
                await self._answer_stream(outcome, channel)
        finally:
            endpoint.close_channel(key, outcome.stream_id)
            if endpoint.stateless or outcome.modern:  # a one-request session
                transport_ = endpoint.transports.get(key)
                if transport_ is not None:
                    transport_.end_input()

    async def _watch_eof(self, scope: trio.CancelScope) -> None:
        """While an answer is sent: cancel ``scope`` when the client closes the connection.
        What it sends meanwhile (a pipelined request) is kept for later, bounded."""
        kept = 0
        while kept <= self.max_body + self.max_header:
            data = await self.stream.receive_some(_CHUNK)
            if not data:
                scope.cancel()
                return
            kept += len(data)
            self.http.receive_data(bytes(data))

    async def _answer_stream(self, outcome: OpenStream,
                             channel: trio.MemoryReceiveChannel[StreamEvent]) -> None:
        """Send the answer of a POST carrying requests: one JSON body, or an SSE stream."""
        endpoint, http, send = self.endpoint, self.http, self.stream.send_all
        if outcome.json:
            async for event in channel:
                if event.final:
                    await send(http.response(200, outcome.headers, event.data))
                    return
            # The session ended first: shutting down (draining), or the handler failed.
            await send(http.response(503 if endpoint.draining else 500,
                                     [("content-type", "application/json")]))
            return
        await self._stream(200, outcome.headers, (outcome.first,), channel)

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
    max_header: int = 64 * 1024,
    request_timeout: float = 30.0,
    keepalive_timeout: float = 60.0,
    idle_session_timeout: float | None = 3600.0,
    event_store: EventStore | None = None,
    retry_ms: int | None = 1000,
    ssl_context: ssl.SSLContext | None = None,
    stop: trio.Event | None = None,
    drain_timeout: float = 5.0,
    task_status: trio.TaskStatus[HTTPServerInfo] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``server`` over Streamable HTTP until cancelled, or until ``stop`` is set.

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
        drain_timeout: the bound on that drain.

    Raises:
        ListenError: it cannot listen (address in use, unknown host, permission denied...),
            before reporting to ``nursery.start``.
        ValueError: ``max_body`` is larger than the engine's frame limit
            (:data:`sansio.DEFAULT_MAX_FRAME_SIZE`, 16 MiB): a body that large would end its
            session, where a 413 only refuses the request.
    """
    if max_body > DEFAULT_MAX_FRAME_SIZE:
        raise ValueError(f"max_body {max_body} is larger than the engine's frame limit "
                         f"({DEFAULT_MAX_FRAME_SIZE} bytes)")
    core = StreamableHTTPServer(lambda: secrets.token_hex(16), path=path,
                                supported_versions=server.supported_versions,
                                allowed_hosts=allowed_hosts, allowed_origins=allowed_origins,
                                json_response=json_response, stateless=stateless,
                                event_store=event_store, retry_ms=retry_ms,
                                tool_headers=_ToolHeaders(server))
    try:
        _check_resolvable(host)
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as exc:
        raise ListenError(host, port, exc) from exc
    # one lifespan for all sessions; the listeners are closed whatever happens
    async with _closing(listeners), server.running(), trio.open_nursery() as nursery:
        endpoint = _Endpoint(server, core, nursery, stateless)
        if idle_session_timeout is not None:
            nursery.start_soon(endpoint.expire_idle, idle_session_timeout)

        async def handle(stream: trio.abc.Stream) -> None:
            if ssl_context is not None:
                stream = trio.SSLStream(stream, ssl_context, server_side=True)
            conn = _Conn(endpoint, stream, max_body=max_body, max_header=max_header,
                         request_timeout=request_timeout, keepalive_timeout=keepalive_timeout)
            await conn.run()

        bound = listeners[0].socket.getsockname()
        accepting = trio.CancelScope()

        async def accept(task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
            with accepting:  # connections run in the outer nursery, not in this scope
                await trio.serve_listeners(handle, listeners, handler_nursery=nursery,
                                           task_status=task_status)

        await nursery.start(accept)
        task_status.started(HTTPServerInfo(host, bound[1], path, ssl_context is not None))
        if stop is None:
            await trio.sleep_forever()
        else:
            await stop.wait()
        accepting.cancel()  # closes the listeners
        with trio.move_on_after(drain_timeout):
            await endpoint.drain()
        nursery.cancel_scope.cancel()


class _ToolHeaders:
    """The ``x-mcp-header`` annotations of ``server``'s tools, as they are now (2026-07-28
    ``tools/call`` requests are checked against them); a tool's are read again when it is
    replaced. Invalid annotations check nothing (a client drops such a tool)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._cache: dict[str, tuple[Any, dict[str, tuple[str, ...]] | None]] = {}

    def __call__(self, name: str) -> dict[str, tuple[str, ...]] | None:
        tool = next((tool for tool in self.server.tools if tool.name == name), None)
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


# ---------------------------------------------------------------- client


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


_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the server",
    errno.ECONNABORTED: "connection aborted",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EADDRINUSE: "address already in use",
    errno.EADDRNOTAVAIL: "address not available on this machine",
    errno.EACCES: "permission denied",
    errno.EPIPE: "the connection was closed",
}


def describe_failure(exc: BaseException) -> str:
    """A short lower-case reason for a network failure (``connection refused``,
    ``unknown host``, ``TLS certificate verification failed: ...``), without reprs.

    Follows ``__cause__`` (trio's "all attempts to connect ... failed" and its group of
    per-address errors, a :class:`trio.BrokenResourceError` made from an :class:`ssl.SSLError`).
    """
    if isinstance(exc, trio.TooSlowError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        if exc.errno in _UNKNOWN_HOST:
            return "unknown host"
        return f"cannot resolve the host name ({_lower(exc.strerror or str(exc))})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or str(exc)
        if isinstance(exc.reason, str) and exc.reason.isupper():  # WRONG_VERSION_NUMBER
            reason = exc.reason.lower().replace("_", " ")
        return f"TLS handshake failed: {_lower(str(reason))}"
    if isinstance(exc, OSError) and exc.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[exc.errno]
    cause = exc.__cause__
    if isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        reasons = list(dict.fromkeys(describe_failure(e) for e in cause.exceptions))
        return "; ".join(reasons[:3])
    if cause is not None:
        return describe_failure(cause)
    if isinstance(exc, OSError) and exc.strerror:
        return _lower(exc.strerror)
    return " ".join(str(exc).split()) or type(exc).__name__


_UNKNOWN_HOST = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA")
                 if hasattr(socket, name)}


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _check_resolvable(host: str) -> None:
    """RFC 6761 section 6.4: names under ``.invalid`` never resolve; say so at once rather than
    ask a resolver.

    Raises:
        socket.gaierror: (``EAI_NONAME``) ``host`` is such a name.
    """
    name = host.rstrip(".").lower()
    if name == "invalid" or name.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


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

    async def body(self, limit: int | None = None) -> bytes:
        """Read the rest of the body; with ``limit``, at most that many bytes (the rest is
        left unread: the connection is then not reused)."""
        out = bytearray()
        while limit is None or len(out) < limit:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
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
                   headers: list[tuple[str, str]], body: bytes, *, heads: HeadCache) -> bytes:
    out = conn.send(heads.request(method, target, tuple(headers))) or b""
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
        #: The protocol state (what to send, what an answer means): sans-IO.
        self.client = StreamableHTTPClient(url, headers=headers, reinitialize=reinitialize,
                                           max_reconnects=max_reconnects)
        self.url = url
        self._tls = self.client.tls
        self._host = self.client.host
        self._port = self.client.port
        self._target = self.client.target
        self._heads = HeadCache()  # this transport's own, bounded
        self._ssl = ssl_context
        self._connect_timeout = connect_timeout
        self._close_timeout = close_timeout
        self._in_send, self._in_recv = trio.open_memory_channel[bytes](math.inf)
        self._nursery: trio.Nursery | None = None
        self._closed = False
        self._listen_opened = trio.Event()  # the standalone GET got its answer's head
        self._failure: BaseException | None = None
        self._reinit_lock = trio.Lock()
        self._pool = _Pool(max_idle_connections)

    @property
    def session_id(self) -> str | None:
        """The session id the server gave (``Mcp-Session-Id``), ``None`` before or without."""
        return self.client.session_id

    @property
    def protocol_version(self) -> str | None:
        """The negotiated revision, sent as ``MCP-Protocol-Version`` after the handshake."""
        return self.client.protocol_version

    @property
    def reinitialized(self) -> int:
        """How many times a new session was started after a 404 (``reinitialize=True``)."""
        return self.client.reinitialized

    async def start(self, nursery: trio.Nursery | None = None) -> None:
        if nursery is None:
            raise RuntimeError("StreamableHTTPTransport needs the session's nursery")
        self._nursery = nursery
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
        """Send one request the client said to send; its answer's head."""
        return await self._request(request.method, list(request.headers), request.body)

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
            data = _request_bytes(conn, method, self._target, hdrs, body, heads=self._heads)
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
        data = _request_bytes(conn, method, self._target, hdrs, body, heads=self._heads)
        try:
            with trio.fail_after(self._connect_timeout):
                stream = await self._open()
                try:
                    await stream.send_all(data)  # for https://, the TLS handshake is here
                except BaseException:
                    await trio.aclose_forcefully(stream)
                    raise
        except trio.TooSlowError as exc:
            raise EndpointUnreachable(
                self.url, f"timed out after {self._connect_timeout:g} s") from exc
        except (OSError, trio.BrokenResourceError) as exc:
            raise EndpointUnreachable(self.url, describe_failure(exc)) from exc
        return _Exchange(stream, conn, (method, hdrs, body), reused=False)

    async def _read_head(self, exchange: _Exchange) -> _Response:
        stream, conn = exchange.stream, exchange.conn
        got_bytes = False
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(_CHUNK)
                    if not data:  # end of stream before a whole head
                        raise trio.BrokenResourceError(
                            "the server closed the connection " +
                            ("in the middle of its answer" if got_bytes else "without answering"))
                    got_bytes = True
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
        """Send frames given as bytes (not by the engine): each line is decoded to learn what
        it is. The session uses :meth:`send_frames`."""
        await self.send_frames([frame_of(line) for line in data.splitlines()])

    async def send_frames(self, frames: list[Frame]) -> None:
        """POST each frame; what it is (request, notification, response; its method and id)
        is read from the frame's fields, never from its bytes."""
        if self._closed:
            raise trio.ClosedResourceError("the transport is closed")
        for frame in frames:
            try:
                await self._post(frame)
            except TransportError:
                raise
            except (OSError, h11.ProtocolError, trio.TooSlowError,
                    trio.BrokenResourceError) as exc:
                raise self._post_error(exc) from exc

    def _post_error(self, exc: BaseException) -> HTTPTransportError:
        """The one-line error for a POST that failed after connecting."""
        if isinstance(exc, trio.TooSlowError):
            return HTTPTransportError(f"no answer from {self.url} within "
                                      f"{self._connect_timeout:g} s", self.url)
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
                                            request.body)
        if request.in_order:
            with trio.fail_after(self._connect_timeout):
                response = await self._read_head(exchange)
            await self._answer(response, msg)
        else:
            assert self._nursery is not None
            self._nursery.start_soon(self._answer_later, exchange, msg)

    async def _answer_later(self, exchange: _Exchange, msg: Frame) -> None:
        try:
            with trio.fail_after(self._connect_timeout):
                response = await self._read_head(exchange)
            await self._answer(response, msg, inline=True)
        except SessionExpired as exc:
            self._fail(exc)
        except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError) as exc:
            error = exc if isinstance(exc, TransportError) else self._post_error(exc)
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
                      inline: bool = False) -> None:
        """Act on the answer to a POST, as the client says. With ``inline`` (already in a
        background task), a body to read is read here rather than in a new task."""
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
            if outcome.answer_locally:
                self._deliver_error(self.client.error_for(msg, outcome.status, body,
                                                          outcome.content_type))
                return
            raise HTTPTransportError(self.client.failure_message(
                outcome.status, body, outcome.content_type), self.url)
        assert self._nursery is not None
        if isinstance(outcome, _hc.ReadSSE):
            if inline:
                await self._read_sse(response, outcome.stream)
            else:
                self._nursery.start_soon(self._read_sse, response, outcome.stream)
        elif inline:
            await self._read_json(response)
        else:
            self._nursery.start_soon(self._read_json, response)

    def _deliver_error(self, error: bytes | None) -> None:
        """Deliver the local error answering a request whose exchange failed."""
        if error is not None:
            self._in_send.send_nowait(error + b"\n")

    async def _read_json(self, response: _Response) -> None:
        try:
            body = await response.body()
        except (OSError, trio.BrokenResourceError, h11.ProtocolError):
            return
        finally:
            await response.aclose()
        self._deliver(self.client.json_body(body))

    def _deliver(self, messages: Sequence[bytes]) -> None:
        if not self._closed:
            for message in messages:
                self._in_send.send_nowait(message + b"\n")

    async def _read_sse(self, response: _Response | None, stream: int) -> None:
        """Read SSE stream ``stream`` (``response`` is its first answer), delivering what it
        holds, and resume it (waiting the delay the client says) while the client says to."""
        client = self.client
        resume: HTTPRequest | None = None
        while True:
            try:
                if response is None:
                    assert resume is not None
                    response = await self._send(resume)
                    if not client.resume_answer(stream, response.status):
                        await response.aclose()
                        return
                async for chunk in response.chunks():
                    got = client.sse_data(stream, chunk)
                    self._deliver(got.messages)
                    if got.broken:  # resuming would meet it again: the stream is given up
                        await response.aclose()
                        self._deliver_error(got.failure)
                        return
                await response.aclose()
                response = None
            except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError):
                if response is not None:
                    await response.aclose()
                    response = None
            resume = client.resume(stream)
            if resume is None:
                return
            await trio.sleep(resume.delay)

    def _start_listening(self) -> None:
        if self._nursery is None:
            return
        request = self.client.standalone_stream()
        if request is not None:
            self._nursery.start_soon(self._listen, request)

    async def _listen(self, request: HTTPRequest) -> None:
        try:
            response = await self._send(request)
        except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError):
            return
        finally:
            self._listen_opened.set()
        opened = self.client.standalone_answer(response.status)
        if opened is None:
            await response.aclose()
            return
        await self._read_sse(response, opened.stream)

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
                        trio.TooSlowError):
                    pass
        with trio.CancelScope(shield=True):
            await self._pool.aclose()
