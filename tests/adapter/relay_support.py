"""Workers sharing one Redis in one trio run, a tiny raw HTTP client and a TCP proxy that
picks the worker of each connection (tests of serve_http(shared=...))."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import h11
import trio

from trio_adapter import Server
from trio_adapter.http import HTTPServerInfo, serve_http
from trio_adapter.redis import RedisBackend, share_server_state

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {"sampling": {}},
    "clientInfo": {"name": "raw", "version": "1"}}}


@attrs.define
class Worker:
    name: str
    info: HTTPServerInfo
    server: Server
    scope: trio.CancelScope
    backend: RedisBackend
    stopped: trio.Event

    @property
    def port(self) -> int:
        return self.info.port

    def kill(self) -> None:
        """Stop this worker (its heartbeat is removed as its backend closes)."""
        self.scope.cancel()


async def _run_worker(name: str, server: Server, url: str, prefix: str, kwargs: dict[str, Any],
                      task_status: trio.TaskStatus[Worker]) -> None:
    stopped = trio.Event()
    try:
        with trio.CancelScope() as scope:
            async with RedisBackend(url, worker_id=name, prefix=prefix, heartbeat_interval=0.2,
                                    heartbeat_ttl=1.0, command_timeout=2.0) as backend:
                if kwargs.pop("share_state", False):
                    share_server_state(server, backend)
                async with trio.open_nursery() as nursery:
                    info = await nursery.start(functools.partial(
                        serve_http, server, shared=backend, **kwargs))
                    task_status.started(Worker(name, info, server, scope, backend, stopped))
    finally:
        stopped.set()


@asynccontextmanager
async def workers(url: str, prefix: str, servers: dict[str, Server], **kwargs: Any
                  ) -> AsyncIterator[dict[str, Worker]]:
    """serve_http once per ``servers`` entry (worker id -> server), all on one Redis;
    ``share_state=True``: each server also gets the Redis bus and task store
    (``share_server_state``)."""
    async with trio.open_nursery() as nursery:
        found: dict[str, Worker] = {}
        for name, server in servers.items():
            found[name] = await nursery.start(_run_worker, name, server, url, prefix,
                                              dict(kwargs))
        yield found
        nursery.cancel_scope.cancel()


class Raw:
    """One keep-alive HTTP/1.1 connection to a port, h11 client side."""

    def __init__(self, stream: trio.SocketStream, port: int) -> None:
        self.stream = stream
        self.port = port
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    @asynccontextmanager
    async def open(cls, port: int) -> AsyncIterator[Raw]:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            yield cls(stream, port)

    async def send(self, method: str, headers: dict[str, str] | None = None,
                   body: Any = None) -> h11.Response:
        """Send a request and read its head."""
        data = b"" if body is None else json.dumps(body).encode()
        hdrs = [("host", f"127.0.0.1:{self.port}"),
                ("accept", "application/json, text/event-stream")]
        if body is not None:
            hdrs += [("content-type", "application/json"), ("content-length", str(len(data)))]
        hdrs += list((headers or {}).items())
        if self.conn.our_state is h11.DONE:
            self.conn.start_next_cycle()
        out = self.conn.send(h11.Request(method=method, target="/mcp", headers=hdrs)) or b""
        out += (self.conn.send(h11.Data(data=data)) or b"") if data else b""
        out += self.conn.send(h11.EndOfMessage()) or b""
        await self.stream.send_all(out)
        while True:
            event = await self._event()
            if isinstance(event, h11.Response):
                return event

    async def _event(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await self.stream.receive_some(65536))
                continue
            return event

    async def chunk(self) -> bytes | None:
        """The next piece of the body; ``None`` at its end."""
        event = await self._event()
        if isinstance(event, h11.Data):
            return bytes(event.data)
        assert isinstance(event, h11.EndOfMessage), event
        return None

    async def body(self) -> bytes:
        out = b""
        while (piece := await self.chunk()) is not None:
            out += piece
        return out

    async def events(self, until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """SSE events (``id`` and parsed ``data``) until one satisfies ``until``."""
        found: list[dict[str, Any]] = []
        buffer = b""
        while True:
            piece = await self.chunk()
            assert piece is not None, found
            buffer += piece
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                event: dict[str, Any] = {}
                for line in block.decode().splitlines():
                    name, _, value = line.partition(":")
                    if name == "id":
                        event["id"] = value.strip()
                    elif name == "data" and value.strip():
                        event["data"] = json.loads(value)
                if "data" in event:
                    found.append(event)
                    if until(event):
                        return found


def header(response: h11.Response, name: str) -> str | None:
    for key, value in response.headers:
        if key.decode() == name:
            return str(value.decode())
    return None


async def initialize(port: int) -> str:
    """A session made by the worker at ``port`` (initialize and initialized); its id."""
    async with Raw.open(port) as raw:
        head = await raw.send("POST", body=INIT)
        assert head.status_code == 200
        await raw.body()
        sid = header(head, "mcp-session-id")
        assert sid is not None
        head = await raw.send("POST", {"mcp-session-id": sid, "mcp-protocol-version":
                                       "2025-11-25"},
                              {"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert head.status_code == 202
        await raw.body()
        return sid


class Proxy:
    """A loopback TCP proxy: each connection goes to the port ``choose(n)`` names (n counts
    connections from 0)."""

    def __init__(self, choose: Callable[[int], int]) -> None:
        self.choose = choose
        self.count = 0
        self.targets: list[int] = []
        self.port = 0

    async def run(self, task_status: trio.TaskStatus[Proxy]) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._handle, listeners)
            task_status.started(self)

    async def _handle(self, downstream: trio.SocketStream) -> None:
        target = self.choose(self.count)
        self.count += 1
        self.targets.append(target)
        try:
            upstream = await trio.open_tcp_stream("127.0.0.1", target)
        except OSError:
            await downstream.aclose()
            return
        async with downstream, upstream:
            async with trio.open_nursery() as nursery:
                async def pump(src: trio.SocketStream, dst: trio.SocketStream) -> None:
                    try:
                        while data := await src.receive_some(65536):
                            await dst.send_all(data)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        pass
                    nursery.cancel_scope.cancel()

                nursery.start_soon(pump, downstream, upstream)
                nursery.start_soon(pump, upstream, downstream)
