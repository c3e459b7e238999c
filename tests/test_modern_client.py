"""The client engine in the stateless era (MCP 2026-07-28): ``start_stateless`` and the
per-request ``_meta`` it stamps; modern results and errors."""

from __future__ import annotations

from typing import Any

import pytest

from sansio import (
    HANDSHAKE_VERSIONS,
    Connection,
    Era,
    ErrorCode,
    ErrorObject,
    ErrorReceived,
    FrameKind,
    InputRequired,
    LocalProtocolError,
    RemoteProtocolError,
    ResponseReceived,
    Role,
    State,
    _codec,
)
from sansio.testing import ConnectionPair, drain_events
from sansio.versions import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
)
from tests.helpers import frame

V = "2026-07-28"
INFO = {"name": "c", "version": "1"}


def client(**start: Any) -> Connection:
    conn = Connection(Role.CLIENT)
    conn.start_stateless(client_capabilities=start.pop("caps", {"roots": {}}),
                         client_info=INFO, **start)
    return conn


def sent(conn: Connection) -> list[Any]:
    return [_codec.loads(f.data) for f in conn.frames_to_send()]


def test_start_stateless_moves_to_stateless_and_sends_nothing() -> None:
    conn = Connection(Role.CLIENT)
    conn.start_stateless()
    assert conn.state is State.STATELESS and conn.era is Era.STATELESS
    assert conn.protocol_version == V
    assert conn.data_to_send() == b""


def test_every_request_is_stamped() -> None:
    conn = client()
    rid = conn.send_request("tools/call", {"name": "t", "arguments": {}})
    [f] = conn.frames_to_send()
    assert f.kind is FrameKind.REQUEST and f.request_id == rid and f.method == "tools/call"
    assert f.protocol_version == V
    assert _codec.loads(f.data)["params"] == {"name": "t", "arguments": {}, "_meta": {
        META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: {"roots": {}},
        META_CLIENT_INFO: INFO}}
    conn.send_request("tools/list")
    [msg] = sent(conn)
    assert msg["params"]["_meta"][META_PROTOCOL_VERSION] == V


def test_log_level_per_connection_and_per_request() -> None:
    conn = client(log_level="error")
    conn.send_request("tools/list")
    conn.send_request("tools/list", log_level="debug")
    first, second = sent(conn)
    assert first["params"]["_meta"][META_LOG_LEVEL] == "error"
    assert second["params"]["_meta"][META_LOG_LEVEL] == "debug"
    with pytest.raises(LocalProtocolError):
        conn.send_request("tools/list", log_level="verbose")


def test_callers_meta_wins_and_progress_tokens_still_work() -> None:
    conn = client()
    conn.send_request("tools/call", {"name": "t", "_meta": {
        META_CLIENT_CAPABILITIES: {}, "traceparent": "00-ab-cd-01"}}, progress_token="p")
    [msg] = sent(conn)
    assert msg["params"]["_meta"] == {
        META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: {}, META_CLIENT_INFO: INFO,
        "traceparent": "00-ab-cd-01", "progressToken": "p"}


def test_start_stateless_is_refused_where_it_does_not_apply() -> None:
    with pytest.raises(LocalProtocolError):
        Connection(Role.SERVER).start_stateless()
    with pytest.raises(LocalProtocolError):
        Connection(Role.CLIENT, supported_versions=HANDSHAKE_VERSIONS).start_stateless()
    with pytest.raises(LocalProtocolError):
        Connection(Role.CLIENT).start_stateless("2025-11-25")
    conn = Connection(Role.CLIENT)
    conn.send_initialize(INFO)
    with pytest.raises(LocalProtocolError):
        conn.start_stateless()
    conn = client()
    with pytest.raises(LocalProtocolError):
        conn.start_stateless()
    with pytest.raises(LocalProtocolError):
        conn.send_initialize(INFO)


@pytest.mark.parametrize("method", ["ping", "logging/setLevel", "resources/subscribe",
                                    "resources/unsubscribe"])
def test_removed_methods_are_refused_locally(method: str) -> None:
    conn = client()
    with pytest.raises(LocalProtocolError) as info:
        conn.send_request(method, {"level": "info", "uri": "a://b"})
    assert info.value.code == ErrorCode.METHOD_NOT_FOUND
    assert conn.data_to_send() == b""


def test_removed_notifications_are_refused_locally() -> None:
    conn = client()
    for method in ("notifications/roots/list_changed", "notifications/initialized"):
        with pytest.raises(LocalProtocolError):
            conn.send_notification(method)


def test_modern_results_are_accepted() -> None:
    pair = ConnectionPair.stateless(server_capabilities={"tools": {}})
    event = pair.call(pair.client, "tools/call", {"name": "t"},
                      {"content": [{"type": "text", "text": "ok"}]})
    assert event.result_type == "complete" and event.typed is not None
    assert event.typed.content[0].text == "ok"


def test_an_absent_result_type_means_complete() -> None:
    conn = client()
    rid = conn.send_request("tools/list")
    conn.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {"tools": []}}))
    [event] = drain_events(conn)
    assert isinstance(event, ResponseReceived) and event.result_type == "complete"


def test_input_required_is_an_input_required_event() -> None:
    conn = client()
    rid = conn.send_request("tools/call", {"name": "t"})
    result = {"resultType": "input_required", "requestState": "s"}
    conn.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": result}))
    assert drain_events(conn) == [InputRequired(rid, "tools/call", {"name": "t"}, {}, "s",
                                                result)]


def test_an_unknown_result_type_finishes_the_request_with_an_error() -> None:
    conn = client()
    rid = conn.send_request("tools/call", {"name": "t"})
    conn.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {
        "resultType": "maybe", "content": []}}))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.finished_request == rid and not info.value.fatal
    assert conn.pending_requests == frozenset()


@pytest.mark.parametrize("error", [
    {"code": -32022, "message": "Unsupported protocol version",
     "data": {"supported": ["2025-11-25"], "requested": V}},
    {"code": -32021, "message": "Missing required client capability",
     "data": {"requiredCapabilities": {"sampling": {}}}},
    {"code": -32020, "message": "Header mismatch"},
], ids=["unsupported-version", "missing-capability", "header-mismatch"])
def test_modern_errors_arrive_with_their_data(error: dict[str, Any]) -> None:
    conn = client()
    rid = conn.send_request("tools/call", {"name": "t"})
    conn.receive_data(frame({"jsonrpc": "2.0", "id": rid, "error": error}))
    assert drain_events(conn) == [ErrorReceived(rid, "tools/call", ErrorObject(
        error["code"], error["message"], error.get("data")))]


def test_the_server_refuses_a_version_and_the_client_sees_why() -> None:
    pair = ConnectionPair.stateless()
    pair.server = Connection(Role.SERVER, supported_versions=["2025-11-25", V])
    pair.client = Connection(Role.CLIENT, supported_versions=["2025-11-25", V])
    pair.client.start_stateless()
    rid = pair.client.send_request("tools/call", {"name": "t", "_meta": {
        META_PROTOCOL_VERSION: "2027-01-01"}})
    exc = pair.expect_refusal(pair.client)
    assert exc.response_hint is not None
    pair.client.receive_data(exc.response_hint)
    [event] = drain_events(pair.client)
    assert isinstance(event, ErrorReceived) and event.request_id == rid
    assert event.error.code == ErrorCode.UNSUPPORTED_PROTOCOL_VERSION
    assert event.error.data == {"supported": [V, "2025-11-25"], "requested": "2027-01-01"}


def test_server_requests_are_method_not_found_for_a_modern_client() -> None:
    conn = client()
    conn.receive_data(frame({"jsonrpc": "2.0", "id": "s1", "method": "roots/list"}))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.code == ErrorCode.METHOD_NOT_FOUND
    assert info.value.response_hint is not None
    assert _codec.loads(info.value.response_hint)["id"] == "s1"


def test_log_and_progress_notifications_reach_the_client() -> None:
    pair = ConnectionPair.stateless(log_level="info")
    rid, _ = pair.request(pair.client, "tools/call", {"name": "t"}, progress_token=5)
    s = pair.server
    s.send_notification("notifications/progress", {"progressToken": 5, "progress": 0.5})
    s.send_notification("notifications/message", {"level": "info", "data": "x"},
                        related_request_id=rid)
    events = pair.deliver(s)
    assert [type(e).__name__ for e in events] == ["ProgressReceived", "NotificationReceived"]
    assert events[0].request_id == rid  # type: ignore[attr-defined]


def test_cancel_in_the_stateless_era() -> None:
    pair = ConnectionPair.stateless()
    rid, _ = pair.request(pair.client, "tools/call", {"name": "t"})
    pair.client.cancel(rid, "enough")
    [f] = pair.client.frames_to_send()
    assert f.kind is FrameKind.NOTIFICATION and f.method == "notifications/cancelled"
    pair.server.receive_data(f.data)
    [event] = drain_events(pair.server)
    assert event.request_id == rid  # type: ignore[attr-defined]


def test_server_info_is_for_a_server() -> None:
    with pytest.raises(ValueError):
        Connection(Role.CLIENT, server_info=INFO)
