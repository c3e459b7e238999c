"""The stateless era (2026-07-28) against the official Python SDK over stdio, both ways: our
client engine drives the SDK's server; the SDK's client (pinned to 2026-07-28, and in its
auto mode, which probes server/discover) drives our dual-era engine server
(examples/engine_stdio_server.py --dual-era). Every frame our engines write is valid."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sansio import ErrorCode, ErrorReceived, LocalProtocolError, ResponseReceived, Role
from tests.conftest import schemas_available
from tests.test_interop_engine import (  # noqa: F401 - sdk_server is a fixture
    ENGINE_SERVER,
    ROOT,
    TIMEOUT,
    BlockingClient,
    anyio,
    mcp,
    sdk_server,
)
from tests.test_properties import assert_frame_valid

V = "2026-07-28"


def test_engine_stateless_client_drives_sdk_server(sdk_server: BlockingClient) -> None:  # noqa: F811
    client, conn = sdk_server, sdk_server.conn
    conn.start_stateless(client_capabilities={},
                         client_info={"name": "trio-mcp-engine", "version": "0.1"})
    found = client.result("server/discover")
    assert V in found["supportedVersions"]
    assert "tools" in found["capabilities"]
    tools = client.result("tools/list")
    assert {"echo", "add"} <= {tool["name"] for tool in tools["tools"]}
    event = client.request("tools/call", {"name": "echo", "arguments": {"text": "héllo"}})
    assert isinstance(event, ResponseReceived) and event.result_type == "complete"
    assert event.result["content"] == [{"type": "text", "text": "héllo"}]
    with pytest.raises(LocalProtocolError):  # removed in 2026-07-28: refused before the wire
        conn.send_request("ping")
    if schemas_available():
        for message in client.sent:
            assert_frame_valid(V, conn.role, message)


def test_sdk_server_refuses_an_unsupported_version_with_its_list(
        sdk_server: BlockingClient) -> None:  # noqa: F811
    client, conn = sdk_server, sdk_server.conn
    conn.start_stateless()
    rid = conn.send_request("tools/list", {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2099-01-01"}})
    client.flush()
    while True:
        event = client.next_event()
        if isinstance(event, (ResponseReceived, ErrorReceived)) and event.request_id == rid:
            break
    assert isinstance(event, ErrorReceived), event
    assert event.error.code == ErrorCode.UNSUPPORTED_PROTOCOL_VERSION
    assert V in event.error.data["supported"]


async def sdk_modern_client_session(trace: Path, mode: str) -> None:
    params = mcp.StdioServerParameters(
        command=sys.executable, args=[str(ENGINE_SERVER), "--trace", str(trace), "--dual-era"],
        cwd=str(ROOT))
    with anyio.fail_after(TIMEOUT):
        async with mcp.Client(params, mode=mode, client_info=mcp.Implementation(
                name="sdk-client", version="1")) as client:
            tools = await client.list_tools()
            assert [tool.name for tool in tools.tools] == ["echo", "add", "ask_llm"]
            echoed = await client.call_tool("echo", {"text": "héllo"})
            assert not echoed.is_error and echoed.content[0].text == "héllo"
            added = await client.call_tool("add", {"a": 2, "b": 40.5})
            assert added.content[0].text == "42.5"
            # No server -> client requests in this revision: the tool reports it.
            asked = await client.call_tool("ask_llm", {"question": "sky?"})
            assert asked.is_error
            read = await client.read_resource("demo://greeting")
            assert read.contents[0].text == "Hello from the sans-IO engine!"


@pytest.mark.parametrize("mode", [V, "auto"])
def test_sdk_modern_client_drives_dual_era_engine_server(tmp_path: Path, mode: str) -> None:
    trace = tmp_path / "frames.ndjson"
    anyio.run(sdk_modern_client_session, trace, mode, backend="asyncio")
    frames = [json.loads(line) for line in trace.read_bytes().splitlines()]
    results = [f["result"] for f in frames if "result" in f]
    assert results and all(r["resultType"] == "complete" for r in results)
    assert all(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] ==
               "engine-stdio-server" for r in results)
    assert not [f for f in frames if "error" in f]
    if schemas_available():
        for message in frames:
            assert_frame_valid(V, Role.SERVER, message)
