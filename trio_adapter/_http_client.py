"""Streamable HTTP client transport for trio: :class:`StreamableHTTPTransport` (every decision
is :class:`sansio.http_client.StreamableHTTPClient`'s; this module owns sockets, tasks and
timeouts)."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import h11
import trio

from sansio import http_client as _hc
from sansio import oauth as _oauth
from sansio.frames import Frame, FrameKind
from sansio.http import (
    HeadCache,
)
from sansio.http_client import HTTPRequest, PostAnswer, StreamableHTTPClient, frame_of
from sansio.oauth import OAuthError

from ._netfail import _check_resolvable, describe_failure
from ._transport import Transport
from .errors import TransportError

_CHUNK = 65536

#: How many received messages a StreamableHTTPTransport holds for the session's reader.
INBOX_SIZE = 256

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
        auth: an :class:`~trio_adapter.oauth.OAuth`: its token goes on every request, and a
            401 or 403 answer runs its flow and sends the request again (a failed flow
            answers the request with an error naming why).
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 ssl_context: ssl.SSLContext | None = None, connect_timeout: float = 30.0,
                 close_timeout: float = 2.0, max_reconnects: int = 5,
                 reinitialize: bool = False, max_idle_connections: int = 8,
                 auth: OAuth | None = None) -> None:
        #: OAuth authorization (``auth=``): a token on every request, a 401/403 runs the flow.
        self.auth = auth
        #: The protocol state (what to send, what an answer means): sans-IO.
        self.client = StreamableHTTPClient(url, headers=headers, reinitialize=reinitialize,
                                           max_reconnects=max_reconnects)
        self._settings: dict[str, Any] = {
            "headers": headers, "ssl_context": ssl_context, "connect_timeout": connect_timeout,
            "close_timeout": close_timeout, "max_reconnects": max_reconnects,
            "reinitialize": reinitialize, "max_idle_connections": max_idle_connections}
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
        # What the answers carry, waiting for the session's reader: bounded. A stream reader
        # waits when it is full (backpressure down to the socket); a local error answer that
        # finds it full fails the transport rather than grow it.
        self._in_send, self._in_recv = trio.open_memory_channel[bytes](INBOX_SIZE)
        self._nursery: trio.Nursery | None = None
        self._closed = False
        self._listen_opened = trio.Event()  # the standalone GET got its answer's head
        self._failure: BaseException | None = None
        self._reinit_lock = trio.Lock()
        self._pool = _Pool(max_idle_connections)
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
        """A stream was given up before it was complete: with :attr:`fail_on_loss`,
        the transport fails (the session reconnects)."""
        if self.client.take_lost(stream) and self.fail_on_loss and not self._closed:
            self._fail(HTTPTransportError(
                f"a stream from {self.url} was lost and could not be resumed", self.url))

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
        if self.auth is not None:
            hdrs = [*hdrs, *self.auth.headers(method, self.url)]
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
            self._spawn(self._answer_later, exchange, msg)

    async def _answer_later(self, exchange: _Exchange, msg: Frame) -> None:
        key = (type(msg.request_id), msg.request_id)
        scope = trio.CancelScope()
        self._request_scopes[key] = scope
        try:
            with scope:
                await self._answer_in_background(exchange, msg)
            if scope.cancelled_caught:  # the request was cancelled: its stream is closed
                await trio.aclose_forcefully(exchange.stream)
        finally:
            if self._request_scopes.get(key) is scope:
                del self._request_scopes[key]

    async def _answer_in_background(self, exchange: _Exchange, msg: Frame) -> None:
        try:
            with trio.fail_after(self._connect_timeout):
                response = await self._read_head(exchange)
            await self._answer(response, msg, inline=True)
        except SessionExpired as exc:
            self._fail(exc)
        except (OSError, trio.BrokenResourceError, h11.ProtocolError, trio.TooSlowError) as exc:
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
                self._spawn(self._read_sse, response, outcome.stream)
        elif inline:
            await self._read_json(response)
        else:
            self._spawn(self._read_json, response)

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
        with trio.fail_after(self._connect_timeout):
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

    async def _read_json(self, response: _Response) -> None:
        try:
            body = await response.body()
        except (OSError, trio.BrokenResourceError, h11.ProtocolError):
            return
        finally:
            await response.aclose()
        await self._deliver(self.client.json_body(body))

    async def _deliver(self, messages: Sequence[bytes]) -> None:
        """Hand what an answer carried to the session's reader; waits while the inbox is
        full (only background readers call this)."""
        for message in messages:
            if self._closed:
                return
            try:
                await self._in_send.send(message + b"\n")
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
                    response = await self._send(resume)
                    if not client.resume_answer(stream, response.status):
                        await response.aclose()
                        self._stream_lost(stream)
                        return
                async for chunk in response.chunks():
                    got = client.sse_data(stream, chunk)
                    await self._deliver(got.messages)
                    if got.broken:  # resuming would meet it again: the stream is given up
                        await response.aclose()
                        self._deliver_error(got.failure)
                        return
                await response.aclose()
                response = None
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
        for scope in list(self._task_scopes):
            scope.cancel()

