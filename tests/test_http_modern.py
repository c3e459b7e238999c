"""Streamable HTTP in protocol version 2026-07-28, sans-IO (sansio.http), driven by h11's client.

Each outcome is asserted with the rule of docs/specification/2026-07-28/basic/transports/
streamable-http.mdx it follows; a dual-era endpoint keeps serving the handshake era's sessions.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sansio.http import (
    Accept,
    CompleteRequest,
    HTTPServerConnection,
    Listen,
    OpenStream,
    Reject,
    StreamableHTTPServer,
    StreamClosed,
    decode_header_value,
    header_annotations,
    validate_header_annotations,
)
from sansio.versions import META_PROTOCOL_VERSION, SUPPORTED_VERSIONS

V = "2026-07-28"
BOTH = "application/json, text/event-stream"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t",
                                                                        "version": "1"}}}
WEATHER = {"type": "object", "properties": {
    "region": {"type": "string", "x-mcp-header": "Region"},
    "count": {"type": "integer", "x-mcp-header": "Count"},
    "dry": {"type": "boolean", "x-mcp-header": "Dry"},
    "where": {"type": "object", "properties": {
        "city": {"type": "string", "x-mcp-header": "City"}}},
    "query": {"type": "string"}}}


def b64(text: str) -> str:
    return "=?base64?" + base64.b64encode(text.encode()).decode() + "?="


def wire(method: str, headers: list[tuple[str, str | bytes]], body: bytes = b"") -> bytes:
    client = h11.Connection(h11.CLIENT)
    hdrs: list[tuple[str, str | bytes]] = [("host", "127.0.0.1:8000"), *headers]
    if method == "POST":
        hdrs.append(("content-length", str(len(body))))
    out = client.send(h11.Request(method=method, target="/mcp", headers=hdrs)) or b""
    if body:
        out += client.send(h11.Data(data=body)) or b""
    return out + (client.send(h11.EndOfMessage()) or b"")


def parse(data: bytes) -> CompleteRequest:
    conn = HTTPServerConnection()
    conn.receive_data(data)
    request = conn.next_request()
    assert isinstance(request, CompleteRequest)
    return request


def rpc(method: str, params: dict[str, Any] | None = None, *, rid: Any = 1,
        version: Any = V) -> dict[str, Any]:
    p = dict(params or {})
    if version is not None:
        p["_meta"] = {META_PROTOCOL_VERSION: version, "io.modelcontextprotocol/clientInfo": {
            "name": "t", "version": "1"}, "io.modelcontextprotocol/clientCapabilities": {}}
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": p}
    if rid is not None:
        message["id"] = rid
    return message


def standard_headers(message: dict[str, Any]) -> dict[str, str]:
    """The headers a conforming client sends for ``message``."""
    headers = {"mcp-protocol-version": V, "mcp-method": message["method"]}
    params = message.get("params", {})
    if message["method"] in ("tools/call", "prompts/get"):
        headers["mcp-name"] = params["name"]
    elif message["method"] == "resources/read":
        headers["mcp-name"] = params["uri"]
    return headers


class Endpoint:
    def __init__(self, **kwargs: Any) -> None:
        self.ids = iter(f"session-{i}" for i in range(1, 100))
        kwargs.setdefault("supported_versions", SUPPORTED_VERSIONS)
        self.core = StreamableHTTPServer(lambda: next(self.ids), **kwargs)

    def request(self, method: str, headers: dict[str, str | bytes] | None = None,
                body: Any = None) -> Any:
        raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        hdrs: dict[str, str | bytes] = {}
        if method == "POST":
            hdrs = {"content-type": "application/json", "accept": BOTH}
        hdrs.update(headers or {})
        return self.core.handle(parse(wire(method, list(hdrs.items()), raw or b"")))

    def post(self, message: Any, **overrides: str | bytes | None) -> Any:
        headers: dict[str, str | bytes | None] = dict(standard_headers(message))
        for name, value in overrides.items():
            headers[name.replace("_", "-")] = value
        return self.request("POST", {k: v for k, v in headers.items() if v is not None},
                            message)


def error_of(outcome: Any) -> dict[str, Any]:
    assert isinstance(outcome, Reject), outcome
    body = json.loads(outcome.body)
    assert isinstance(body, dict)
    return body


def assert_error(outcome: Any, status: int, code: int, rid: Any = 1) -> dict[str, Any]:
    body = error_of(outcome)
    assert outcome.status == status, body
    assert body["error"]["code"] == code, body
    assert body["id"] == rid
    return body


def sid_header(outcome: Any) -> list[str]:
    return [v for k, v in getattr(outcome, "headers", ()) if k == "mcp-session-id"]


# ---------------------------------------------------------------- a modern request is served


def test_modern_request_opens_a_stream_without_a_session() -> None:
    ep = Endpoint()
    message = rpc("tools/list")
    outcome = ep.post(message)
    assert isinstance(outcome, OpenStream) and outcome.modern and outcome.new_session
    assert not outcome.initialize and not sid_header(outcome)
    assert ("content-type", "text/event-stream") in outcome.headers
    assert json.loads(outcome.message) == message
    # The answer ends the stream; the one-request session is then gone.
    events = ep.core.route(outcome.session_id, json.dumps(
        {"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}).encode())
    assert len(events) == 1 and events[0].final
    assert ep.core.session_ids == []


def test_a_modern_body_with_line_breaks_reaches_the_engine_on_one_line() -> None:
    message = rpc("tools/list", rid=2)
    outcome = Endpoint().request("POST", standard_headers(message),
                                 json.dumps(message, indent=2).encode())
    assert isinstance(outcome, OpenStream) and outcome.modern
    assert b"\n" not in outcome.message and json.loads(outcome.message) == message


def test_modern_request_ignores_a_session_id_and_mints_none() -> None:
    ep = Endpoint(json_response=True)
    outcome = ep.post(rpc("tools/list"), mcp_session_id="whatever")
    assert isinstance(outcome, OpenStream) and outcome.modern and outcome.json
    assert outcome.headers == (("content-type", "application/json"),)
    assert next(ep.ids) == "session-1"  # no session id was minted


def test_a_modern_notification_is_accepted_and_goes_nowhere() -> None:
    outcome = Endpoint().post(rpc("notifications/cancelled", {"requestId": 3}, rid=None))
    assert isinstance(outcome, Accept) and outcome.session_id is None
    assert outcome.status == 202 and not sid_header(outcome)


def test_a_modern_batch_or_response_is_refused() -> None:
    ep = Endpoint()
    outcome = ep.request("POST", {"mcp-protocol-version": V, "mcp-method": "tools/list"},
                         [rpc("tools/list"), rpc("tools/list", rid=2)])
    assert isinstance(outcome, Reject) and outcome.status == 400
    assert error_of(outcome)["error"]["code"] == -32600
    outcome = ep.request("POST", {"mcp-protocol-version": V},
                         {"jsonrpc": "2.0", "id": 1, "result": {}})
    assert isinstance(outcome, Reject) and outcome.status == 400


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_get_and_delete_of_a_modern_client_are_405(method: str) -> None:
    ep = Endpoint()
    outcome = ep.request(method, {"mcp-protocol-version": V, "accept": "text/event-stream"})
    assert isinstance(outcome, Reject) and outcome.status == 405
    assert ("allow", "POST") in outcome.headers


def test_a_dual_era_endpoint_still_serves_legacy_sessions() -> None:
    ep = Endpoint()
    init = ep.request("POST", {"mcp-protocol-version": "2025-11-25"}, INIT)
    assert isinstance(init, OpenStream) and not init.modern and sid_header(init)
    sid = init.session_id
    ep.core.route(sid, json.dumps({"jsonrpc": "2.0", "id": 1, "result": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "serverInfo": {"name": "s", "version": "1"}}}).encode())
    listen = ep.request("GET", {"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25",
                                "accept": "text/event-stream"})
    assert isinstance(listen, Listen)
    modern = ep.post(rpc("tools/list"))
    assert isinstance(modern, OpenStream) and modern.modern
    assert sid in ep.core.session_ids


# ---------------------------------------------------------------- protocol version


def test_version_header_must_equal_the_body_meta() -> None:
    ep = Endpoint()
    # a body with no _meta version under a modern header: its _meta is invalid (-32602)
    body = assert_error(ep.post(rpc("tools/list", version=None)), 400, -32602)
    assert "_meta" in body["error"]["message"]
    body = assert_error(ep.post(rpc("tools/list", version="2025-13-01")), 400, -32020)
    assert "MCP-Protocol-Version" in body["error"]["message"]
    # a body stamped modern under a legacy header is modern, and the header mismatches
    assert_error(ep.post(rpc("tools/list", rid="a"), mcp_protocol_version="2025-11-25"),
                 400, -32020, "a")
    assert_error(ep.post(rpc("tools/list", rid=5), mcp_protocol_version=None), 400, -32020, 5)


def test_unsupported_modern_version_is_400_with_supported_and_requested() -> None:
    ep = Endpoint()
    message = rpc("tools/list", rid=9, version="2099-01-01")
    body = assert_error(ep.post(message, mcp_protocol_version="2099-01-01"), 400, -32022, 9)
    assert body["error"]["data"] == {"supported": sorted(SUPPORTED_VERSIONS, reverse=True),
                                     "requested": "2099-01-01"}
    # A server made for the handshake era only says so to a modern client, modern-style.
    legacy = Endpoint(supported_versions=("2025-06-18", "2025-11-25"))
    body = assert_error(legacy.post(rpc("tools/list", rid=2)), 400, -32022, 2)
    assert body["error"]["data"] == {"supported": ["2025-11-25", "2025-06-18"],
                                     "requested": V}


# ---------------------------------------------------------------- Mcp-Method, Mcp-Name


def test_mcp_method_is_required_and_must_match() -> None:
    ep = Endpoint()
    assert_error(ep.post(rpc("tools/list"), mcp_method=None), 400, -32020)
    body = assert_error(ep.post(rpc("tools/list", rid=4), mcp_method="prompts/list"), 400,
                        -32020, 4)
    assert "Mcp-Method" in body["error"]["message"]
    assert_error(ep.post(rpc("tools/list"), mcp_method="Tools/List"), 400, -32020)


@pytest.mark.parametrize(("method", "params"), [
    ("tools/call", {"name": "echo", "arguments": {}}),
    ("prompts/get", {"name": "greet"}),
    ("resources/read", {"uri": "file:///a/b.txt"}),
])
def test_mcp_name_is_required_and_must_match(method: str, params: dict[str, Any]) -> None:
    ep = Endpoint()
    message = rpc(method, params, rid=3)
    assert isinstance(ep.post(message), OpenStream)
    assert_error(ep.post(message, mcp_name=None), 400, -32020, 3)
    assert_error(ep.post(message, mcp_name="other"), 400, -32020, 3)
    value = params.get("name", params.get("uri"))
    assert isinstance(ep.post(message, mcp_name=b64(value)), OpenStream)


def test_mcp_name_in_base64_for_a_non_ascii_name() -> None:
    ep = Endpoint()
    message = rpc("tools/call", {"name": "météo", "arguments": {}})
    assert isinstance(ep.post(message, mcp_name=b64("météo")), OpenStream)
    # raw non-ASCII bytes are not a valid header value: malformed
    assert_error(ep.post(message, mcp_name="météo".encode()), 400, -32020)
    assert_error(ep.post(message, mcp_name="=?base64?not base64!?="), 400, -32020)


def test_unknown_method_is_404_method_not_found_with_the_id() -> None:
    ep = Endpoint()
    body = assert_error(ep.post(rpc("foo/bar", rid="x")), 404, -32601, "x")
    assert "foo/bar" in body["error"]["message"]
    assert_error(ep.post(rpc("initialize", rid=2)), 404, -32601, 2)  # not in 2026-07-28


# ---------------------------------------------------------------- x-mcp-header


def test_valid_header_annotations() -> None:
    assert validate_header_annotations(WEATHER) == []
    assert header_annotations(WEATHER) == {"Region": ("region",), "Count": ("count",),
                                           "Dry": ("dry",), "City": ("where", "city")}
    assert header_annotations({"type": "object"}) == {}


@pytest.mark.parametrize(("schema", "why"), [
    ({"properties": {"a": {"type": "string", "x-mcp-header": "Bad Name"}}}, "token"),
    ({"properties": {"a": {"type": "string", "x-mcp-header": ""}}}, "non-empty"),
    ({"properties": {"a": {"type": "string", "x-mcp-header": "X"},
                     "b": {"type": "string", "x-mcp-header": "x"}}}, "case-insensitive"),
    ({"properties": {"a": {"type": "number", "x-mcp-header": "N"}}}, "type 'number'"),
    ({"properties": {"a": {"type": "array", "x-mcp-header": "N"}}}, "type 'array'"),
    ({"properties": {"a": {"type": "array", "items": {"type": "string",
                                                      "x-mcp-header": "I"}}}}, "reachable"),
    ({"properties": {"a": {"anyOf": [{"type": "string", "x-mcp-header": "A"}]}}},
     "reachable"),
    ({"$defs": {"d": {"type": "string", "x-mcp-header": "D"}}}, "reachable"),
    ({"if": {"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}}, "reachable"),
    ({"type": "string", "x-mcp-header": "Root"}, "reachable"),
])
def test_invalid_header_annotations(schema: dict[str, Any], why: str) -> None:
    problems = validate_header_annotations(schema)
    assert len(problems) == 1 and why in problems[0], problems
    with pytest.raises(ValueError, match="invalid x-mcp-header"):
        header_annotations(schema)
    core = StreamableHTTPServer(lambda: "s")
    with pytest.raises(ValueError):
        core.declare_tool("t", schema)
    assert core.tool_headers == {}


def call(arguments: dict[str, Any], rid: Any = 1) -> dict[str, Any]:
    return rpc("tools/call", {"name": "weather", "arguments": arguments}, rid=rid)


@pytest.fixture(params=["declared", "mapping", "callable"])
def weather(request: pytest.FixtureRequest) -> Endpoint:
    annotations = header_annotations(WEATHER)
    if request.param == "mapping":
        return Endpoint(tool_headers={"weather": annotations})
    if request.param == "callable":
        return Endpoint(tool_headers=lambda name: annotations if name == "weather" else None)
    ep = Endpoint()
    ep.core.declare_tool("weather", WEATHER)
    return ep


def test_param_headers_that_mirror_the_arguments_are_accepted(weather: Endpoint) -> None:
    args = {"region": "us-west1", "count": 42, "dry": True, "where": {"city": "Zürich"},
            "query": "q"}
    good = {"mcp_param_region": "us-west1", "mcp_param_count": "42.0", "mcp_param_dry": "true",
            "mcp_param_city": b64("Zürich")}
    assert isinstance(weather.post(call(args), **good), OpenStream)
    # a null or absent argument has no header
    assert isinstance(weather.post(call({"region": None})), OpenStream)
    # header names are case-insensitive; another tool is not checked
    assert isinstance(weather.post(call({"region": "eu"}), **{"MCP-PARAM-REGION": "eu"}),
                      OpenStream)
    other = rpc("tools/call", {"name": "other", "arguments": {"region": "x"}})
    assert isinstance(weather.post(other), OpenStream)


@pytest.mark.parametrize(("args", "headers"), [
    ({"region": "us"}, {}),  # the client omitted a header whose value is in the body
    ({"region": "us"}, {"mcp_param_region": "eu"}),
    ({"count": 42}, {"mcp_param_count": "43"}),
    ({"count": 42}, {"mcp_param_count": "forty-two"}),
    ({"dry": False}, {"mcp_param_dry": "False"}),
    ({"dry": True}, {"mcp_param_dry": "1"}),
    ({"where": {"city": "Zürich"}}, {"mcp_param_city": "Zürich".encode()}),
    ({"where": {"city": "a"}}, {"mcp_param_city": "=?base64?%%%?="}),
    ({}, {"mcp_param_region": "us"}),  # a header for a value that is not in the body
    ({"count": 2 ** 53}, {"mcp_param_count": str(2 ** 53)}),  # outside the safe range
])
def test_param_headers_that_do_not_mirror_are_400_header_mismatch(
        weather: Endpoint, args: dict[str, Any], headers: dict[str, str | bytes]) -> None:
    body = assert_error(weather.post(call(args, rid=11), **headers), 400, -32020, 11)
    assert body["error"]["message"].startswith("Header mismatch: ")


def test_decode_header_value() -> None:
    assert decode_header_value("us-west1") == "us-west1"
    assert decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?=") == "Hello, 世界"
    assert decode_header_value("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=") == "=?base64?literal?="
    assert decode_header_value("=?BASE64?SGk=?=") == "=?BASE64?SGk=?="  # markers are lower case
    assert decode_header_value("caf\xe9") is None
    # the conformance suite's cases: bad padding, non-alphabet characters, no sentinel
    assert decode_header_value("=?base64?SGVsbG8?=") is None
    assert decode_header_value("=?base64?SGVs!!!bG8=?=") is None
    assert decode_header_value("SGVsbG8=") == "SGVsbG8="
    assert decode_header_value("=?base64?SGVsbG8=") == "=?base64?SGVsbG8="
    assert decode_header_value("=?base64?//79?=") is None  # not UTF-8


# ---------------------------------------------------------------- cancellation


def test_closing_a_modern_stream_before_its_answer_cancels_the_request() -> None:
    ep = Endpoint()
    outcome = ep.post(rpc("tools/call", {"name": "slow", "arguments": {}}, rid=7))
    assert isinstance(outcome, OpenStream)
    closed = ep.core.detach(outcome.session_id, outcome.stream_id)
    assert closed == StreamClosed(outcome.session_id, outcome.stream_id, (7,))
    # nothing more is sent for it
    assert ep.core.route(outcome.session_id, json.dumps(
        {"jsonrpc": "2.0", "id": 7, "result": {"content": []}}).encode()) == []
    assert ep.core.session_ids == []
    assert ep.core.detach(outcome.session_id, outcome.stream_id) is None


def test_closing_an_answered_stream_cancels_nothing() -> None:
    ep = Endpoint()
    outcome = ep.post(rpc("tools/list", rid=8))
    assert isinstance(outcome, OpenStream)
    ep.core.route(outcome.session_id, json.dumps(
        {"jsonrpc": "2.0", "id": 8, "result": {"tools": []}}).encode())
    assert ep.core.detach(outcome.session_id, outcome.stream_id) is None


def test_closing_a_legacy_stream_is_no_cancellation() -> None:
    ep = Endpoint()
    init = ep.request("POST", {"mcp-protocol-version": "2025-11-25"}, INIT)
    assert isinstance(init, OpenStream)
    assert ep.core.detach(init.session_id, init.stream_id) is None


# ---------------------------------------------------------------- every modern POST


METHODS = ["tools/list", "tools/call", "prompts/get", "resources/read", "server/discover",
           "foo/bar"]
_maybe_text = st.one_of(st.none(), st.sampled_from(["x", "us", "42", "true", b64("é")]),
                        st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                                max_size=8))


@settings(max_examples=300, deadline=None)
@given(method=st.sampled_from(METHODS), rid=st.one_of(st.integers(-5, 5), st.text(max_size=4)),
       body_version=st.sampled_from([V, "2099-01-01", None]),
       header_version=st.sampled_from([V, "2099-01-01", "2025-11-25", None]),
       header_method=st.one_of(st.none(), st.sampled_from(METHODS)),
       name=st.sampled_from(["weather", "x", "é"]), header_name=_maybe_text,
       region=st.one_of(st.none(), st.sampled_from(["us", "eu"])), header_region=_maybe_text,
       session_id=st.one_of(st.none(), st.just("session-1")))
def test_every_modern_post_gets_one_documented_outcome(
        method: str, rid: Any, body_version: str | None, header_version: str | None,
        header_method: str | None, name: str, header_name: str | None, region: str | None,
        header_region: str | None, session_id: str | None) -> None:
    ep = Endpoint()
    ep.core.declare_tool("weather", WEATHER)
    params: dict[str, Any] = {"name": name, "uri": name, "arguments": {"region": region}}
    message = rpc(method, params, rid=rid, version=body_version)
    if body_version is None and header_version != V:
        header_version = V  # else it is a legacy request (test_http.py's rules)
    headers = {"mcp-protocol-version": header_version, "mcp-method": header_method,
               "mcp-name": header_name, "mcp-param-region": header_region,
               "mcp-session-id": session_id}
    outcome = ep.request("POST", {k: v for k, v in headers.items() if v is not None}, message)
    assert not sid_header(outcome)
    if isinstance(outcome, OpenStream):
        assert outcome.modern and outcome.new_session
        assert header_version == body_version == V and header_method == method
        assert method != "foo/bar"
        return
    body = error_of(outcome)
    assert body["id"] == rid
    code = body["error"]["code"]
    assert (outcome.status, code) in {(400, -32020), (400, -32022), (404, -32601),
                                      (400, -32602)}
    if code == -32602:
        assert body_version is None and header_version == V
    if code == -32022:
        assert body["error"]["data"] == {"supported": sorted(SUPPORTED_VERSIONS, reverse=True),
                                         "requested": header_version}
    if code == -32601:
        assert method == "foo/bar"
    assert ep.core.session_ids == []
