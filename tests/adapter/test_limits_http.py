"""Server-side HTTP limits of issue 14 over loopback: live sessions (503 + Retry-After),
the short expiry of a session never used after ``initialize``, connections in all and per
client, and answers that leave the event store once they were read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from sansio.http import InMemoryEventStore
from trio_adapter import Client, Context, Server
from trio_adapter.http import HTTPServerInfo, StreamableHTTPTransport, serve_http

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "raw", "version": "1"}}}


def build_server() -> Server:
    server = Server("limits-http", "1")

    @server.tool()
    async def big(size: int) -> str:
        return "x" * size

    return server


@asynccontextmanager
async def serving(server: Server, **kwargs: Any) -> AsyncIterator[HTTPServerInfo]:
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status, **kwargs))
        yield info
        nursery.cancel_scope.cancel()


async def head_of(stream: trio.SocketStream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
    return data


async def initialize_on(port: int) -> tuple[trio.SocketStream, bytes]:
    """A connection that POSTed ``initialize`` and read its answer's head (so the server has
    accepted and counted it); it stays open."""
    body = json.dumps(INIT).encode()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"accept: application/json, text/event-stream\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return stream, await head_of(stream)


async def post_initialize(port: int) -> bytes:
    stream, head = await initialize_on(port)
    await stream.aclose()
    return head


async def test_sessions_over_the_cap_get_503_with_retry_after() -> None:
    server = build_server()
    async with serving(server, max_sessions=2) as info:
        for _ in range(2):
            assert (await post_initialize(info.port)).startswith(b"HTTP/1.1 200 ")
        refused = await post_initialize(info.port)
        assert refused.startswith(b"HTTP/1.1 503 ") and b"retry-after: " in refused.lower()


async def test_a_session_never_used_after_initialize_expires_first() -> None:
    server = build_server()
    async with serving(server, unused_session_timeout=0.3, idle_session_timeout=3600) as info:
        used = Client("used", "1", mode="legacy")
        async with used.connect(StreamableHTTPTransport(info.url)) as session:
            await session.call_tool("big", {"size": 1})
            [used_side] = server.sessions
            assert (await post_initialize(info.port)).startswith(b"HTTP/1.1 200 ")
            unused_side = next(s for s in server.sessions if s is not used_side)
            with trio.fail_after(5):
                await unused_side.wait_closed()
            assert not used_side.closed
            await session.call_tool("big", {"size": 1})


async def test_connections_over_the_per_client_cap_get_503_and_are_closed() -> None:
    async with serving(build_server(), max_connections_per_client=2) as info:
        held = [(await initialize_on(info.port))[0] for _ in range(2)]
        extra = await trio.open_tcp_stream("127.0.0.1", info.port)
        head = await head_of(extra)
        assert head.startswith(b"HTTP/1.1 503 ") and b"connection: close" in head.lower()
        await extra.aclose()
        for stream in held:
            await stream.aclose()


async def test_connections_over_the_total_cap_get_503() -> None:
    async with serving(build_server(), max_connections=1) as info:
        held, _ = await initialize_on(info.port)
        extra = await trio.open_tcp_stream("127.0.0.1", info.port)
        assert (await head_of(extra)).startswith(b"HTTP/1.1 503 ")
        await extra.aclose()
        await held.aclose()


async def test_answers_read_whole_leave_the_event_store() -> None:
    store = InMemoryEventStore()
    async with serving(build_server(), event_store=store) as info:
        client = Client("c", "1", mode="legacy")
        async with client.connect(StreamableHTTPTransport(info.url)) as session:
            for _ in range(20):
                result = await session.call_tool("big", {"size": 1 << 20})
                assert len(result.content[0].text) == 1 << 20  # type: ignore[union-attr]
            assert store.size < 64 * 1024


async def test_a_stream_buffer_is_bounded_by_bytes_and_count() -> None:
    from sansio.http import StreamEvent
    from trio_adapter._http_server import _StreamBuffer

    buffer = _StreamBuffer(max_events=3, max_bytes=1000)
    buffer.send_nowait(StreamEvent("1", b"x" * 2000))  # alone, one event always fits
    with pytest.raises(trio.WouldBlock):
        buffer.send_nowait(StreamEvent("1", b"y"))
    assert buffer.receive_nowait().data == b"x" * 2000
    for _ in range(3):
        buffer.send_nowait(StreamEvent("1", b"z" * 10))
    with pytest.raises(trio.WouldBlock):
        buffer.send_nowait(StreamEvent("1", b"z"))  # the count bound
    assert buffer.buffered == 30
    async with trio.open_nursery() as nursery:
        nursery.start_soon(buffer.send, StreamEvent("1", b"w"))
        await trio.testing.wait_all_tasks_blocked()
        assert buffer.buffered == 30  # waits for room
        buffer.receive_nowait()
    assert buffer.buffered == 21
    buffer.close()
    assert [await buffer.receive() for _ in range(3)][-1].data == b"w"
    with pytest.raises(trio.EndOfChannel):
        await buffer.receive()
    with pytest.raises(trio.ClosedResourceError):
        buffer.send_nowait(StreamEvent("1", b"v"))


async def test_a_client_that_does_not_read_its_progress_stream_is_cut_off() -> None:
    """20,000 progress notifications of 1 KiB to a client that never reads: the stream is
    ended after ``request_timeout`` and the handler finishes (nothing is served from
    memory forever)."""
    server = build_server()
    finished = trio.Event()

    @server.tool()
    async def spam(ctx: Context) -> str:
        for i in range(20_000):
            await ctx.report_progress(i, 20_000, "p" * 1024)
        finished.set()
        return "done"

    async with serving(server, request_timeout=0.5) as info:
        stream, head = await initialize_on(info.port)
        sid = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"mcp-session-id:"))
        await stream.aclose()
        note = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()
        stream = await trio.open_tcp_stream("127.0.0.1", info.port)
        await stream.send_all(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"accept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-06-18"
            b"\r\nmcp-session-id: " + sid + b"\r\ncontent-length: " + str(len(note)).encode()
            + b"\r\n\r\n" + note)
        assert (await head_of(stream)).startswith(b"HTTP/1.1 202 ")
        await stream.aclose()
        body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "spam", "arguments": {}, "_meta": {"progressToken": "t"}}}).encode()
        quiet = await trio.open_tcp_stream("127.0.0.1", info.port)
        await quiet.send_all(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"accept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-06-18"
            b"\r\nmcp-session-id: " + sid + b"\r\ncontent-length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body)
        with trio.fail_after(20):
            await finished.wait()
        await quiet.aclose()


async def test_a_session_listening_on_its_get_stream_is_not_expired_as_unused() -> None:
    """A handshake-era client that only listens (its standalone GET stream open, no request
    yet) is using its session: only sessions with nothing open expire as unused."""
    server = build_server()
    async with serving(server, unused_session_timeout=0.3, idle_session_timeout=3600) as info:
        stream, head = await initialize_on(info.port)
        sid = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"mcp-session-id:"))
        await stream.aclose()
        [listening] = server.sessions
        get = await trio.open_tcp_stream("127.0.0.1", info.port)
        await get.send_all(b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"accept: text/event-stream\r\nmcp-session-id: " + sid +
                           b"\r\nmcp-protocol-version: 2025-06-18\r\n\r\n")
        assert (await head_of(get)).startswith(b"HTTP/1.1 200 ")
        assert (await post_initialize(info.port)).startswith(b"HTTP/1.1 200 ")
        unused = next(s for s in server.sessions if s is not listening)
        with trio.fail_after(5):
            await unused.wait_closed()  # the housekeeping ran past the limit of both
        assert not listening.closed
        await get.aclose()
