"""The client over Streamable HTTP in the 2026-07-28 era, against this project's dual-era
``serve_http``: the standard and ``x-mcp-header`` headers, the -32020 refresh-and-retry, and
cancellation by closing the request's stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from sansio.versions import HANDSHAKE_VERSIONS, SUPPORTED_VERSIONS, Era
from trio_adapter import Client, Server
from trio_adapter.http import HTTPServerInfo, StreamableHTTPTransport, serve_http

REGION = {"type": "object", "properties": {
    "region": {"type": "string", "x-mcp-header": "Region"},
    "n": {"type": "integer", "x-mcp-header": "N"}, "note": {"type": "string"}}}


@asynccontextmanager
async def serving(server: Server) -> AsyncIterator[HTTPServerInfo]:
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status))
        yield info
        nursery.cancel_scope.cancel()


@pytest.fixture(autouse=True)
def discover(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve ``server/discover`` from this project's Server (its own support for it is
    another change's): what a dual-era server answers."""
    from trio_adapter import server as server_module

    async def answer(session: Any, ctx: Any, params: Any) -> dict[str, Any]:
        return {"supportedVersions": ["2026-07-28", *HANDSHAKE_VERSIONS[::-1]],
                "capabilities": session.server.capabilities(),
                "serverInfo": {"name": session.server.info.name,
                               "version": session.server.info.version}}

    monkeypatch.setitem(server_module._HANDLERS, "server/discover", answer)


def client() -> Client:
    return Client("c", "1", supported_versions=SUPPORTED_VERSIONS)


def build() -> Server:
    server = Server("dual", "1", supported_versions=SUPPORTED_VERSIONS)

    async def where(region: str, n: int = 0, note: str = "") -> str:
        return f"{region}:{n}:{note}"

    server.add_tool(where, "where", input_schema=REGION)
    return server


async def test_modern_over_http_sends_the_headers_the_server_checks() -> None:
    server = build()
    async with serving(server) as info:
        transport = StreamableHTTPTransport(info.url)
        async with client().connect(transport) as session:
            assert session.era is Era.STATELESS
            [_tool] = await session.list_all_tools()
            assert transport.client.tool_headers == {"where": {"Region": ("region",),
                                                               "N": ("n",)}}
            # Non-ASCII and padded values go Base64; the server checks every header.
            result = await session.call_tool("where", {"region": " Zürich ", "n": 7,
                                                       "note": "x"})
            assert not result.is_error and result.content[0].text == " Zürich :7:x"
            assert transport.session_id is None  # 2026-07-28 has no sessions


async def test_a_header_mismatch_refreshes_the_tools_and_retries_once() -> None:
    server = build()
    async with serving(server) as info:
        transport = StreamableHTTPTransport(info.url)
        async with client().connect(transport) as session:
            await session.list_all_tools()
            # The server's tool changes: its annotation now names another header.
            server.remove_tool("where")

            async def where(region: str, n: int = 0, note: str = "") -> str:
                return f"new {region}"

            server.add_tool(where, "where", input_schema={**REGION, "properties": {
                **REGION["properties"], "region": {"type": "string", "x-mcp-header": "Zone"}}})
            result = await session.call_tool("where", {"region": "eu"})
            assert result.content[0].text == "new eu"
            assert "Zone" in transport.client.tool_headers["where"]


async def test_cancelling_a_modern_call_closes_its_stream() -> None:
    server = Server("dual", "1", supported_versions=SUPPORTED_VERSIONS)
    started, ended = trio.Event(), trio.Event()

    @server.tool()
    async def slow() -> str:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            ended.set()
        return "never"  # pragma: no cover

    async with serving(server) as info:
        transport = StreamableHTTPTransport(info.url)
        async with client().connect(transport) as session:
            with trio.move_on_after(5) as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(session.call_tool, "slow")
                    await started.wait()
                    nursery.cancel_scope.cancel()
                with trio.fail_after(5):
                    await ended.wait()  # the server saw the stream close as a cancellation
            assert not scope.cancelled_caught
            assert transport._request_scopes == {}


async def test_auto_over_http_falls_back_for_a_legacy_server() -> None:
    # handshake revisions only: server/discover is refused
    server = Server("old", "1", supported_versions=HANDSHAKE_VERSIONS)
    async with serving(server) as info:
        async with client().connect(StreamableHTTPTransport(info.url)) as session:
            assert session.era is Era.HANDSHAKE and session.protocol_version == "2025-11-25"
            assert session.server_info.name == "old"
