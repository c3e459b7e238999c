"""Issue 14, section 2: the HTTP client never hangs on a server that stops answering, and an
HTTP error answering one request fails that request only; section 3: the client caps its
connections.

A scripted HTTP/1.1 server (h11 on a loopback socket) plays the misbehaving endpoint, so each
test chooses exactly where it goes silent, refuses or closes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import h11
import pytest
import trio
from adapter_support import read_request

from trio_adapter import Client, ConnectError, MCPError, Server
from trio_adapter.http import StreamableHTTPTransport, serve_http

Answer = Callable[[h11.Request, dict[str, Any] | None, trio.SocketStream, h11.Connection],
                  Awaitable[bool]]


def _json_answer(conn: h11.Connection, body: bytes, status: int = 200,
                 extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    head = h11.Response(status_code=status, headers=[
        ("content-type", "application/json"), ("content-length", str(len(body))), *extra])
    return conn.send(head) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())


def _result(rid: Any, result: dict[str, Any]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}).encode()


INIT = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
        "serverInfo": {"name": "scripted", "version": "1"}}


class MCPScript:
    """A handshake-era MCP endpoint: answers ``initialize`` (session ``s1``), 202 to
    notifications, 405 to the standalone GET, ``tools/call`` ``ok`` with JSON; ``on_call``
    (when set) takes over a ``tools/call`` or a resuming GET and returns whether the
    connection may go on."""

    def __init__(self, on_call: Answer | None = None) -> None:
        self.on_call = on_call
        self.calls = 0

    async def handle(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 20)
        async with stream:
            while True:
                try:
                    got = await read_request(conn, stream)
                except (trio.BrokenResourceError, h11.ProtocolError):
                    return
                if got is None:
                    return
                head, body = got
                msg = json.loads(body) if body else None
                if not await self.answer(head, msg, stream, conn):
                    return
                if conn.our_state is not h11.DONE:
                    return
                conn.start_next_cycle()

    async def answer(self, head: h11.Request, msg: dict[str, Any] | None,
                     stream: trio.SocketStream, conn: h11.Connection) -> bool:
        if head.method == b"GET" and not any(k == b"last-event-id" for k, _ in head.headers):
            await stream.send_all(conn.send(h11.Response(
                status_code=405, headers=[("content-length", "0")])) +
                conn.send(h11.EndOfMessage()))
            return True
        if head.method == b"DELETE":
            await stream.send_all(_json_answer(conn, b"", 200))
            return True
        if msg is not None and msg.get("method") == "initialize":
            await stream.send_all(_json_answer(conn, _result(msg["id"], INIT),
                                               extra=(("mcp-session-id", "s1"),)))
            return True
        if msg is not None and ("id" not in msg or "method" not in msg):
            await stream.send_all(conn.send(h11.Response(
                status_code=202, headers=[("content-length", "0")])) +
                conn.send(h11.EndOfMessage()))
            return True
        if self.on_call is not None:
            self.calls += 1
            return await self.on_call(head, msg, stream, conn)
        assert msg is not None
        await stream.send_all(_json_answer(conn, _result(msg["id"], {
            "content": [{"type": "text", "text": "ok"}]})))
        return True


@asynccontextmanager
async def scripted(handler: Callable[[trio.SocketStream], Awaitable[None]]
                   ) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield f"http://127.0.0.1:{port}/mcp"
        nursery.cancel_scope.cancel()


def legacy(**kwargs: Any) -> Client:
    return Client("t", "1", mode="legacy", **kwargs)


# ---------------------------------------------------------------- a server that goes silent


async def test_a_server_that_accepts_and_never_answers_fails_connect_in_time() -> None:
    async def silent(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    async with scripted(silent) as url:
        with trio.fail_after(10):
            with pytest.raises(ConnectError, match="within 1 s"):
                async with legacy().connect(StreamableHTTPTransport(url, head_timeout=1)):
                    pass


async def test_a_stalled_initialize_body_is_bounded_by_the_clients_connect_timeout() -> None:
    async def head_only(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        await read_request(conn, stream)
        await stream.send_all(conn.send(h11.Response(status_code=200, headers=[
            ("content-type", "application/json"), ("content-length", "100")])))
        await trio.sleep_forever()

    async with scripted(head_only) as url:
        with trio.fail_after(10):
            with pytest.raises(ConnectError, match=r"within 0\.5 s \(connect_timeout\)"):
                async with legacy(connect_timeout=0.5).connect(StreamableHTTPTransport(url)):
                    pass


async def test_a_stalled_json_answer_fails_its_call_after_read_timeout() -> None:
    async def stall(head: Any, msg: Any, stream: trio.SocketStream,
                    conn: h11.Connection) -> bool:
        await stream.send_all(conn.send(h11.Response(status_code=200, headers=[
            ("content-type", "application/json"), ("content-length", "100")])))
        await trio.sleep_forever()
        return False  # pragma: no cover

    script = MCPScript(stall)
    async with scripted(script.handle) as url:
        async with legacy().connect(StreamableHTTPTransport(url, read_timeout=0.3)) as s:
            with trio.fail_after(5), pytest.raises(MCPError, match="broke off: no more"):
                await s.call_tool("x", {})


async def test_a_notification_post_that_gets_no_head_fails_within_head_timeout() -> None:
    async def mute_notes(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            got = await read_request(conn, stream)
            if got is None:
                return
            msg = json.loads(got[1])
            if msg.get("method") == "initialize":
                await stream.send_all(_json_answer(conn, _result(msg["id"], INIT)))
                conn.start_next_cycle()
                continue
            await trio.sleep_forever()  # notifications/initialized: no answer, ever

    async with scripted(mute_notes) as url:
        with trio.fail_after(10), pytest.raises(ConnectError):
            async with legacy().connect(StreamableHTTPTransport(url, head_timeout=0.5)) as s:
                await s.list_tools()


# ---------------------------------------------------------------- streams that cannot resume


def _sse_head(conn: h11.Connection) -> bytes:
    return conn.send(h11.Response(status_code=200, headers=[
        ("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]))


async def _progress_then_close(stream: trio.SocketStream, conn: h11.Connection,
                               n: int) -> None:
    """An SSE answer with one event (an id, retry 10 ms) and then the connection closes
    before the response."""
    note = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                       "params": {"level": "info", "data": n}})
    await stream.send_all(_sse_head(conn) + conn.send(h11.Data(
        data=f"id: e{n}\nretry: 10\ndata: {note}\n\n".encode())))


async def test_a_dropped_stream_whose_resume_is_refused_fails_the_call() -> None:
    script = MCPScript()

    async def on_call(head: h11.Request, msg: Any, stream: trio.SocketStream,
                      conn: h11.Connection) -> bool:
        if head.method == b"GET":  # the resume
            await stream.send_all(_json_answer(conn, b'{"error": "no"}', 400))
            script.on_call = None  # the next call is answered
            return True
        await _progress_then_close(stream, conn, 1)
        return False

    script.on_call = on_call
    async with scripted(script.handle) as url:
        async with legacy().connect(StreamableHTTPTransport(url)) as s:
            with trio.fail_after(5), pytest.raises(MCPError, match=r"refused \(HTTP 400\)"):
                await s.call_tool("x", {})
            assert (await s.call_tool("y", {})).content  # the session goes on


async def test_a_stream_that_drops_on_every_resume_fails_the_call_after_the_retries() -> None:
    script = MCPScript()

    async def on_call(head: h11.Request, msg: Any, stream: trio.SocketStream,
                      conn: h11.Connection) -> bool:
        if head.method == b"POST":
            await _progress_then_close(stream, conn, script.calls)
        else:  # each resume is accepted, then drops before any event
            await stream.send_all(_sse_head(conn))
        return False

    script.on_call = on_call
    async with scripted(script.handle) as url:
        transport = StreamableHTTPTransport(url, max_reconnects=3)
        async with legacy().connect(transport) as s:
            with trio.fail_after(5), pytest.raises(MCPError, match="3 attempts to resume"):
                await s.call_tool("x", {})
            assert transport.client.streams == ()


# ---------------------------------------------------------------- an HTTP error, one request


async def test_413_and_close_fails_that_call_only() -> None:
    async def handle(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        script = MCPScript()
        async with stream:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    try:
                        data = await stream.receive_some(65536)
                    except trio.BrokenResourceError:
                        return
                    if not data:
                        return
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request) and \
                        int(dict(event.headers).get(b"content-length", b"0")) > 1 << 20:
                    await stream.send_all(conn.send(h11.Response(status_code=413, headers=[
                        ("content-type", "text/plain"), ("content-length", "14"),
                        ("connection", "close")])) + conn.send(h11.Data(
                            data=b"body too large")) + conn.send(h11.EndOfMessage()))
                    return  # and close, the body unread
                if isinstance(event, h11.Request):
                    body = b""
                    while True:
                        nxt = conn.next_event()
                        if nxt is h11.NEED_DATA:
                            conn.receive_data(await stream.receive_some(65536))
                        elif isinstance(nxt, h11.Data):
                            body += nxt.data
                        else:
                            break
                    await script.answer(event, json.loads(body) if body else None,
                                        stream, conn)
                    conn.start_next_cycle()
                    continue
                return

    async with scripted(handle) as url:
        async with legacy().connect(StreamableHTTPTransport(url)) as s:
            with trio.fail_after(10), pytest.raises(MCPError, match="HTTP 413"):
                await s.call_tool("echo", {"text": "x" * (5 << 20)})
            for _ in range(3):
                assert (await s.call_tool("echo", {"text": "small"})).content


# ---------------------------------------------------------------- a cap on connections


def gated_server(name: str) -> tuple[Server, trio.Event]:
    """A server whose one tool, ``wait``, answers "done" once the event is set."""
    server = Server(name, "1")
    gate = trio.Event()

    @server.tool()
    async def wait() -> str:
        """Wait for the gate."""
        await gate.wait()
        return "done"

    return server, gate


async def test_concurrent_calls_share_at_most_max_connections() -> None:
    server, gate = gated_server("pool")
    async with trio.open_nursery() as nursery:
        info = await nursery.start(lambda task_status: serve_http(
            server, json_response=True, task_status=task_status))
        transport = StreamableHTTPTransport(info.url, max_connections=4)
        async with legacy().connect(transport) as s:
            results: list[str] = []

            async def call() -> None:
                result = await s.call_tool("wait", {})
                results.append(result.content[0].text)  # type: ignore[union-attr]

            async with trio.open_nursery() as calls:
                for _ in range(20):
                    calls.start_soon(call)
                await trio.sleep(0.3)  # let them all reach the server or the queue
                assert transport._pool.open_connections <= 4
                gate.set()
            assert results == ["done"] * 20
            assert transport._pool.peak <= 5  # the cap, and one answered-at-once POST past it
        nursery.cancel_scope.cancel()


def test_max_connections_must_leave_room_for_the_standalone_stream() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        StreamableHTTPTransport("http://127.0.0.1:9/mcp", max_connections=1)


async def test_a_call_queued_for_a_connection_waits_as_long_as_its_answer_may() -> None:
    """A call beyond ``max_connections`` queues for a free connection for as long as its
    answer's head may take (``answer_timeout``), not only ``connect_timeout``: calls queued
    behind slower ones are served, never failed for having queued."""
    server, gate = gated_server("queue")
    async with trio.open_nursery() as nursery:
        info = await nursery.start(lambda task_status: serve_http(
            server, json_response=True, task_status=task_status))
        transport = StreamableHTTPTransport(info.url, max_connections=2, connect_timeout=0.2,
                                            answer_timeout=10)
        async with legacy().connect(transport) as s:
            results: list[str] = []

            async def call() -> None:
                result = await s.call_tool("wait", {})
                results.append(result.content[0].text)  # type: ignore[union-attr]

            with trio.fail_after(10):
                async with trio.open_nursery() as calls:
                    for _ in range(3):
                        calls.start_soon(call)
                    await trio.sleep(0.5)  # past connect_timeout: two calls are queued
                    gate.set()
            assert results == ["done"] * 3
        nursery.cancel_scope.cancel()
