"""serve_http and 2026-07-28 requests: each is served in a one-request session (no handshake, no
Mcp-Session-Id), header mismatches are refused before the engine, and the client closing the
answer's connection cancels the request. A dual-era server keeps serving legacy clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import h11
import trio
import trio.testing

from sansio.sse import SSEDecoder
from sansio.versions import META_PROTOCOL_VERSION, SUPPORTED_VERSIONS
from tests.adapter.test_http_serving_modern_streams import answer_messages
from trio_adapter import Client, Server
from trio_adapter.http import HTTPServerInfo, StreamableHTTPTransport, serve_http

V = "2026-07-28"
META = {META_PROTOCOL_VERSION: V, "io.modelcontextprotocol/clientInfo": {"name": "c",
                                                                         "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}}


@asynccontextmanager
async def serving(server: Server) -> AsyncIterator[HTTPServerInfo]:
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status))
        yield info
        nursery.cancel_scope.cancel()


class Exchange:
    """One POST over a fresh connection, read with h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)
        self.response: h11.Response | None = None
        self.body = b""

    @classmethod
    async def post(cls, port: int, message: dict[str, Any], headers: dict[str, str]
                   ) -> Exchange:
        self = cls(await trio.open_tcp_stream("127.0.0.1", port))
        data = json.dumps(message).encode()
        hdrs = [("host", f"127.0.0.1:{port}"), ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("content-length", str(len(data))), *headers.items()]
        await self.stream.send_all(
            (self.h11.send(h11.Request(method="POST", target="/mcp", headers=hdrs)) or b"")
            + (self.h11.send(h11.Data(data=data)) or b"")
            + (self.h11.send(h11.EndOfMessage()) or b""))
        return self

    async def head(self) -> h11.Response:
        while self.response is None:
            await self._next()
        return self.response

    async def whole(self) -> tuple[int, dict[str, str], bytes]:
        while not await self._next():
            pass
        await self.stream.aclose()
        assert self.response is not None
        headers = {k.decode(): v.decode() for k, v in self.response.headers}
        return self.response.status_code, headers, self.body

    async def _next(self) -> bool:
        event = self.h11.next_event()
        if event is h11.NEED_DATA:
            self.h11.receive_data(await self.stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            self.response = event
        elif isinstance(event, h11.Data):
            self.body += bytes(event.data)
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return True
        return False


def modern(method: str, params: dict[str, Any], rid: Any = 1) -> tuple[dict[str, Any],
                                                                       dict[str, str]]:
    headers = {"mcp-protocol-version": V, "mcp-method": method}
    if method == "tools/call":
        headers["mcp-name"] = params["name"]
    return ({"jsonrpc": "2.0", "id": rid, "method": method, "params": {**params, "_meta": META}},
            headers)


def sse_messages(body: bytes) -> list[Any]:
    return [json.loads(e.data) for e in SSEDecoder().feed(body) if e.data]


def build_server(started: trio.Event, cancelled: trio.Event) -> Server:
    server = Server("modern", "1", supported_versions=SUPPORTED_VERSIONS)

    @server.tool()
    async def echo(text: str) -> str:
        return text

    @server.tool()
    async def hang(text: str) -> str:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()
        return text  # pragma: no cover

    @server.tool(input_schema={"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"}, "query": {"type": "string"}}})
    async def sql(region: str, query: str) -> str:
        return f"{region}: {query}"

    return server


async def test_mcp_param_headers_are_checked_against_the_servers_tools() -> None:
    server = build_server(trio.Event(), trio.Event())
    async with serving(server) as info:
        message, headers = modern("tools/call", {"name": "sql", "arguments": {
            "region": "us-west1", "query": "q"}}, 3)
        status, _, body = await (await Exchange.post(info.port, message, headers)).whole()
        assert status == 400
        answer = json.loads(body)
        assert answer["id"] == 3 and answer["error"]["code"] == -32020
        assert "Mcp-Param-Region" in answer["error"]["message"]
        headers["Mcp-Param-Region"] = "us-west1"
        status, got, body = await (await Exchange.post(info.port, message, headers)).whole()
        assert status == 200
        [answer] = answer_messages(got, body)
        assert answer["result"]["content"] == [{"type": "text", "text": "us-west1: q"}]


async def test_a_modern_tools_call_is_answered_without_a_session() -> None:
    server = build_server(trio.Event(), trio.Event())
    async with serving(server) as info:
        message, headers = modern("tools/call", {"name": "echo", "arguments": {"text": "hi"}}, 7)
        status, got, body = await (await Exchange.post(info.port, message, headers)).whole()
        assert status == 200 and "mcp-session-id" not in got
        # Whole before the head went out: one JSON body (the revision lets the server choose).
        assert got["content-type"] == "application/json"
        [answer] = answer_messages(got, body)
        assert answer["id"] == 7 and answer["result"]["content"] == [{"type": "text",
                                                                      "text": "hi"}]
        await trio.testing.wait_all_tasks_blocked()
        # Served by the one session that serves every 2026-07-28 request: no session is
        # made per request, and none is left per request.
        [shared] = server.sessions
        status, _, _ = await (await Exchange.post(info.port, message, headers)).whole()
        await trio.testing.wait_all_tasks_blocked()
        assert status == 200 and server.sessions == [shared]


async def test_a_header_mismatch_never_reaches_the_engine() -> None:
    server = build_server(trio.Event(), trio.Event())
    async with serving(server) as info:
        message, headers = modern("tools/call", {"name": "echo", "arguments": {"text": "a"}},
                                  "r1")
        headers["mcp-name"] = "other"
        status, got, body = await (await Exchange.post(info.port, message, headers)).whole()
        assert status == 400 and "mcp-session-id" not in got
        answer = json.loads(body)
        assert answer["id"] == "r1" and answer["error"]["code"] == -32020
        assert server.sessions == []


async def test_closing_the_answer_stream_cancels_the_request() -> None:
    started, cancelled = trio.Event(), trio.Event()
    server = build_server(started, cancelled)
    async with serving(server) as info:
        message, headers = modern("tools/call", {"name": "hang", "arguments": {"text": "x"}})
        exchange = await Exchange.post(info.port, message, headers)
        head = await exchange.head()
        assert head.status_code == 200
        with trio.fail_after(5):
            await started.wait()
        await exchange.stream.aclose()
        with trio.fail_after(5):
            await cancelled.wait()


async def test_a_legacy_client_still_works_on_the_dual_era_server() -> None:
    server = build_server(trio.Event(), trio.Event())
    async with serving(server) as info:
        transport = StreamableHTTPTransport(info.url)
        async with Client("c", "1", mode="legacy").connect(transport) as session:
            assert transport.session_id is not None
            result = await session.call_tool("echo", {"text": "old"})
            assert result.content[0].text == "old"  # type: ignore[union-attr]
