"""Our stateless-era client engine against the official Python SDK's server over stdio (the
SDK speaks 2026-07-28): server/discover, tools/list and tools/call, every frame valid."""

from __future__ import annotations

import pytest

from sansio import ErrorCode, ErrorReceived, LocalProtocolError, ResponseReceived
from tests.conftest import schemas_available
from tests.test_interop_engine import BlockingClient, sdk_server  # noqa: F401 - a fixture
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
