"""Streamable HTTP over loopback: serve_http and StreamableHTTPTransport, ours and the SDK's."""

from __future__ import annotations

import functools
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from adapter_support import read_request

from sansio import types as t
from trio_adapter import (
    Client,
    ConnectError,
    Context,
    MCPError,
    PeerDisconnected,
    RequestContext,
    Server,
)
from trio_adapter.http import (
    EndpointUnreachable,
    HTTPServerInfo,
    StreamableHTTPTransport,
    serve_http,
)

ROOT = Path(__file__).resolve().parents[2]
SDK_SERVER = ROOT / "tests" / "interop" / "sdk_server.py"


def build_server() -> Server:
    server = Server("http-test", "1.0")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    @server.tool()
    async def steps(n: int, ctx: Context) -> str:
        for i in range(1, n + 1):
            await ctx.report_progress(i, n)
            await ctx.log("info", f"step {i}")
        return "stepped"

    @server.tool()
    async def ask(question: str, ctx: Context) -> str:
        reply = await ctx.sample([t.SamplingMessage(role="user",
                                                    content=t.TextContent(text=question))],
                                 max_tokens=10)
        assert isinstance(reply.content, t.TextContent)
        return reply.content.text

    @server.resource("http://readme", mime_type="text/plain")
    async def readme() -> str:
        return "over http"

    return server


@asynccontextmanager
async def serving(server: Server, **kwargs: Any) -> AsyncIterator[HTTPServerInfo]:
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status, **kwargs))
        yield info
        nursery.cancel_scope.cancel()


async def sampler(ctx: RequestContext, params: t.CreateMessageRequestParams
                  ) -> t.CreateMessageResult:
    question = params.messages[0].content
    assert isinstance(question, t.TextContent)
    return t.CreateMessageResult(role="assistant", model="m",
                                 content=t.TextContent(text=question.text.upper()))


@pytest.mark.parametrize("json_response", [False, True])
async def test_our_client_and_server_over_http(json_response: bool) -> None:
    server = build_server()
    logs: list[Any] = []
    notes: list[str] = []

    async def on_log(params: t.LoggingMessageNotificationParams) -> None:
        logs.append(params.data)

    list_changed = trio.Event()

    async def on_note(session: Any, method: str, params: Any) -> None:
        notes.append(method)
        if method == "notifications/tools/list_changed":
            list_changed.set()

    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with serving(server, json_response=json_response) as info:
        transport = StreamableHTTPTransport(info.url)
        client = Client("c", "1", mode="legacy", sampling_handler=sampler, logging_handler=on_log,
                        notification_handler=on_note)
        async with client.connect(transport) as session:
            assert transport.session_id and transport.protocol_version == "2025-11-25"
            assert (await session.call_tool("echo", {"text": "hi"})).content[0].text == "hi"  # type: ignore[union-attr]
            result = await session.call_tool("steps", {"n": 3}, on_progress=on_progress)
            assert result.content[0].text == "stepped"  # type: ignore[union-attr]
            answer = await session.call_tool("ask", {"question": "why"})
            read = await session.read_resource("http://readme")
            assert read.contents[0].text == "over http"  # type: ignore[union-attr]
            [server_session] = server.sessions
            # A list change reaches us on the standalone GET stream.
            server.add_tool(lambda: "new", "late_tool")
            with trio.fail_after(5):
                await list_changed.wait()
        # Closing sent DELETE: the server's session is gone.
        with trio.fail_after(5):
            await server_session.wait_closed()
        assert server.sessions == []
    # In JSON-response mode a handler's requests travel on the standalone GET stream.
    assert answer.content[0].text == "WHY"  # type: ignore[union-attr]
    if not json_response:
        assert progress == [1, 2, 3]
        assert logs == ["step 1", "step 2", "step 3"]


async def test_stateless_server() -> None:
    server = build_server()
    async with serving(server, stateless=True) as info:
        transport = StreamableHTTPTransport(info.url)
        async with Client("c", "1", mode="legacy").connect(transport) as session:
            assert transport.session_id is None
            tools = await session.list_all_tools()
            assert {x.name for x in tools} == {"echo", "steps", "ask"}
            assert (await session.call_tool("echo", {"text": "a"})).content[0].text == "a"  # type: ignore[union-attr]
            # No session: the server cannot ask this client anything.
            assert (await session.call_tool("ask", {"question": "q"})).is_error
        assert server.sessions == []


async def test_terminated_session_is_a_clear_error() -> None:
    server = build_server()
    async with serving(server) as info:
        transport = StreamableHTTPTransport(info.url)
        async with Client("c", "1", mode="legacy").connect(transport) as session:
            await server.sessions[0].aclose()
            with pytest.raises(PeerDisconnected, match="404"):
                await session.call_tool("echo", {"text": "x"})


async def test_opt_in_transparent_reinitialize_after_404() -> None:
    server = build_server()
    async with serving(server) as info:
        transport = StreamableHTTPTransport(info.url, reinitialize=True)
        async with Client("c", "1", mode="legacy").connect(transport) as session:
            first_id = transport.session_id
            [old] = server.sessions
            await old.aclose()
            result = await session.call_tool("echo", {"text": "again"})
            assert result.content[0].text == "again"  # type: ignore[union-attr]
            assert transport.reinitialized == 1 and transport.session_id != first_id
            [new] = server.sessions
            assert new is not old and new.initialized


async def test_idle_sessions_expire() -> None:
    server = build_server()
    async with serving(server, idle_session_timeout=0.2) as info:
        transport = StreamableHTTPTransport(info.url)
        async with Client("c", "1", mode="legacy").connect(transport) as session:
            [server_session] = server.sessions
            with trio.fail_after(5):
                await server_session.wait_closed()
            with pytest.raises(PeerDisconnected):
                await session.ping()


async def test_a_slow_client_cannot_hold_a_connection() -> None:
    async with serving(build_server(), request_timeout=0.2) as info:
        stream = await trio.open_tcp_stream("127.0.0.1", info.port)
        await stream.send_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes
        with trio.fail_after(5):
            data = await stream.receive_some(65536)
            while data and b"\r\n\r\n" not in data:
                data += await stream.receive_some(65536)
        assert data.startswith(b"HTTP/1.1 408 ")
        await stream.aclose()


async def test_many_concurrent_sessions() -> None:
    server = build_server()
    async with serving(server) as info:
        async def one(i: int) -> None:
            client = Client(f"c{i}", "1", mode="legacy")
            async with client.connect(StreamableHTTPTransport(info.url)) as s:
                for _ in range(5):
                    assert (await s.call_tool("echo", {"text": str(i)})).content[0].text \
                        == str(i)  # type: ignore[union-attr]

        async with trio.open_nursery() as nursery:
            for i in range(8):
                nursery.start_soon(one, i)


# ---------------------------------------------------------------- interop with the SDK


mcp = pytest.importorskip("mcp")


@pytest.mark.interop
@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
@pytest.mark.parametrize("stateless", [False, True])
async def test_sdk_client_against_our_http_server(stateless: bool) -> None:
    server = build_server()
    async with serving(server, stateless=stateless) as info:
        async with mcp.Client(info.url, mode="legacy") as client:
            tools = await client.list_tools()
            assert {tool.name for tool in tools.tools} == {"echo", "steps", "ask"}
            echoed = await client.call_tool("echo", {"text": "sdk over http"})
            assert echoed.content[0].text == "sdk over http"
            seen: list[float] = []

            async def on_progress(done: float, total: float | None, msg: str | None) -> None:
                seen.append(done)

            stepped = await client.call_tool("steps", {"n": 2}, progress_callback=on_progress)
            assert stepped.content[0].text == "stepped"
            read = await client.read_resource("http://readme")
            assert read.contents[0].text == "over http"
        if not stateless:
            assert seen == [1, 2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.interop
async def test_our_client_against_an_sdk_http_server() -> None:
    port = free_port()
    proc = await trio.lowlevel.open_process(
        [sys.executable, str(SDK_SERVER), "--http", str(port)], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        with trio.fail_after(15):
            while True:
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", port)
                    await stream.aclose()
                    break
                except OSError:  # the child is still starting: nothing to wait on but time
                    await trio.sleep(0.05)
        async with Client("c", "1", mode="legacy").connect(StreamableHTTPTransport(url)) as session:
            assert session.server_info.name == "sdk-interop-server"
            tools = {x.name for x in await session.list_all_tools()}
            assert {"echo", "add"} <= tools
            added = await session.call_tool("add", {"a": 1, "b": 2})
            assert added.content[0].text == "3"  # type: ignore[union-attr]
            with pytest.raises(MCPError):
                await session.read_resource("demo://nothing")
            with trio.move_on_after(0.3):
                await session.call_tool("wait_forever")
            assert (await session.call_tool("echo", {"text": "ok"})).content[0].text == "ok"  # type: ignore[union-attr]
    finally:
        proc.terminate()
        with trio.move_on_after(10):
            await proc.wait()
        proc.kill()


# ---------------------------------------------------------------- TLS and reconnection


async def test_tls_both_ways() -> None:
    import ssl

    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    server = build_server()
    async with serving(server, ssl_context=server_ctx) as info:
        assert info.url.startswith("https://127.0.0.1:")
        transport = StreamableHTTPTransport(info.url, ssl_context=client_ctx)
        async with Client("c", "1", mode="legacy").connect(transport) as session:
            result = await session.call_tool("echo", {"text": "over tls"})
            assert result.content[0].text == "over tls"  # type: ignore[union-attr]
        # A client that does not trust the certificate cannot connect.
        with pytest.raises(ConnectError) as failed:
            async with Client("c", "1", mode="legacy").connect(StreamableHTTPTransport(info.url)):
                pass  # pragma: no cover
        assert str(failed.value).startswith(
            f"cannot connect to {info.url}: TLS certificate verification failed: ")
        assert isinstance(failed.value.__cause__, EndpointUnreachable)
        assert isinstance(failed.value.__cause__.__cause__, trio.BrokenResourceError)
        assert isinstance(failed.value.__cause__.__cause__.__cause__,
                          ssl.SSLCertVerificationError)


class DroppingServer:
    """A scripted HTTP server: the tools/call SSE stream is dropped after its priming event
    (with ``retry: 200``); the answer is only given on the GET that resumes it."""

    def __init__(self) -> None:
        self.gets: list[tuple[float, str | None]] = []
        self.dropped_at = 0.0

    async def handle(self, stream: trio.abc.Stream) -> None:
        import json as _json

        import h11

        conn = h11.Connection(h11.SERVER)
        got = await read_request(conn, stream)
        if got is None:
            return
        request, body = got
        headers = {k.decode(): v.decode() for k, v in request.headers}
        sse = [("content-type", "text/event-stream"), ("mcp-session-id", "s1")]
        if request.method == b"GET":
            self.gets.append((trio.current_time(), headers.get("last-event-id")))
            if headers.get("last-event-id") == "call/0":
                answer = {"jsonrpc": "2.0", "id": 2, "result": {"content": [
                    {"type": "text", "text": "resumed"}]}}
                out = conn.send(h11.Response(status_code=200, headers=sse))
                out += conn.send(h11.Data(data=b"id: call/1\ndata: " +
                                          _json.dumps(answer).encode() + b"\n\n"))
                out += conn.send(h11.EndOfMessage())
                await stream.send_all(out)
            else:
                await stream.send_all(conn.send(h11.Response(status_code=405, headers=[
                    ("content-length", "0")])) + conn.send(h11.EndOfMessage()))
            await stream.aclose()
            return
        if request.method == b"DELETE":
            await stream.send_all(conn.send(h11.Response(status_code=200, headers=[
                ("content-length", "0")])) + conn.send(h11.EndOfMessage()))
            await stream.aclose()
            return
        msg = _json.loads(body)
        if msg.get("method") == "initialize":
            reply = _json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {
                "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                "serverInfo": {"name": "dropper", "version": "1"}}}).encode()
            out = conn.send(h11.Response(status_code=200, headers=[
                ("content-type", "application/json"), ("mcp-session-id", "s1"),
                ("content-length", str(len(reply)))]))
            out += conn.send(h11.Data(data=reply)) + conn.send(h11.EndOfMessage())
        elif "id" not in msg:
            out = conn.send(h11.Response(status_code=202, headers=[("content-length", "0")]))
            out += conn.send(h11.EndOfMessage())
        else:  # tools/call: priming event with retry, then the connection drops
            out = conn.send(h11.Response(status_code=200, headers=sse))
            out += conn.send(h11.Data(data=b"id: call/0\nretry: 200\ndata:\n\n"))
            self.dropped_at = trio.current_time()
        await stream.send_all(out)
        await stream.aclose()


async def test_client_resumes_a_dropped_stream_after_retry() -> None:
    fake = DroppingServer()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, fake.handle, 0,
                                                          host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        url = f"http://127.0.0.1:{port}/mcp"
        async with Client("c", "1", mode="legacy").connect(StreamableHTTPTransport(url)) as session:
            result = await session.call_tool("anything")
            assert result.content[0].text == "resumed"  # type: ignore[union-attr]
        resumed = [(at, last) for at, last in fake.gets if last == "call/0"]
        assert len(resumed) == 1
        assert resumed[0][0] - fake.dropped_at >= 0.2 - 0.01  # waited the server's retry
        nursery.cancel_scope.cancel()


async def test_a_resumed_stream_that_carried_its_answer_is_not_resumed_again() -> None:
    """The resumed stream gives the answer (event ``call/1``) and the connection ends: the
    stream has done its job (decided by the parsed message), so no GET asks for what follows
    ``call/1``; the only GETs are the standalone one (refused, 405) and the one resumption."""
    fake = DroppingServer()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, fake.handle, 0,
                                                          host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        transport = StreamableHTTPTransport(f"http://127.0.0.1:{port}/mcp")
        with trio.fail_after(10):
            async with Client("c", "1", mode="legacy").connect(transport) as session:
                result = await session.call_tool("anything")
                assert result.content[0].text == "resumed"  # type: ignore[union-attr]
                await trio.testing.wait_all_tasks_blocked()
                assert transport.client.streams == ()  # nothing left to resume
        assert [last for _, last in fake.gets] == [None, "call/0"]
        assert transport.client.standalone_open is False
        nursery.cancel_scope.cancel()


async def test_serve_http_leaves_nothing_behind_when_cancelled() -> None:
    from adapter_support import assert_no_leaks

    server = build_server()
    async with assert_no_leaks():
        async with serving(server) as info:
            async with Client("c", "1", mode="legacy").connect(
                    StreamableHTTPTransport(info.url)) as session:
                await session.call_tool("echo", {"text": "x"})
            # One session left open by a client that vanished without DELETE:
            body = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
                    b'{"protocolVersion":"2025-11-25","capabilities":{},'
                    b'"clientInfo":{"name":"x","version":"1"}}}')
            raw = await trio.open_tcp_stream("127.0.0.1", info.port)
            await raw.send_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               b"Content-Type: application/json\r\n"
                               b"Accept: application/json, text/event-stream\r\n"
                               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            assert b"200 OK" in await raw.receive_some(65536)
            await raw.aclose()
        assert server.sessions == []


async def test_a_client_vanishing_mid_stream_does_not_hurt_the_server() -> None:
    server = build_server()
    release = trio.Event()

    @server.tool()
    async def slow() -> str:
        await release.wait()
        return "late"

    async with serving(server) as info:
        async with Client("c", "1", mode="legacy").connect(
                StreamableHTTPTransport(info.url)) as good:
            async with Client("v", "1", mode="legacy").connect(
                    StreamableHTTPTransport(info.url)) as bad:
                with trio.move_on_after(0.2):  # the caller gives up; its stream is dropped
                    await bad.call_tool("slow")
            release.set()
            assert (await good.call_tool("echo", {"text": "fine"})).content[0].text == "fine"  # type: ignore[union-attr]
