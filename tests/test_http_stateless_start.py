"""The core's side of stateless serving and long-lived streams: which revision a stateless
server's one-request session starts at (no handshake), the engine's start without a
handshake, which streams are long-lived (keepalives, ``X-Accel-Buffering``), the HTTP status a
2026-07-28 error answer carries, and ``_meta`` problems answered on the POST."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sansio import Connection, LocalProtocolError, RemoteProtocolError
from sansio.events import Initialized, RequestReceived
from sansio.frames import Frame, FrameKind
from sansio.http import (
    CompleteRequest,
    Listen,
    OpenStream,
    Reject,
    StreamableHTTPServer,
)
from sansio.sse import SSEDecoder
from sansio.state import Role, State, Trigger
from sansio.versions import META_PROTOCOL_VERSION, SUPPORTED_VERSIONS

V = "2026-07-28"
BASE = (("host", "127.0.0.1"), ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"))


def post(core: StreamableHTTPServer, message: Any, **headers: str) -> Any:
    hdrs = (*BASE, *((k.replace("_", "-"), v) for k, v in headers.items()))
    return core.handle(CompleteRequest("POST", "/mcp", hdrs, json.dumps(message).encode()))


def call(name: str = "echo", rid: Any = 1, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
            "params": {"name": name, "arguments": {"text": "initialize"}, **params}}


def modern(method: str, params: dict[str, Any] | None = None, rid: Any = 1,
           meta: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    if meta is None:
        meta = {META_PROTOCOL_VERSION: V, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": rid, "method": method,
            "params": {**(params or {}), "_meta": meta}}
    headers = {"mcp_protocol_version": V, "mcp_method": method}
    if method == "tools/call":
        headers["mcp_name"] = body["params"]["name"]
    return body, headers


# ---------------------------------------------------------------- the revision to start at


@pytest.mark.parametrize(("header", "expected"), [
    (None, "2025-03-26"), ("2025-06-18", "2025-06-18"), ("2025-11-25", "2025-11-25")])
def test_a_stateless_post_names_the_revision_its_session_starts_at(
        header: str | None, expected: str) -> None:
    core = StreamableHTTPServer(lambda: "x", stateless=True)
    headers = {} if header is None else {"mcp_protocol_version": header}
    outcome = post(core, call(), **headers)
    assert isinstance(outcome, OpenStream) and outcome.new_session
    assert outcome.start_version == expected and not outcome.initialize


def test_the_default_revision_is_negotiated_when_the_server_lacks_2025_03_26() -> None:
    core = StreamableHTTPServer(lambda: "x", stateless=True,
                                supported_versions=("2025-06-18", "2025-11-25"))
    assert post(core, call()).start_version == "2025-11-25"


def test_only_a_stateless_servers_handshake_era_requests_start_without_a_handshake() -> None:
    stateless = StreamableHTTPServer(lambda: "x", stateless=True,
                                     supported_versions=SUPPORTED_VERSIONS)
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "c", "version": "1"}}}
    assert post(stateless, init).start_version is None  # the engine handles initialize
    body, headers = modern("tools/call", {"name": "echo"})
    assert post(stateless, body, **headers).start_version is None  # modern: its own era
    stateful = StreamableHTTPServer(lambda: "s1")
    outcome = post(stateful, init)
    assert isinstance(outcome, OpenStream) and outcome.start_version is None


# ---------------------------------------------------------------- the engine


def test_a_server_engine_starts_without_a_handshake_and_sees_only_the_request() -> None:
    conn = Connection(Role.SERVER)
    conn.start_stateless("2025-03-26", server_capabilities={"tools": {}})
    assert conn.state is State.OPERATING and conn.protocol_version == "2025-03-26"
    assert conn.peer_capabilities == {} and conn.data_to_send() == b""
    conn.receive_data(json.dumps(call()).encode() + b"\n")
    assert conn.next_event() == Initialized("2025-03-26", {}, {})
    event = conn.next_event()
    assert isinstance(event, RequestReceived) and event.method == "tools/call"
    assert event.params == {"name": "echo", "arguments": {"text": "initialize"}}
    # The client declared nothing, so nothing may be asked of it.
    with pytest.raises(LocalProtocolError):
        conn.send_request("sampling/createMessage", {"messages": [], "maxTokens": 1})
    conn.send_response(event.request_id, {"content": []})
    assert json.loads(conn.data_to_send())["id"] == 1


def test_a_server_started_without_a_handshake_judges_requests_by_its_capabilities() -> None:
    conn = Connection(Role.SERVER)
    conn.start_stateless("2025-11-25", {"sampling": {}}, {"name": "c", "version": "1"})
    assert conn.peer_capabilities == {"sampling": {}}
    assert conn.peer_info == {"name": "c", "version": "1"}
    conn.receive_data(json.dumps(call()).encode() + b"\n")
    assert isinstance(conn.next_event(), Initialized)
    with pytest.raises(RemoteProtocolError) as refused:  # no tools capability: -32601
        conn.next_event()
    assert refused.value.code == -32601 and refused.value.response_hint is not None


@pytest.mark.parametrize("version", [None, V, "1999-01-01"])
def test_a_server_starts_without_a_handshake_only_at_a_handshake_revision(
        version: str | None) -> None:
    conn = Connection(Role.SERVER)
    with pytest.raises(LocalProtocolError):
        conn.start_stateless(version)
    assert conn.state is State.IDLE


def test_a_server_starts_without_a_handshake_once_and_only_when_idle() -> None:
    conn = Connection(Role.SERVER)
    conn.start_stateless("2025-06-18")
    with pytest.raises(LocalProtocolError):
        conn.start_stateless("2025-06-18")
    with pytest.raises(LocalProtocolError):
        Connection(Role.SERVER).start_stateless("2025-06-18", log_level="info")
    with pytest.raises(LocalProtocolError):
        Connection(Role.CLIENT).start_stateless(server_capabilities={})


def test_the_state_table_has_the_start_without_a_handshake() -> None:
    from sansio.state import TRANSITIONS

    assert TRANSITIONS[(Role.SERVER, State.IDLE)][Trigger.START_WITHOUT_HANDSHAKE] is \
        State.OPERATING
    assert Trigger.START_WITHOUT_HANDSHAKE not in TRANSITIONS[(Role.CLIENT, State.IDLE)]


# ---------------------------------------------------------------- long-lived streams


def test_get_streams_and_listens_are_long_lived_and_unbuffered() -> None:
    core = StreamableHTTPServer(lambda: "s1", supported_versions=SUPPORTED_VERSIONS)
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "c", "version": "1"}}}
    answer = post(core, init)
    assert isinstance(answer, OpenStream) and not answer.keepalive
    assert ("x-accel-buffering", "no") in answer.headers
    get = core.handle(CompleteRequest("GET", "/mcp", (
        ("host", "127.0.0.1"), ("accept", "text/event-stream"), ("mcp-session-id", "s1")), b""))
    assert isinstance(get, Listen) and get.keepalive
    assert ("x-accel-buffering", "no") in get.headers
    body, headers = modern("subscriptions/listen", {"notifications": {}})
    listen = post(core, body, **headers)
    assert isinstance(listen, OpenStream) and listen.modern and listen.keepalive
    assert ("x-accel-buffering", "no") in listen.headers
    body, headers = modern("tools/list")
    assert not post(core, body, **headers).keepalive


def test_the_keepalive_is_an_sse_comment() -> None:
    core = StreamableHTTPServer(lambda: "x")
    comment = core.keepalive_comment()
    assert comment.startswith(b":") and comment.endswith(b"\n\n")
    assert SSEDecoder().feed(comment) == []  # a client sees no event


# ---------------------------------------------------------------- modern answers


@pytest.mark.parametrize(("code", "status"), [(-32601, 404), (-32021, 400), (-32020, 400),
                                              (-32022, 400), (-32603, None), (-32602, None)])
def test_a_modern_error_answer_carries_its_http_status(code: int, status: int | None) -> None:
    core = StreamableHTTPServer(lambda: "x", supported_versions=SUPPORTED_VERSIONS)
    body, headers = modern("tools/call", {"name": "echo"}, rid=4)
    outcome = post(core, body, **headers)
    assert isinstance(outcome, OpenStream)
    data = json.dumps({"jsonrpc": "2.0", "id": 4, "error": {"code": code,
                                                            "message": "no"}}).encode()
    [event] = core.route(outcome.session_id, Frame(FrameKind.ERROR, data + b"\n", 4, 4,
                                                   "tools/call", V))
    assert event.final and event.status == status
    if status is not None:
        assert json.loads(event.body)["error"]["code"] == code
    # A result never carries one.
    outcome = post(core, body, **headers)
    result = json.dumps({"jsonrpc": "2.0", "id": 4, "result": {}}).encode()
    [event] = core.route(outcome.session_id, Frame(FrameKind.RESPONSE, result, 4, 4,
                                                   "tools/call", V))
    assert event.final and event.status is None


@pytest.mark.parametrize("meta", [
    {},  # no _meta fields at all
    {"io.modelcontextprotocol/clientCapabilities": {}},  # no version
    {META_PROTOCOL_VERSION: V},  # no client capabilities
    {META_PROTOCOL_VERSION: V, "io.modelcontextprotocol/clientCapabilities": {},
     "io.modelcontextprotocol/logLevel": "loud"},
])
def test_invalid_request_meta_is_400_with_invalid_params(meta: dict[str, Any]) -> None:
    core = StreamableHTTPServer(lambda: "x", supported_versions=SUPPORTED_VERSIONS)
    body, headers = modern("server/discover", rid=101, meta=meta)
    outcome = post(core, body, **headers)
    assert isinstance(outcome, Reject) and outcome.status == 400
    answer = json.loads(outcome.body)
    assert answer["id"] == 101 and answer["error"]["code"] == -32602
    assert core.session_ids == []


def test_abandon_forgets_a_refused_posts_one_request_session() -> None:
    core = StreamableHTTPServer(lambda: "x", stateless=True)
    outcome = post(core, call())
    assert core.session_ids == [outcome.session_id]
    core.abandon(outcome.session_id, outcome.stream_id)
    assert core.session_ids == []
    core.abandon(outcome.session_id, outcome.stream_id)  # again: nothing to do


def test_a_resumed_post_stream_is_not_long_lived() -> None:
    core = StreamableHTTPServer(lambda: "s1")
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "c", "version": "1"}}}
    post(core, init)
    answer = post(core, call(rid=5), mcp_session_id="s1", mcp_protocol_version="2025-11-25")
    assert isinstance(answer, OpenStream)
    core.detach("s1", answer.stream_id)  # the client dropped it before the answer
    resumed = core.handle(CompleteRequest("GET", "/mcp", (
        ("host", "127.0.0.1"), ("accept", "text/event-stream"), ("mcp-session-id", "s1"),
        ("last-event-id", f"{answer.stream_id}/0")), b""))
    assert isinstance(resumed, Listen) and not resumed.keepalive and not resumed.done
