"""Our client against the official Python SDK's server (``mcp`` 2.x): over stdio and over
Streamable HTTP it negotiates 2026-07-28 and runs tools, an MRTR elicitation and a
``subscriptions/listen`` stream; pinned to the handshake era, the same server is reached with
``initialize``."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

from sansio import SUPPORTED_VERSIONS
from sansio.versions import Era
from trio_adapter import Client, CommandTransport, RequestContext
from trio_adapter.http import StreamableHTTPTransport

pytest.importorskip("mcp")
pytest.importorskip("mcp_types")

pytestmark = pytest.mark.interop

SERVER = textwrap.dedent('''
    import sys
    import mcp_types as m
    from mcp.server.mcpserver import Context, MCPServer

    server = MCPServer("sdk-modern", version="2.0.0", log_level="ERROR")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def confirm(ctx: Context) -> m.InputRequiredResult | str:
        """Ask the client (MRTR) whether to go on."""
        if ctx.input_responses is None:
            schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
            return m.InputRequiredResult(input_requests={"c": m.ElicitRequest(
                params=m.ElicitRequestFormParams(message="go on?", requested_schema=schema))},
                request_state="sdk-state")
        answer = ctx.input_responses["c"]
        return f"{ctx.request_state}:{answer.action}:{answer.content}"

    @server.tool()
    async def touch(ctx: Context) -> str:
        """Say the tool list changed (to subscriptions/listen streams)."""
        await ctx.notify_tools_changed()
        return "touched"

    if sys.argv[1:2] == ["--http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
''')


async def accept(ctx: RequestContext, params: Any) -> dict[str, Any]:
    return {"action": "accept", "content": {"ok": True}}


def both() -> Client:
    return Client("trio-mcp-interop", "1", supported_versions=SUPPORTED_VERSIONS,
                  elicitation_handler=accept)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "sdk_modern.py"
    path.write_text(SERVER)
    return path


async def exercise(session: Any) -> None:
    names = [tool.name for tool in await session.list_all_tools()]
    assert {"echo", "confirm"} <= set(names)
    assert (await session.call_tool("echo", {"text": "hi"})).content[0].text == "hi"
    result = await session.call_tool("confirm")
    assert not result.is_error, result
    text = result.content[0].text
    if session.era is Era.STATELESS:
        assert text.startswith("sdk-state:accept:") and "True" in text
        async with session.listen(tools=True) as listener:
            assert listener.honoured is not None and listener.honoured.tools_list_changed
            await session.call_tool("touch")
            with trio.fail_after(10):
                note = await listener.receive()
        assert note.method == "notifications/tools/list_changed"
        assert (await session.call_tool("echo", {"text": "after"})).content[0].text == "after"


async def test_sdk_stdio_server_speaks_2026_07_28(script: Path) -> None:
    transport = CommandTransport([sys.executable, str(script)], stderr="capture")
    async with both().connect(transport) as session:
        assert session.era is Era.STATELESS and session.protocol_version == "2026-07-28"
        assert session.server_info.name == "sdk-modern"
        await exercise(session)


async def test_sdk_stdio_server_pinned_to_the_handshake_era(script: Path) -> None:
    transport = CommandTransport([sys.executable, str(script)], stderr="capture")
    client = Client("c", "1", mode="legacy", supported_versions=SUPPORTED_VERSIONS)
    async with client.connect(transport) as session:
        assert session.era is Era.HANDSHAKE and session.protocol_version == "2025-11-25"
        assert (await session.call_tool("echo", {"text": "old"})).content[0].text == "old"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sdk_http_server_speaks_2026_07_28(script: Path) -> None:
    port = _free_port()
    process = await trio.lowlevel.open_process(
        [sys.executable, str(script), "--http", str(port)], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        with trio.fail_after(20):
            while True:  # wait until it listens
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", port)
                except OSError:
                    await trio.sleep(0.1)
                    continue
                await stream.aclose()
                break
        async with both().connect(StreamableHTTPTransport(url)) as session:
            assert session.era is Era.STATELESS and session.protocol_version == "2026-07-28"
            await exercise(session)
    finally:
        process.terminate()
        with trio.CancelScope(shield=True), trio.move_on_after(10):
            await process.wait()
