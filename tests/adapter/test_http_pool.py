"""The HTTP client keeps connections alive between requests, and survives stale ones.

A scripted HTTP/1.1 server (h11 on a loopback socket) stands in for the MCP endpoint, so the
tests can count connections and close them at chosen moments.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import h11
import pytest
import trio
import trio.testing
from adapter_support import read_request

from trio_adapter import Client, Server
from trio_adapter.http import StreamableHTTPTransport, serve_http


class ScriptedServer:
    """Answers every request ``200 ok``; ``close_after`` answers per connection, then closes
    the connection without saying so (as an idle timeout racing a new request would)."""

    def __init__(self, close_after: int | None = None) -> None:
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        conn = h11.Connection(h11.SERVER)
        answered = 0
        async with stream:
            while True:
                got = await read_request(conn, stream)
                if got is None:
                    return
                _, body = got
                self.requests.append(body)
                out = conn.send(h11.Response(status_code=200, headers=[
                    ("content-type", "application/json"), ("content-length", "2")]))
                out += conn.send(h11.Data(data=b"ok")) + conn.send(h11.EndOfMessage())
                await stream.send_all(out)
                answered += 1
                if self.close_after is not None and answered >= self.close_after:
                    return
                conn.start_next_cycle()


@asynccontextmanager
async def scripted(server: ScriptedServer) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield f"http://127.0.0.1:{port}/mcp"
        nursery.cancel_scope.cancel()


async def _post(transport: StreamableHTTPTransport, body: bytes) -> bytes:
    response = await transport._request(
        "POST", transport._headers("application/json", {"content-type": "application/json"}),
        body)
    assert response.status == 200
    data = await response.body()
    await response.aclose()
    return data


async def test_requests_share_one_kept_alive_connection() -> None:
    server = ScriptedServer()
    async with scripted(server) as url:
        transport = StreamableHTTPTransport(url)
        for i in range(5):
            assert await _post(transport, b'{"n": %d}' % i) == b"ok"
        await transport._pool.aclose()
    assert server.connections == 1
    assert server.requests == [b'{"n": %d}' % i for i in range(5)]


async def test_without_a_pool_each_request_has_its_connection() -> None:
    server = ScriptedServer()
    async with scripted(server) as url:
        transport = StreamableHTTPTransport(url, max_idle_connections=0)
        for i in range(3):
            assert await _post(transport, b'{"n": %d}' % i) == b"ok"
    assert server.connections == 3


async def test_a_connection_the_server_closed_is_replaced_once() -> None:
    server = ScriptedServer(close_after=1)  # every connection ends after its first answer
    async with scripted(server) as url:
        transport = StreamableHTTPTransport(url)
        for i in range(4):
            assert await _post(transport, b'{"n": %d}' % i) == b"ok"
        await transport._pool.aclose()
    # Each request after the first found its kept connection closed and was sent again on a
    # new one: nothing lost, nothing sent twice to the server.
    assert server.requests == [b'{"n": %d}' % i for i in range(4)]
    assert server.connections == 4


async def test_a_whole_session_uses_few_connections() -> None:
    server = Server("pool", "1.0")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    accepted = 0

    async with trio.open_nursery() as nursery:
        info = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status))
        # Count the connections through a counting proxy in front of the server.
        target_port = int(info.url.rsplit(":", 1)[1].split("/")[0])

        async def proxy(client_stream: trio.SocketStream) -> None:
            nonlocal accepted
            accepted += 1
            upstream = await trio.open_tcp_stream("127.0.0.1", target_port)

            async def pump(src: trio.abc.Stream, dst: trio.abc.Stream) -> None:
                try:
                    while data := await src.receive_some(65536):
                        await dst.send_all(data)
                    await dst.aclose()
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    await trio.aclose_forcefully(dst)

            async with trio.open_nursery() as pumps:
                pumps.start_soon(pump, client_stream, upstream)
                pumps.start_soon(pump, upstream, client_stream)

        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, proxy, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        url = f"http://127.0.0.1:{port}/mcp"
        async with Client("c", "1.0", mode="legacy").connect(
                StreamableHTTPTransport(url)) as session:
            for i in range(20):
                result = await session.call_tool("echo", {"text": str(i)})
                assert result.content[0].text == str(i)  # type: ignore[union-attr]
        nursery.cancel_scope.cancel()
    # initialize, initialized and 20 calls on a handful of kept connections, plus the
    # standalone GET stream, not one connection per request.
    assert accepted <= 4


# ---------------------------------------------------------------- server: SSE responses


async def _raw_post(port: int, body: dict[str, object], session_id: str | None
                    ) -> tuple[h11.Response, list[bytes]]:
    """POST with a bare h11 client; return the head and the body chunks as they came."""
    import json

    stream = await trio.open_tcp_stream("127.0.0.1", port)
    conn = h11.Connection(h11.CLIENT)
    payload = json.dumps(body).encode()
    headers = [("host", f"127.0.0.1:{port}"), ("content-type", "application/json"),
               ("accept", "application/json, text/event-stream"),
               ("content-length", str(len(payload)))]
    if session_id:
        headers += [("mcp-session-id", session_id), ("mcp-protocol-version", "2025-11-25")]
    await stream.send_all(conn.send(h11.Request(method="POST", target="/mcp", headers=headers))
                          + conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage()))
    head: h11.Response | None = None
    chunks: list[bytes] = []
    async with stream:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
    assert head is not None
    return head, chunks


async def test_sse_answers_quick_and_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    import trio_adapter.http

    server = Server("sse", "1.0")
    release = trio.Event()

    @server.tool()
    async def quick() -> str:
        return "fast"

    @server.tool()
    async def slow() -> str:
        await release.wait()
        return "slow"

    async with trio.open_nursery() as nursery:
        info = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status))
        port = int(info.url.rsplit(":", 1)[1].split("/")[0])
        head, _ = await _raw_post(port, {
            "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"}}}, None)
        sid = dict(head.headers)[b"mcp-session-id"].decode()
        await _raw_post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)

        head, chunks = await _raw_post(port, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                              "params": {"name": "quick"}}, sid)
        body = b"".join(chunks)
        assert head.status_code == 200
        assert body.index(b"retry:") < body.index(b'"fast"')  # priming event, then the answer

        async with trio.open_nursery() as calls:
            got: list[bytes] = []

            async def call_slow() -> None:
                _, chunks = await _raw_post(port, {
                    "jsonrpc": "2.0", "id": 3, "method": "tools/call",
                    "params": {"name": "slow"}}, sid)
                got.extend(chunks)

            # No waiting for a first event: the head and priming event go out alone at once.
            monkeypatch.setattr(trio_adapter.http, "COALESCE_WINDOW", 0)
            calls.start_soon(call_slow)
            await trio.testing.wait_all_tasks_blocked()
            release.set()  # the answer comes after the priming event went out
        body = b"".join(got)
        assert body.index(b"retry:") < body.index(b'"slow"')
        nursery.cancel_scope.cancel()


async def test_streams_ending_with_their_session_never_take_the_server_down(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A standalone stream whose session ends while events are queued ends cleanly, and a
    connection that hits a bug ends alone: the server keeps serving."""
    import trio_adapter.http

    server = Server("streams", "1.0")

    @server.tool()
    async def churn(n: int) -> str:
        for i in range(n):  # list_changed notifications for the standalone GET stream
            server.add_tool(lambda: "x", f"t{i}")
        return "ok"

    async with trio.open_nursery() as nursery:
        info = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status))
        for _ in range(5):
            transport = StreamableHTTPTransport(info.url)
            async with Client("c", "1.0", mode="legacy").connect(transport) as session:
                await session.call_tool("churn", {"n": 20})
            # leaving the block sent DELETE while the GET stream may still be writing

        original = trio_adapter.http._Conn._answer
        broken = True

        async def flaky(self: object, request: object) -> None:
            nonlocal broken
            if broken:
                broken = False
                raise RuntimeError("a bug in one connection")
            await original(self, request)  # type: ignore[arg-type]

        monkeypatch.setattr(trio_adapter.http._Conn, "_answer", flaky)
        port = int(info.url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises((trio.BrokenResourceError, h11.RemoteProtocolError, AssertionError)):
            await _raw_post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, None)
        async with Client("c", "1.0", mode="legacy").connect(
                StreamableHTTPTransport(info.url)) as session:
            assert (await session.call_tool("churn", {"n": 1})).content[0].text == "ok"  # type: ignore[union-attr]
        nursery.cancel_scope.cancel()


async def test_the_standalone_stream_is_open_before_the_first_request() -> None:
    """A server may send requests on the GET stream as soon as the session starts (and drop
    them while none is open): the client opens it before sending anything after the
    handshake. A scripted server records the order in which requests arrive."""
    import json

    seen: list[str] = []

    async def handle(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        async with stream:
            while True:
                got = await read_request(conn, stream)
                if got is None:
                    return
                head, body = got
                if head.method == b"GET":
                    await trio.sleep(0.05)  # a slow server: the stream opens 50 ms later
                    await stream.send_all(conn.send(h11.Response(status_code=200, headers=[
                        ("content-type", "text/event-stream")])) + conn.send(
                        h11.Data(data=b": open\n\n")))
                    seen.append("GET answered")
                    await trio.sleep_forever()  # the stream stays open
                if head.method == b"DELETE":
                    seen.append("DELETE")
                    await stream.send_all(conn.send(h11.Response(status_code=200, headers=[
                        ("content-length", "0")])) + conn.send(h11.EndOfMessage()))
                    conn.start_next_cycle()
                    continue
                msg = json.loads(body)
                seen.append(msg.get("method", "response"))
                if "id" not in msg:
                    out = conn.send(h11.Response(status_code=202, headers=[
                        ("content-length", "0"), ("mcp-session-id", "s1")]))
                else:
                    result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                              "serverInfo": {"name": "scripted", "version": "1"}} \
                        if msg["method"] == "initialize" else {"tools": []}
                    data = json.dumps({"jsonrpc": "2.0", "id": msg["id"],
                                       "result": result}).encode()
                    out = conn.send(h11.Response(status_code=200, headers=[
                        ("content-type", "application/json"), ("mcp-session-id", "s1"),
                        ("content-length", str(len(data)))])) + conn.send(h11.Data(data=data))
                await stream.send_all(out + conn.send(h11.EndOfMessage()))
                conn.start_next_cycle()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        transport = StreamableHTTPTransport(f"http://127.0.0.1:{port}/mcp")
        async with Client("c", "1.0", mode="legacy").connect(transport) as session:
            await session.list_tools()
        nursery.cancel_scope.cancel()
    assert seen[:4] == ["initialize", "notifications/initialized", "GET answered", "tools/list"]
