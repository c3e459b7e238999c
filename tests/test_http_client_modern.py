"""sansio.http_client and sansio.era_probe for 2026-07-28: the request headers, what an answer
means, and the client's era decisions, with no I/O."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from sansio import SUPPORTED_VERSIONS, Connection, Role
from sansio import era_probe as probe
from sansio.frames import Frame, FrameKind
from sansio.http import CompleteRequest, StreamableHTTPServer
from sansio.http_client import (
    StreamableHTTPClient,
    encode_header_value,
    param_header_value,
    refresh_tools_on,
    split_tools,
)

URL = "http://127.0.0.1:8971/mcp"
SCHEMA = {"type": "object", "properties": {
    "region": {"type": "string", "x-mcp-header": "Region"},
    "n": {"type": "integer", "x-mcp-header": "N"},
    "flag": {"type": "boolean", "x-mcp-header": "Flag"},
    "query": {"type": "string"}}}


def modern_frame(method: str, params: dict[str, object] | None = None) -> Frame:
    conn = Connection(Role.CLIENT)
    conn.start_stateless(client_info={"name": "c", "version": "1"})
    conn.send_request(method, params)
    [frame] = conn.frames_to_send()
    return frame


def test_values_are_plain_or_base64() -> None:
    assert encode_header_value("us-west1") == "us-west1"
    assert encode_header_value("us west 1") == "us west 1"
    for value in (" padded", "padded ", "Hello, 世界", "a\nb", "\tx"):
        encoded = encode_header_value(value)
        assert encoded.startswith("=?base64?") and encoded.endswith("?=")
    assert param_header_value(True) == "true" and param_header_value(False) == "false"
    assert param_header_value(42) == "42" and param_header_value(42.0) == "42"
    assert param_header_value(None) is None and param_header_value(3.5) is None
    assert param_header_value(2 ** 60) is None


@given(st.text())
def test_a_value_is_plain_exactly_when_it_is_visible_ascii_and_unpadded(value: str) -> None:
    plain = all(0x20 <= ord(ch) <= 0x7E for ch in value) and value == value.strip(" \t")
    encoded = encode_header_value(value)
    assert (encoded == value) if plain else encoded.startswith("=?base64?")
    if not plain:
        assert base64.b64decode(encoded[9:-2]).decode("utf-8") == value


def test_a_modern_post_carries_the_standard_and_custom_headers() -> None:
    client = StreamableHTTPClient(URL)
    client.declare_tools(split_tools([{"name": "t", "inputSchema": SCHEMA}]).annotations)
    frame = modern_frame("tools/call", {"name": "t", "arguments": {
        "region": "Zürich", "n": 7, "flag": False, "query": "SELECT 1"}})
    headers = dict(client.request_for(frame).headers)
    assert headers["mcp-protocol-version"] == "2026-07-28"
    assert headers["mcp-method"] == "tools/call" and headers["mcp-name"] == "t"
    assert headers["mcp-param-n"] == "7" and headers["mcp-param-flag"] == "false"
    assert headers["mcp-param-region"] == encode_header_value("Zürich")
    assert "mcp-param-query" not in headers and "mcp-session-id" not in headers
    # The server core accepts exactly these headers.
    server = StreamableHTTPServer(lambda: "sid", supported_versions=SUPPORTED_VERSIONS,
                                  tool_headers={"t": {"Region": ("region",), "N": ("n",),
                                                      "Flag": ("flag",)}})
    request = CompleteRequest("POST", "/mcp", tuple(client.request_for(frame).headers),
                              frame.data.rstrip(b"\n"))
    outcome = server.handle(request)
    assert type(outcome).__name__ == "OpenStream", outcome


def test_null_or_absent_annotated_arguments_get_no_header() -> None:
    client = StreamableHTTPClient(URL)
    client.declare_tools(split_tools([{"name": "t", "inputSchema": SCHEMA}]).annotations)
    headers = dict(client.request_for(modern_frame("tools/call", {
        "name": "t", "arguments": {"region": None}})).headers)
    assert not any(k.startswith("mcp-param-") for k in headers)


def test_resources_read_names_its_uri_and_listing_has_no_name() -> None:
    client = StreamableHTTPClient(URL)
    headers = dict(client.request_for(modern_frame("resources/read", {
        "uri": "file:///a%20b.txt"})).headers)
    assert headers["mcp-name"] == "file:///a%20b.txt"
    headers = dict(client.request_for(modern_frame("tools/list")).headers)
    assert headers["mcp-method"] == "tools/list" and "mcp-name" not in headers


def test_invalid_annotations_drop_the_tool() -> None:
    split = split_tools([
        {"name": "ok", "inputSchema": SCHEMA},
        {"name": "empty", "inputSchema": {"type": "object", "properties": {
            "a": {"type": "string", "x-mcp-header": ""}}}},
        {"name": "dup", "inputSchema": {"type": "object", "properties": {
            "a": {"type": "string", "x-mcp-header": "X"},
            "b": {"type": "string", "x-mcp-header": "x"}}}},
        {"name": "plain", "inputSchema": {"type": "object"}}])
    assert [tool["name"] for tool in split.kept] == ["ok", "plain"]
    assert [name for name, _ in split.rejected] == ["empty", "dup"]
    assert list(split.annotations) == ["ok"]


def test_a_modern_cancellation_is_a_stream_close() -> None:
    conn = Connection(Role.CLIENT)
    conn.start_stateless()
    rid = conn.send_request("tools/list")
    conn.frames_to_send()
    conn.cancel(rid)
    [frame] = conn.frames_to_send()
    client = StreamableHTTPClient(URL)
    assert client.cancelled_request(frame) == rid
    assert client.cancelled_request(modern_frame("tools/list")) is None


def test_a_modern_http_error_body_is_the_answer_with_its_data() -> None:
    client = StreamableHTTPClient(URL)
    frame = modern_frame("server/discover")
    body = json.dumps({"jsonrpc": "2.0", "id": frame.request_id, "error": {
        "code": -32022, "message": "Unsupported protocol version",
        "data": {"supported": ["2026-07-28"], "requested": "x"}}}).encode()
    answer = json.loads(client.error_for(frame, 400, body, "application/json") or b"")
    assert answer["error"]["data"]["supported"] == ["2026-07-28"]
    # A handshake-era request keeps the old local error.
    old = Frame(FrameKind.REQUEST, b"{}\n", 1, None, "tools/list", "2025-11-25")
    assert json.loads(client.error_for(old, 400, body, "application/json") or b"")[
        "error"]["data"] == {"httpStatus": 400}


def test_the_era_decisions() -> None:
    both = SUPPORTED_VERSIONS
    assert probe.plan(both) == "2026-07-28" and probe.plan(("2025-11-25",)) is None
    assert probe.decide_result({"supportedVersions": ["2026-07-28", "2025-11-25"]}, both) \
        == probe.UseModern("2026-07-28")
    assert isinstance(probe.decide_result({"supportedVersions": ["2025-11-25"]}, both),
                      probe.FallBack)
    assert probe.decide_error(-32022, {"supported": ["2026-07-28"]}, both, retried=False) \
        == probe.RetryWith("2026-07-28")
    assert isinstance(probe.decide_error(-32022, {"supported": ["2026-07-28"]}, both,
                                         retried=True), probe.FallBack)
    assert isinstance(probe.decide_error(-32022, {"supported": ["2025-06-18"]}, both,
                                         retried=False), probe.FallBack)
    for code in (-32601, -32600, -32603, -32000, 400):
        assert isinstance(probe.decide_error(code, None, both, retried=False), probe.FallBack)
    assert isinstance(probe.decide_no_answer("timed out", both), probe.FallBack)
    assert isinstance(probe.decide_error(-32601, None, both, retried=False,
                                         pinned="2026-07-28"), probe.ProbeFailed)
    assert refresh_tools_on(-32020) and not refresh_tools_on(-32602)
    facts = probe.discover_facts({"capabilities": {"tools": {}}, "instructions": "hi",
                                  "_meta": {"io.modelcontextprotocol/serverInfo": {
                                      "name": "s", "version": "1"}}})
    assert facts.server_info["name"] == "s" and facts.instructions == "hi"
