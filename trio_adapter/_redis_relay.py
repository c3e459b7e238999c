"""Handshake-era sessions across workers: relay a request to the worker that owns its session,
through Redis (``serve_http(shared=backend)``; docs/scale.md).

With a shared :class:`~trio_adapter.redis.RedisBackend`, session ids are minted as
``<worker_id>.<random>``, so any worker tells the owner of a session from its id. A request
whose ``Mcp-Session-Id`` names another worker is relayed, with no sticky routing:

* the relaying worker re-serialises the parsed request (h11, client side, with
  ``Connection: close``) and pushes it to the owner's inbox list
  (``key("relay", owner)``) under a fresh relay id;
* the owner's inbox task (a blocking pop on a connection of its own) hands the bytes to its
  ordinary connection handler through an in-memory stream (:class:`VirtualStream`): every rule,
  bound and decision of the core applies unchanged, and relayed connections count against
  ``max_connections`` like real ones. What the handler writes is pushed back, in chunks, to the
  reply list ``key("reply", relay_id)`` (with an expiry), then an end marker;
* the relaying worker pops the chunks, parses them with h11 (client side) and re-emits the
  status, headers and body pieces to its own client as they come (SSE streams stream through;
  the client's connection stays keep-alive). When its client goes away it pushes a cancel
  message, and the owner cancels that virtual connection.

Failures: the owner's heartbeat gone -> the answer of a worker that does not know the session
(404, -32001, from this worker's own core); Redis unreachable -> 503 with ``Retry-After``; the
owner alive but silent past the deadline -> 504; the owner dying mid-answer -> 502 (or the
response is cut, once its head went out). Every wait has a deadline and every queue a bound.
Decisions are taken from h11-parsed headers (``Mcp-Session-Id``) only.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import h11
import trio

from sansio import _codec
from sansio.http import CompleteRequest
from sansio.versions import STATELESS_VERSIONS

if TYPE_CHECKING:
    from .redis import RedisBackend

logger = logging.getLogger("trio_mcp.relay")

_CHUNK = 65536
_OPEN, _CANCEL = b"O", b"C"  # inbox messages: kind, relay id, then the request (open)
# Reply items: kind, then bytes: data (more follows), the end, data and then the end.
_DATA, _END, _LAST, _FAIL = b"D", b"E", b"L", b"X"
_BATCH = 4 * _CHUNK  # the most bytes the owner coalesces into one reply item
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})

Handler = Callable[["VirtualStream"], Awaitable[None]]


def _json_error(code: int, message: str) -> bytes:
    return _codec.dumps({"jsonrpc": "2.0", "id": None,
                         "error": {"code": code, "message": message}})


class VirtualStream(trio.abc.Stream):
    """One relayed connection as the owner's connection handler sees it: the relayed request's
    bytes, then nothing until the relaying side cancels (end of input); what the handler sends
    goes to a bounded queue the pump forwards to Redis (``send_all`` waits for room).

    ``peer`` is the client's address as the relaying worker saw it (for per-client bounds)."""

    def __init__(self, request: bytes, peer: str, *, max_chunks: int = 16) -> None:
        self.peer = peer
        self.relayer = ""  # the relaying worker's id
        self._incoming = request
        self._eof = trio.Event()
        self._send, self.outgoing = trio.open_memory_channel[bytes](max_chunks)
        self._closed = False

    def end_input(self) -> None:
        """The relaying side went away: the handler reads end of input from now on."""
        self._eof.set()

    @property
    def input_ended(self) -> bool:
        """Whether :meth:`end_input` was called (nobody reads the answer any more)."""
        return self._eof.is_set()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._closed:
            raise trio.ClosedResourceError("the relayed connection is closed")
        if self._incoming:
            size = len(self._incoming) if max_bytes is None else max_bytes
            data, self._incoming = self._incoming[:size], self._incoming[size:]
            await trio.lowlevel.checkpoint()
            return data
        await self._eof.wait()
        return b""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed or self._eof.is_set():
            raise trio.BrokenResourceError("the relayed connection is closed")
        view = bytes(data)
        for start in range(0, len(view), _CHUNK):
            try:
                await self._send.send(view[start:start + _CHUNK])
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise trio.BrokenResourceError("the relayed connection is closed") from exc
        if not view:
            await trio.lowlevel.checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._send.close()
        await trio.lowlevel.checkpoint()


class SessionRelay:
    """The relay of one worker (made by ``serve_http(shared=...)``).

    Args:
        backend: this worker's :class:`~trio_adapter.redis.RedisBackend` (entered).
        head_timeout: how long the relaying side waits for the owner's response head.
        idle_timeout: how long it waits for the next piece of a response once the head came
            (keep-alive comments of a long-lived stream come well within it).
        reply_ttl: seconds a reply list lives in Redis after its last push.
        max_backlog: reply items the owner lets wait in Redis before it waits for the reader
            (at most ``send_timeout``, then the relayed connection is cut as a slow client's).
        send_timeout: that wait.
        max_inflight: requests this worker relays at once; one more gets 503.
    """

    def __init__(self, backend: RedisBackend, *, head_timeout: float = 30.0,
                 idle_timeout: float = 330.0, reply_ttl: float = 60.0, max_backlog: int = 64,
                 send_timeout: float = 30.0, max_inflight: int = 1024) -> None:
        for name, value in (("head_timeout", head_timeout), ("idle_timeout", idle_timeout),
                            ("reply_ttl", reply_ttl), ("send_timeout", send_timeout)):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
        self.backend = backend
        self.worker_id = backend.worker_id
        self.head_timeout = head_timeout
        self.idle_timeout = idle_timeout
        self.reply_ttl_ms = int(reply_ttl * 1000)
        self.max_backlog = max_backlog
        self.send_timeout = send_timeout
        self.max_inflight = max_inflight
        self.relaying = 0
        """Requests this worker relays to other workers now."""
        self.serving: dict[bytes, tuple[trio.CancelScope, VirtualStream]] = {}
        """Relayed requests this worker serves now (relay id -> its virtual connection)."""
        self.relayed = 0
        """Requests this worker relayed to other workers so far."""
        self.served = 0
        """Relayed requests this worker served so far."""
        self._changed = trio.Event()
        self._replies: Any = None  # the client of the reply pops (entered by serve_inbox)
        self._errors = _redis_errors(backend)

    def _note(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_quiet(self) -> None:
        """Wait until this worker neither relays nor serves a relayed request (no deadline
        of its own: the caller bounds it)."""
        while self.relaying or self.serving:
            await self._changed.wait()

    # ------------------------------------------------------------------ ids

    def new_session_id(self) -> str:
        """A fresh session id naming this worker: ``<worker_id>.<32 hex digits>``."""
        return f"{self.worker_id}.{secrets.token_hex(16)}"

    def owner_to_relay(self, request: CompleteRequest) -> str | None:
        """The other worker that owns the session ``request`` names, or ``None`` (no session
        header, an id not minted by a worker, this worker's own, or a 2026-07-28 request,
        which has no session)."""
        if request.header("mcp-protocol-version") in STATELESS_VERSIONS:
            return None
        sid = request.header("mcp-session-id")
        if sid is None:
            return None
        owner, dot, _ = sid.partition(".")
        if not dot or not owner or owner == self.worker_id:
            return None
        return owner

    # ------------------------------------------------------------------ owner side

    async def serve_inbox(self, handler: Handler, nursery: trio.Nursery,
                          task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                          ) -> None:
        """Pop relayed requests from this worker's inbox and serve each through ``handler``
        (in ``nursery``) on a :class:`VirtualStream`, until cancelled. Redis unreachable: one
        warning, retries with backoff (at most 2 s apart), one line when it is back."""
        backend = self.backend
        inbox = backend.key("relay", self.worker_id)
        wait = max(0.1, min(1.0, backend.command_timeout / 2))
        started = False
        lost = False
        backoff = 0.1
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(backend.new_client())
            # The relaying side's blocking pops: a pool of connections of their own.
            self._replies = await stack.enter_async_context(backend.new_client())
            stack.callback(setattr, self, "_replies", None)
            while True:
                if not started:
                    started = True
                    task_status.started()
                try:
                    with trio.fail_after(wait + backend.command_timeout):
                        got = await client.blpop([inbox], timeout=wait)
                except self._errors as exc:
                    if not lost:
                        logger.warning("trio-mcp: relay inbox: lost Redis (%s); retrying",
                                       _one_line(exc))
                        lost = True
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                if lost:
                    logger.warning("trio-mcp: relay inbox: Redis is back")
                    lost = False
                backoff = 0.1
                if got is None:
                    continue
                self._take(bytes(got[1]), handler, nursery)

    def _take(self, item: bytes, handler: Handler, nursery: trio.Nursery) -> None:
        kind, relay_id, rest = item[:1], item[1:33], item[33:]
        if len(relay_id) != 32:
            logger.warning("trio-mcp: relay inbox: dropping a malformed message")
            return
        if kind == _CANCEL:
            entry = self.serving.get(relay_id)
            if entry is not None:
                entry[1].end_input()
                entry[0].cancel()
            return
        if kind != _OPEN:
            logger.warning("trio-mcp: relay inbox: dropping a message of unknown kind")
            return
        origin, nl, request = rest.partition(b"\n")
        relayer, _, peer = origin.partition(b" ")
        if not nl or not relayer:
            logger.warning("trio-mcp: relay inbox: dropping a malformed request")
            return
        if relay_id in self.serving:
            return
        stream = VirtualStream(request, peer.decode("ascii", "replace"))
        stream.relayer = relayer.decode("ascii", "replace")
        scope = trio.CancelScope()
        self.serving[relay_id] = (scope, stream)
        self.served += 1
        nursery.start_soon(self._serve_one, relay_id, stream, scope, handler)

    async def _serve_one(self, relay_id: bytes, stream: VirtualStream, scope: trio.CancelScope,
                         handler: Handler) -> None:
        reply = self.backend.key("reply", relay_id.decode("ascii"))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump, reply, stream, scope, stream.relayer)
                with scope:
                    await handler(stream)
                await stream.aclose()  # the pump sends what is left, then the end
        finally:
            self.serving.pop(relay_id, None)
            self._note()

    async def _pump(self, reply: str, stream: VirtualStream, scope: trio.CancelScope,
                    relayer: str) -> None:
        """Forward what the handler writes to the reply list, then the end marker (or stop at
        once if the reader is gone: the handler is cancelled). The relaying worker's
        heartbeat is checked every heartbeat TTL of pushes: a relaying worker that died
        without a cancel ends the relayed connection (a long-lived stream's keep-alive
        comments are what find it out)."""
        backend = self.backend
        client = backend.client
        outgoing = stream.outgoing
        checked = trio.current_time()
        try:
            while True:
                try:
                    chunk = await outgoing.receive()
                except trio.EndOfChannel:
                    if not stream.input_ended:
                        await self._push(client, reply, _END)
                    return
                if stream.input_ended:  # cancelled: nobody reads what is left
                    return
                # What the handler writes next (the rest of a quick answer, its end) joins
                # this item: one round trip and one wake-up of the reader instead of several.
                batch, size, closed, spins = [chunk], len(chunk), False, 0
                while size < _BATCH:
                    try:
                        more = outgoing.receive_nowait()
                    except trio.WouldBlock:
                        if spins == 3:
                            break
                        spins += 1
                        await trio.lowlevel.checkpoint()
                        continue
                    except trio.EndOfChannel:
                        closed = True
                        break
                    batch.append(more)
                    size += len(more)
                await self._push(client, reply, (_LAST if closed else _DATA) + b"".join(batch))
                if closed:
                    return
                if trio.current_time() - checked > backend.heartbeat_ttl:
                    checked = trio.current_time()
                    if not await backend.alive(relayer):
                        logger.warning("trio-mcp: relay: worker %s went away: ending the "
                                       "request it relayed", relayer)
                        stream.end_input()
                        scope.cancel()
                        return
        except self._errors as exc:
            logger.warning("trio-mcp: relay: cannot answer a relayed request (%s)",
                           _one_line(exc))
            stream.end_input()
            scope.cancel()

    async def _rpush(self, client: Any, key: str, item: bytes) -> int:
        """RPUSH ``item`` and renew the list's expiry, in one round trip; the new length."""
        with self.backend.deadline():
            async with client.pipeline(transaction=False) as pipe:
                pushed = pipe.rpush(key, [item])
                pipe.pexpire(key, self.reply_ttl_ms)
            return int(await pushed)

    async def _push(self, client: Any, reply: str, item: bytes) -> None:
        backend = self.backend
        length = await self._rpush(client, reply, item)
        if length <= self.max_backlog:
            return
        # The reader is slow: wait for it (bounded), as for a slow client.
        with trio.move_on_after(self.send_timeout):
            while True:
                await trio.sleep(0.02)
                with backend.deadline():
                    if await client.llen(reply) <= self.max_backlog // 2:
                        return
        raise trio.TooSlowError("the relaying worker does not read the relayed answer")

    # ------------------------------------------------------------------ relaying side

    async def relay(self, owner: str, request: CompleteRequest, peer: str, *,
                    send: Callable[[bytes], Awaitable[None]], out: h11.Connection,
                    local_answer: Callable[[], Awaitable[None]]) -> bool:
        """Relay ``request`` (whose session ``owner`` owns) and re-emit its response through
        ``send`` (framed by ``out``, this worker's server-side h11 connection to its client).

        The owner's heartbeat gone: ``local_answer()`` (this worker's core answers the session
        it does not know: 404). Returns whether the client's connection may be reused.
        Raises what ``send`` raises (the client went away); the owner is told to stop then.
        """
        if self.relaying >= self.max_inflight:
            await send(_response(out, 503, [("retry-after", "1")], _json_error(
                -32000, "too many requests relayed to other workers: retry later")))
            return True
        self.relaying += 1
        self._note()
        try:
            return await self._relay(owner, request, peer, send, out, local_answer)
        finally:
            self.relaying -= 1
            self._note()

    async def _redis_down(self, send: Callable[[bytes], Awaitable[None]],
                          out: h11.Connection, exc: BaseException) -> None:
        logger.warning("trio-mcp: relay: Redis unreachable (%s)", _one_line(exc))
        await send(_response(out, 503, [("retry-after", "1")], _json_error(
            -32000, "the session store (Redis) is unreachable: retry later")))

    async def _relay(self, owner: str, request: CompleteRequest, peer: str,  # noqa: PLR0917
                     send: Callable[[bytes], Awaitable[None]], out: h11.Connection,
                     local_answer: Callable[[], Awaitable[None]]) -> bool:
        backend = self.backend
        relay_id = secrets.token_hex(16).encode("ascii")
        self.relayed += 1
        reply = backend.key("reply", relay_id.decode("ascii"))
        inbox = backend.key("relay", owner)
        message = _OPEN + relay_id + self.worker_id.encode("ascii") + b" " + \
            peer.encode("ascii", "replace") + b"\n" + \
            _serialise(request)
        try:
            # the owner's heartbeat and the push in one round trip: a request pushed to a
            # dead owner's inbox expires there unread
            with backend.deadline():
                async with backend.client.pipeline(transaction=False) as pipe:
                    beating = pipe.exists([backend._heartbeat_key(owner)])
                    pipe.rpush(inbox, [message])
                    pipe.pexpire(inbox, self.reply_ttl_ms)
                alive = bool(await beating)
        except self._errors as exc:
            await self._redis_down(send, out, exc)
            return True
        if not alive:  # the session died with its owner: 404, as unknown
            await local_answer()
            return True
        parser = h11.Connection(h11.CLIENT)
        parser.send(h11.Request(method=request.method, target=request.target,
                                headers=[("host", request.header("host") or "relay")]))
        parser.send(h11.EndOfMessage())
        started = False  # the head went to our client
        finished = False
        client = self._replies
        if client is None:
            raise RuntimeError("the relay's inbox task is not running")
        try:
            while True:
                item = await self._next(client, reply, owner,
                                        self.idle_timeout if started else self.head_timeout)
                if isinstance(item, tuple):  # a failure, before or after the head
                    why, text = item
                    if started:
                        logger.warning("trio-mcp: relay: cutting a relayed response: %s",
                                       text)
                        return False
                    if why == "gone":  # the session died with its owner: 404, as unknown
                        await local_answer()
                    elif why == "redis":
                        await send(_response(out, 503, [("retry-after", "1")],
                                             _json_error(-32000, text)))
                    else:
                        await send(_response(out, 504, [], _json_error(-32000, text)))
                    return True
                kind, data = item[:1], item[1:]
                if kind == _END:
                    parser.receive_data(b"")
                elif kind == _DATA:
                    parser.receive_data(data)
                elif kind == _LAST:
                    parser.receive_data(data)
                    parser.receive_data(b"")
                else:
                    continue
                pieces: list[bytes] = []
                while True:
                    event = parser.next_event()
                    if event is h11.NEED_DATA or event is h11.PAUSED:
                        break
                    if isinstance(event, h11.InformationalResponse):
                        continue
                    if isinstance(event, h11.Response):
                        headers = [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                                   for k, v in event.headers.raw_items()
                                   if bytes(k).lower().decode("latin-1") not in _HOP]
                        pieces.append(out.send(h11.Response(
                            status_code=event.status_code, headers=headers,
                            reason=event.reason)) or b"")
                        started = True
                    elif isinstance(event, h11.Data):
                        pieces.append(out.send(h11.Data(data=bytes(event.data))) or b"")
                    elif isinstance(event, h11.EndOfMessage):
                        pieces.append(out.send(h11.EndOfMessage()) or b"")
                        finished = True
                        break
                    elif isinstance(event, h11.ConnectionClosed):
                        break
                if pieces:
                    await send(b"".join(pieces))
                if finished:
                    return True
                if kind in (_END, _LAST):  # the owner closed before the response ended
                    if started:
                        return False
                    await send(_response(out, 502, [], _json_error(
                        -32000, f"worker {owner} closed the relayed request unanswered")))
                    return True
        except h11.RemoteProtocolError as exc:
            logger.warning("trio-mcp: relay: bad response from worker %s (%s)", owner, exc)
            if started:
                return False
            await send(_response(out, 502, [], _json_error(
                -32000, f"worker {owner} sent a malformed response")))
            return True
        finally:
            if not finished:
                with trio.move_on_after(backend.command_timeout) as cleanup:
                    cleanup.shield = True
                    with contextlib.suppress(*self._errors):
                        await self._rpush(backend.client, inbox, _CANCEL + relay_id)
                        with backend.deadline():
                            await backend.client.delete([reply])

    async def _next(self, client: Any, reply: str, owner: str, limit: float
                    ) -> bytes | tuple[str, str]:
        """The next reply item, or a failure (kind, one line): ``timeout`` past ``limit`` s,
        ``gone`` (the owner's heartbeat ended: checked every heartbeat TTL while waiting) or
        ``redis`` (unreachable)."""
        backend = self.backend
        deadline = trio.current_time() + limit
        check = max(0.1, min(backend.heartbeat_ttl, backend.command_timeout / 2))
        while True:
            left = deadline - trio.current_time()
            if left <= 0:
                return "timeout", f"no answer from worker {owner} within {limit:g} s"
            wait = max(0.01, min(left, check))
            try:
                with trio.fail_after(wait + backend.command_timeout):
                    got = await client.blpop([reply], timeout=wait)
                if got is not None:
                    return bytes(got[1])
                if not await backend.alive(owner):
                    return "gone", f"worker {owner} went away while answering"
            except self._errors as exc:
                return "redis", f"the session store (Redis) is unreachable: {_one_line(exc)}"


def _redis_errors(backend: RedisBackend) -> tuple[type[BaseException], ...]:
    """What a Redis command of ``backend`` raises when Redis is slow, refuses or is gone
    (coredis raises anyio's resource errors on a connection closed under it)."""
    import anyio  # coredis's dependency: there whenever a backend could be made
    return (OSError, trio.TooSlowError, backend._coredis.exceptions.RedisError,
            anyio.ClosedResourceError, anyio.BrokenResourceError)


def _serialise(request: CompleteRequest) -> bytes:
    """``request`` as an HTTP/1.1 request with ``Connection: close`` (one request per relayed
    connection), its framing as the body's length."""
    conn = h11.Connection(h11.CLIENT)
    headers = [(k, v) for k, v in request.headers
               if k not in _HOP and k != "content-length"]
    headers.append(("connection", "close"))
    if request.body or request.method == "POST":
        headers.append(("content-length", str(len(request.body))))
    out = conn.send(h11.Request(method=request.method, target=request.target,
                                headers=headers)) or b""
    if request.body:
        out += conn.send(h11.Data(data=request.body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


def _response(out: h11.Connection, status: int, headers: list[tuple[str, str]],
              body: bytes) -> bytes:
    hdrs = [("content-type", "application/json"), *headers,
            ("content-length", str(len(body)))]
    data = out.send(h11.Response(status_code=status, headers=hdrs)) or b""
    data += out.send(h11.Data(data=body)) or b""
    return data + (out.send(h11.EndOfMessage()) or b"")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
