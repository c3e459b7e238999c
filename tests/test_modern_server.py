"""The server engine in the stateless era (MCP 2026-07-28): a dual-era Connection(Role.SERVER)
answers a handshake or modern per-request traffic, as the first message decides, and judges
every modern request by its own ``_meta``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sansio import (
    HANDSHAKE_VERSIONS,
    Connection,
    Era,
    ErrorCode,
    InitializeRequested,
    LocalProtocolError,
    RemoteProtocolError,
    RequestReceived,
    Role,
    State,
    _codec,
)
from sansio.testing import drain_events
from sansio.versions import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    RequestMeta,
)
from tests.helpers import frame

V = "2026-07-28"
SERVER_INFO = {"name": "s", "version": "1"}


def meta(**extra: Any) -> dict[str, Any]:
    return {META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: {}, **extra}


def request(rid: Any, method: str, params: dict[str, Any] | None = None,
            **meta_extra: Any) -> bytes:
    params = dict(params or {})
    params.setdefault("_meta", meta(**meta_extra))
    return frame({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})


def server(**kwargs: Any) -> Connection:
    kwargs.setdefault("server_info", SERVER_INFO)
    return Connection(Role.SERVER, **kwargs)


def refusal(conn: Connection, data: bytes) -> tuple[RemoteProtocolError, dict[str, Any]]:
    conn.receive_data(data)
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    exc = info.value
    assert not exc.fatal and exc.response_hint is not None
    return exc, _codec.loads(exc.response_hint)


def sent(conn: Connection) -> list[Any]:
    return [_codec.loads(f.data) for f in conn.frames_to_send()]


# ------------------------------------------------------------------ the first message decides


def test_a_modern_request_starts_the_stateless_era() -> None:
    conn = server()
    assert conn.state is State.IDLE and conn.era is None
    conn.receive_data(request(1, "tools/list", {}, **{META_CLIENT_INFO: {
        "name": "c", "version": "2"}}))
    (event,) = drain_events(conn)
    assert conn.state is State.STATELESS and conn.era is Era.STATELESS
    assert event == RequestReceived(
        1, "tools/list", {"_meta": meta(**{META_CLIENT_INFO: {"name": "c", "version": "2"}})},
        request_meta=RequestMeta(V, {}, {"name": "c", "version": "2"}))
    assert isinstance(event, RequestReceived)
    assert (event.protocol_version, event.client_capabilities, event.client_info,
            event.log_level) == (V, {}, {"name": "c", "version": "2"}, None)
    assert conn.protocol_version is None  # each request names its own


def test_initialize_first_still_starts_the_handshake_era() -> None:
    conn = server()
    conn.receive_data(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "c", "version": "1"}}}))
    (event,) = drain_events(conn)
    assert isinstance(event, InitializeRequested) and conn.state is State.INITIALIZING
    assert conn.era is Era.HANDSHAKE


def test_a_handshake_only_server_ignores_modern_meta() -> None:
    """Without a stateless revision the engine keeps the handshake era's rule: nothing but
    initialize first (-32600)."""
    conn = server(supported_versions=HANDSHAKE_VERSIONS)
    exc, hint = refusal(conn, request(1, "tools/list"))
    assert exc.code == ErrorCode.INVALID_REQUEST and hint["id"] == 1
    assert conn.state is State.IDLE


def test_an_unsupported_first_version_does_not_start_the_era() -> None:
    conn = server()
    exc, hint = refusal(conn, request(7, "tools/list", {}, **{
        META_PROTOCOL_VERSION: "1900-01-01"}))
    assert hint == {"jsonrpc": "2.0", "id": 7, "error": {
        "code": -32022, "message": "Unsupported protocol version",
        "data": {"supported": ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26",
                               "2024-11-05"], "requested": "1900-01-01"}}}
    assert exc.code == ErrorCode.UNSUPPORTED_PROTOCOL_VERSION
    assert conn.state is State.IDLE  # a dual-era client may still fall back to initialize


# ------------------------------------------------------------------ every request judged alone


@pytest.mark.parametrize("bad_meta", [
    None,
    {META_CLIENT_CAPABILITIES: {}},
    {META_PROTOCOL_VERSION: V},
    {META_PROTOCOL_VERSION: 2026, META_CLIENT_CAPABILITIES: {}},
    {META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: []},
    {META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: {}, META_CLIENT_INFO: "me"},
    {META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: {}, META_LOG_LEVEL: "loud"},
], ids=["no-meta", "no-version", "no-capabilities", "version-int", "capabilities-list",
        "client-info-str", "log-level-unknown"])
def test_missing_or_ill_typed_meta_is_invalid_params(bad_meta: Any) -> None:
    conn = server()
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    params: dict[str, Any] = {} if bad_meta is None else {"_meta": bad_meta}
    exc, hint = refusal(conn, frame({"jsonrpc": "2.0", "id": "r2", "method": "tools/list",
                                     "params": params}))
    assert exc.code == ErrorCode.INVALID_PARAMS
    assert hint["id"] == "r2" and hint["error"]["code"] == -32602
    assert conn.state is State.STATELESS


def test_nothing_is_inferred_from_earlier_requests() -> None:
    """A valid request does not vouch for the next one: each needs its own _meta, and each
    event carries its own version and capabilities."""
    conn = server()
    conn.receive_data(request(1, "tools/list", {}, **{
        META_CLIENT_CAPABILITIES: {"sampling": {}}}))
    (first,) = drain_events(conn)
    assert first.client_capabilities == {"sampling": {}}
    _exc, hint = refusal(conn, frame({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
    assert hint["error"]["code"] == -32602 and hint["id"] == 2
    conn.receive_data(request(3, "tools/list"))
    (third,) = drain_events(conn)
    assert third.client_capabilities == {} and third.protocol_version == V


def test_unsupported_version_later_is_refused_with_the_supported_list() -> None:
    conn = server(supported_versions=["2025-11-25", V])
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    _exc, hint = refusal(conn, request(2, "tools/list", {}, **{
        META_PROTOCOL_VERSION: "2025-11-25"}))
    assert hint["id"] == 2
    assert hint["error"]["data"] == {"supported": [V, "2025-11-25"], "requested": "2025-11-25"}


@pytest.mark.parametrize("method,params", [
    ("ping", {}),
    ("logging/setLevel", {"level": "info"}),
    ("resources/subscribe", {"uri": "a://b"}),
    ("resources/unsubscribe", {"uri": "a://b"}),
    ("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "c", "version": "1"}}),
])
def test_removed_methods_are_method_not_found(method: str, params: dict[str, Any]) -> None:
    conn = server()
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    exc, hint = refusal(conn, request(2, method, params))
    assert exc.code == ErrorCode.METHOD_NOT_FOUND and hint["id"] == 2


def test_initialize_without_meta_on_a_modern_connection_is_method_not_found() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    _exc, hint = refusal(conn, frame({"jsonrpc": "2.0", "id": 2, "method": "initialize",
                                     "params": {"protocolVersion": "2025-11-25",
                                                "capabilities": {},
                                                "clientInfo": {"name": "c", "version": "1"}}}))
    assert hint["error"]["code"] == -32601 and hint["id"] == 2


@pytest.mark.parametrize("method", ["notifications/initialized",
                                    "notifications/roots/list_changed"])
def test_removed_client_notifications_are_dropped(method: str) -> None:
    conn = server()
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    conn.receive_data(frame({"jsonrpc": "2.0", "method": method}))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert not info.value.fatal and info.value.response_hint is None


def test_cancellation_still_works() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/call", {"name": "slow"}))
    drain_events(conn)
    conn.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/cancelled",
                             "params": {"requestId": 1}}))
    (event,) = drain_events(conn)
    assert event.request_id == 1  # type: ignore[attr-defined]
    conn.send_response(1, {"content": []})  # a no-op, as in the handshake era
    assert conn.data_to_send() == b""


def test_server_capabilities_gate_requests() -> None:
    conn = server(server_capabilities={"tools": {}})
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    exc, hint = refusal(conn, request(2, "prompts/list"))
    assert exc.code == ErrorCode.METHOD_NOT_FOUND and "prompts" in hint["error"]["message"]


def test_trace_context_meta_passes_through() -> None:
    conn = server()
    trace = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
    conn.receive_data(request(1, "tools/call", {"name": "t"}, traceparent=trace,
                              progressToken="p"))
    (event,) = drain_events(conn)
    assert isinstance(event, RequestReceived)
    assert event.params is not None and event.params["_meta"]["traceparent"] == trace
    assert event.progress_token == "p"


def test_every_error_carries_the_request_id() -> None:
    conn = server()
    for rid, data in [("a", request("a", "ping")),
                      ("b", frame({"jsonrpc": "2.0", "id": "b", "method": "tools/list"})),
                      ("c", request("c", "x", {}, **{META_PROTOCOL_VERSION: "3000-01-01"}))]:
        _, hint = refusal(conn, data)
        assert hint["id"] == rid


def test_a_parse_error_in_the_stateless_era_omits_the_id() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    _, hint = refusal(conn, b"{nope\n")
    assert "id" not in hint and hint["error"]["code"] == -32700


# ------------------------------------------------------------------ results


def test_results_carry_result_type_and_server_info() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/call", {"name": "t"}))
    drain_events(conn)
    conn.send_response(1, {"content": [{"type": "text", "text": "hi"}]})
    [f] = conn.frames_to_send()
    assert f.protocol_version == V and f.request_id == 1 and f.method == "tools/call"
    assert _codec.loads(f.data)["result"] == {
        "content": [{"type": "text", "text": "hi"}], "resultType": "complete",
        "_meta": {META_SERVER_INFO: SERVER_INFO}}


def test_a_result_keeps_its_own_meta_and_result_type() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/call", {"name": "t"}))
    drain_events(conn)
    conn.send_response(1, {"content": [], "_meta": {"k": 1}})
    [result] = [m["result"] for m in sent(conn)]
    assert result["_meta"] == {"k": 1, META_SERVER_INFO: SERVER_INFO}


def test_without_server_info_results_carry_no_meta() -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    conn.send_response(1, {"tools": []})
    assert sent(conn) == [{"jsonrpc": "2.0", "id": 1, "result": {
        "tools": [], "resultType": "complete", "ttlMs": 0, "cacheScope": "private"}}]


def test_cacheable_results_keep_their_own_hints() -> None:
    conn = server()
    conn.receive_data(request(1, "resources/read", {"uri": "a://b"}))
    conn.receive_data(request(2, "tools/call", {"name": "t"}))
    drain_events(conn)
    conn.send_response(1, {"contents": [], "ttlMs": 5000, "cacheScope": "public"})
    conn.send_response(2, {"content": []})
    read, call = (m["result"] for m in sent(conn))
    assert (read["ttlMs"], read["cacheScope"]) == (5000, "public")
    assert "ttlMs" not in call and "cacheScope" not in call  # tools/call is not cacheable


def test_server_discover_is_answered_by_the_caller() -> None:
    conn = server(server_capabilities={"tools": {}}, supported_versions=["2025-11-25", V])
    conn.receive_data(request("d", "server/discover"))
    (event,) = drain_events(conn)
    assert isinstance(event, RequestReceived) and event.method == "server/discover"
    assert conn.data_to_send() == b""  # the engine never answers on its own
    conn.send_discover_result("d", instructions="weather", ttl_ms=60_000, cache_scope="public")
    assert sent(conn) == [{"jsonrpc": "2.0", "id": "d", "result": {
        "resultType": "complete", "supportedVersions": [V, "2025-11-25"],
        "capabilities": {"tools": {}}, "ttlMs": 60_000, "cacheScope": "public",
        "instructions": "weather", "_meta": {META_SERVER_INFO: SERVER_INFO}}}]


def test_send_discover_result_refuses_another_request() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/list"))
    drain_events(conn)
    with pytest.raises(LocalProtocolError):
        conn.send_discover_result(1)
    with pytest.raises(LocalProtocolError):
        conn.receive_data(request(2, "server/discover"))
        drain_events(conn)
        conn.send_discover_result(2, cache_scope="everyone")


def test_server_discover_in_the_handshake_era_is_method_not_found() -> None:
    from tests.helpers import operating_pair

    pair = operating_pair()
    pair.server.receive_data(frame({"jsonrpc": "2.0", "id": 9, "method": "server/discover",
                                    "params": {}}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert info.value.code == ErrorCode.METHOD_NOT_FOUND


# ------------------------------------------------------------------ what the server sends


def test_log_messages_need_a_request_that_asked_for_them() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/call", {"name": "t"}))
    conn.receive_data(request(2, "tools/call", {"name": "t"}, **{META_LOG_LEVEL: "warning"}))
    events = drain_events(conn)
    assert [e.log_level for e in events] == [None, "warning"]  # type: ignore[attr-defined]
    log = {"level": "error", "data": "boom"}
    with pytest.raises(LocalProtocolError):
        conn.send_notification("notifications/message", log, related_request_id=1)
    with pytest.raises(LocalProtocolError):
        conn.send_notification("notifications/message", log)  # request-scoped
    conn.send_notification("notifications/message", {"level": "info", "data": "quiet"},
                           related_request_id=2)
    assert conn.frames_to_send() == []  # below the asked level: nothing
    conn.send_notification("notifications/message", log, related_request_id=2)
    [f] = conn.frames_to_send()
    assert f.related_request_id == 2 and f.method == "notifications/message"
    assert f.protocol_version == V
    conn.send_response(2, {"content": []})
    conn.frames_to_send()
    with pytest.raises(LocalProtocolError):  # the request is over
        conn.send_notification("notifications/message", log, related_request_id=2)


def test_progress_goes_with_its_request() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/call", {"name": "t"}, progressToken="tok"))
    drain_events(conn)
    conn.send_notification("notifications/progress", {"progressToken": "tok", "progress": 1})
    [f] = conn.frames_to_send()
    assert f.related_request_id == 1 and f.method == "notifications/progress"


def test_server_to_client_requests_do_not_exist_in_the_stateless_era() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/call", {"name": "t"}))
    drain_events(conn)
    for method in ("ping", "sampling/createMessage", "roots/list", "elicitation/create"):
        with pytest.raises(LocalProtocolError) as info:
            conn.send_request(method, {})
        assert info.value.code == ErrorCode.METHOD_NOT_FOUND


def test_input_required_needs_the_declared_client_capabilities() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/call", {"name": "t"}, **{
        META_CLIENT_CAPABILITIES: {"elicitation": {}}}))
    drain_events(conn)
    asked = {"resultType": "input_required", "inputRequests": {
        "llm": {"method": "sampling/createMessage",
                "params": {"messages": [], "maxTokens": 5}},
        "who": {"method": "elicitation/create", "params": {
            "message": "name?", "requestedSchema": {"type": "object", "properties": {}}}}},
        "requestState": "s"}
    with pytest.raises(LocalProtocolError) as info:
        conn.send_response(1, asked)
    exc = info.value
    assert exc.code == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY
    assert exc.data == {"requiredCapabilities": {"sampling": {}}}
    assert conn.serving_requests == {1}  # nothing queued; answer it with the error
    conn.send_error(1, exc.code, exc.message, exc.data)
    [error] = sent(conn)
    assert error == {"jsonrpc": "2.0", "id": 1, "error": {
        "code": -32021, "message": exc.message, "data": {"requiredCapabilities": {
            "sampling": {}}}}}


def test_input_required_within_the_declared_capabilities_goes_out() -> None:
    conn = server()
    conn.receive_data(request(1, "tools/call", {"name": "t"}, **{
        META_CLIENT_CAPABILITIES: {"roots": {}}}))
    drain_events(conn)
    conn.send_response(1, {"resultType": "input_required", "inputRequests": {
        "r": {"method": "roots/list"}}})
    [msg] = sent(conn)
    assert msg["result"]["resultType"] == "input_required"


def test_handshake_era_frames_are_unchanged() -> None:
    """A dual-era server that went the handshake way writes what it always wrote: no
    resultType, no serverInfo _meta."""
    from tests.helpers import operating_pair

    pair = operating_pair()
    rid = pair.client.send_request("ping")
    pair.deliver(pair.client)
    pair.server.send_response(rid, {})
    assert sent(pair.server) == [{"jsonrpc": "2.0", "id": rid, "result": {}}]


# ------------------------------------------------------------------ property: judged alone

_CAPS = st.sampled_from([{}, {"sampling": {}}, {"roots": {}}, {"elicitation": {"form": {}}}])
_METAS = st.one_of(
    st.builds(lambda caps, level: {META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: caps,
                                   **({META_LOG_LEVEL: level} if level else {})},
              _CAPS, st.sampled_from([None, "debug", "error"])),
    st.just({META_PROTOCOL_VERSION: "1999-01-01", META_CLIENT_CAPABILITIES: {}}),
    st.just({META_CLIENT_CAPABILITIES: {}}),
    st.none(),
)
_METHODS = st.sampled_from(["tools/list", "tools/call", "ping", "server/discover",
                            "logging/setLevel", "x/custom"])


@settings(max_examples=150, deadline=None)
@given(requests=st.lists(st.tuples(_METHODS, _METAS), min_size=1, max_size=12))
def test_every_modern_request_is_judged_by_its_own_meta(
        requests: list[tuple[str, dict[str, Any] | None]]) -> None:
    """Whatever came before, each request gets exactly one outcome decided by its own _meta:
    an event carrying that _meta's version, capabilities and level, or an error answer with
    its id: -32602 without the required fields, -32022 for another revision, -32601 for a
    method the revision removed. (The first request started the era.)"""
    conn = server()
    conn.receive_data(request("first", "tools/list"))
    conn.send_response(drain_events(conn)[0].request_id, {})  # type: ignore[attr-defined]
    conn.data_to_send()
    for rid, (method, meta_) in enumerate(requests):
        params: dict[str, Any] = {"name": "t"} if method == "tools/call" else {}
        if meta_ is not None:
            params["_meta"] = meta_
        conn.receive_data(frame({"jsonrpc": "2.0", "id": rid, "method": method,
                                 "params": params}))
        try:
            events = drain_events(conn)
        except RemoteProtocolError as exc:
            assert not exc.fatal and exc.response_hint is not None
            hint = _codec.loads(exc.response_hint)
            assert hint["id"] == rid
            code = hint["error"]["code"]
            if method in ("ping", "logging/setLevel"):
                assert code == -32601
            elif meta_ is None or META_PROTOCOL_VERSION not in meta_:
                assert code == -32602
            else:
                assert code == -32022 and hint["error"]["data"]["requested"] == "1999-01-01"
            assert drain_events(conn) == []
            continue
        assert meta_ is not None and meta_.get(META_PROTOCOL_VERSION) == V
        assert method not in ("ping", "logging/setLevel")
        (event,) = events
        assert isinstance(event, RequestReceived) and event.request_id == rid
        assert event.protocol_version == V
        assert event.client_capabilities == meta_[META_CLIENT_CAPABILITIES]
        assert event.log_level == meta_.get(META_LOG_LEVEL)
        conn.send_response(rid, {})
        [answer] = sent(conn)
        assert answer["id"] == rid and answer["result"]["resultType"] == "complete"
    assert conn.serving_requests == frozenset()
