"""sansio/tasks.py: the task state machine, the per-request task decision, the error rules and
the wire forms of both revisions; and the engine's judgement of ``tasks/*`` requests."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sansio import Connection, ErrorCode, LocalProtocolError, RequestReceived, Role, _codec
from sansio import types as t
from sansio.tasks import (
    EXTENSION_ID,
    TERMINAL,
    TRANSITIONS,
    Dispatch,
    TaskState,
    TaskStatus,
    check_task_request,
    decide_tool_call,
    iso8601,
    new_task_id,
)
from sansio.testing import drain_events
from sansio.versions import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from tests.helpers import frame

V5 = "2026-07-28"
V4 = "2025-11-25"
DECLARED = {"extensions": {EXTENSION_ID: {}}}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def state(**kwargs: Any) -> TaskState:
    kwargs.setdefault("ttl", 60.0)
    kwargs.setdefault("poll_interval", 0.5)
    return TaskState("tid", "tools/call", 1_700_000_000.0, **kwargs)


# ------------------------------------------------------------------ the decision


@pytest.mark.parametrize(("support", "caps", "expected"), [
    ("forbidden", DECLARED, Dispatch.SYNC),
    ("optional", DECLARED, Dispatch.TASK),
    ("required", DECLARED, Dispatch.TASK),
    ("optional", {}, Dispatch.SYNC),
    ("forbidden", {}, Dispatch.SYNC),
])
def test_2026_the_server_decides_for_a_client_that_declared_the_extension(
        support: Any, caps: dict[str, Any], expected: Dispatch) -> None:
    assert decide_tool_call(support, version=V5, client_capabilities=caps,
                            params={"name": "x"}) is expected


def test_2026_a_required_tool_for_a_non_declaring_client_is_32021_with_the_extension() -> None:
    with pytest.raises(LocalProtocolError) as info:
        decide_tool_call("required", version=V5, client_capabilities={}, params={})
    assert info.value.code == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY == -32021
    assert info.value.data == {"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}


def test_2026_a_legacy_task_param_does_not_promote_a_forbidden_tool() -> None:
    assert decide_tool_call("forbidden", version=V5, client_capabilities=DECLARED,
                            params={"task": {"ttl": 1000}}) is Dispatch.SYNC


def test_2025_11_25_the_client_asks_with_the_task_param() -> None:
    asked = {"name": "x", "task": {"ttl": 1000}}
    assert decide_tool_call("optional", version=V4, client_capabilities={},
                            params=asked) is Dispatch.TASK
    assert decide_tool_call("optional", version=V4, client_capabilities=DECLARED,
                            params={"name": "x"}) is Dispatch.SYNC
    assert decide_tool_call("forbidden", version=V4, client_capabilities={},
                            params=asked) is Dispatch.SYNC
    with pytest.raises(LocalProtocolError) as info:
        decide_tool_call("required", version=V4, client_capabilities={}, params={})
    assert info.value.code == ErrorCode.METHOD_NOT_FOUND


def test_before_2025_11_25_there_are_no_tasks() -> None:
    assert decide_tool_call("optional", version="2025-06-18", client_capabilities={},
                            params={"task": {}}) is Dispatch.SYNC
    with pytest.raises(LocalProtocolError):
        decide_tool_call("required", version="2025-06-18", client_capabilities={}, params={})


@pytest.mark.parametrize(("method", "version", "caps", "code"), [
    ("tasks/result", V5, DECLARED, -32601),
    ("tasks/list", V5, DECLARED, -32601),
    ("tasks/get", V5, {}, -32021),
    ("tasks/update", V5, {}, -32021),
    ("tasks/cancel", V5, {}, -32021),
    ("tasks/update", V4, {}, -32601),
    ("tasks/get", "2025-06-18", {}, -32601),
])
def test_check_task_request_refuses(method: str, version: str, caps: dict[str, Any],
                                    code: int) -> None:
    with pytest.raises(LocalProtocolError) as info:
        check_task_request(method, version, caps)
    assert info.value.code == code


def test_check_task_request_accepts() -> None:
    for method in ("tasks/get", "tasks/update", "tasks/cancel"):
        check_task_request(method, V5, DECLARED)
    for method in ("tasks/get", "tasks/result", "tasks/list", "tasks/cancel"):
        check_task_request(method, V4, {})


# ------------------------------------------------------------------ the state machine


def test_transitions_end_in_terminal_states_that_are_final() -> None:
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()
    assert TaskStatus.WORKING in TRANSITIONS[TaskStatus.INPUT_REQUIRED]
    assert TaskStatus.INPUT_REQUIRED in TRANSITIONS[TaskStatus.WORKING]


def test_a_completed_task_cannot_fail_and_cancel_is_idempotent() -> None:
    s = state()
    s.complete({"content": []}, 1_700_000_001.0)
    with pytest.raises(ValueError, match="illegal status change completed -> failed"):
        s.fail(-32603, "x", now=1_700_000_002.0)
    assert s.cancel(1_700_000_003.0) is False
    assert s.status is TaskStatus.COMPLETED and s.updated_at == 1_700_000_001.0


def test_partial_answers_keep_the_task_input_required_until_the_last() -> None:
    s = state()
    s.ask({"a": {"method": "elicitation/create", "params": {}},
           "b": {"method": "elicitation/create", "params": {}}}, 1_700_000_001.0)
    assert s.status is TaskStatus.INPUT_REQUIRED
    assert s.answer({"a": {"action": "accept"}, "zzz": {}}, 1_700_000_002.0) == {
        "a": {"action": "accept"}}
    assert s.status is TaskStatus.INPUT_REQUIRED and list(s.input_requests) == ["b"]
    assert s.answer({"b": {"action": "decline"}}, 1_700_000_003.0) == {
        "b": {"action": "decline"}}
    assert s.status is TaskStatus.WORKING and s.input_requests == {}


def test_answers_to_a_working_task_are_ignored() -> None:
    s = state()
    assert s.answer({"a": 1}, 1_700_000_001.0) == {}
    assert s.status is TaskStatus.WORKING


# ------------------------------------------------------------------ wire forms


def test_create_result_is_flat_with_iso_times_and_integer_milliseconds() -> None:
    out = state(ttl=60.0, poll_interval=0.25).create_result()
    assert out == {"taskId": "tid", "status": "working", "resultType": "task",
                   "createdAt": "2023-11-14T22:13:20.000Z",
                   "lastUpdatedAt": "2023-11-14T22:13:20.000Z",
                   "ttlMs": 60000, "pollIntervalMs": 250}
    assert all(key not in out for key in ("task", "ttl", "pollInterval", "result", "error",
                                          "inputRequests", "requestState"))
    t.structure(out, t.ExtCreateTaskResult)


def test_unlimited_ttl_is_null() -> None:
    assert state(ttl=None).create_result()["ttlMs"] is None


def test_detailed_task_by_status() -> None:
    s = state()
    assert "result" not in s.get_result() and s.get_result()["resultType"] == "complete"
    s.ask({"k": {"method": "elicitation/create", "params": {"message": "m"}}}, 1_700_000_001.0)
    got = s.get_result()
    assert got["status"] == "input_required"
    assert got["inputRequests"] == {"k": {"method": "elicitation/create",
                                          "params": {"message": "m"}}}
    s.answer({"k": {"action": "accept"}}, 1_700_000_002.0)
    s.complete({"content": [{"type": "text", "text": "x"}], "isError": True}, 1_700_000_003.0)
    got = s.get_result()
    assert got["result"] == {"content": [{"type": "text", "text": "x"}], "isError": True}
    assert "_meta" not in got["result"] and "error" not in got
    t.structure(got, t.ExtGetTaskResult)


def test_a_failed_task_carries_the_json_rpc_error_and_no_result() -> None:
    s = state()
    s.fail(-32603, "boom", {"why": 1}, now=1_700_000_001.0)
    got = s.get_result()
    assert got["error"] == {"code": -32603, "message": "boom", "data": {"why": 1}}
    assert "result" not in got and got["statusMessage"] == "boom"


def test_legacy_forms_nest_the_task_and_tag_the_payload() -> None:
    s = state()
    legacy = s.legacy_create_result()
    assert set(legacy) == {"task"} and legacy["task"]["ttl"] == 60000
    assert legacy["task"]["pollInterval"] == 500
    t.structure(legacy, t.CreateTaskResult)
    with pytest.raises(LocalProtocolError):
        s.legacy_payload()
    s.complete({"content": []}, 1_700_000_001.0)
    assert s.legacy_payload() == {"content": [], "_meta": {
        "io.modelcontextprotocol/related-task": {"taskId": "tid"}}}


def test_iso8601_and_ids() -> None:
    assert ISO.match(iso8601(0.5)) and iso8601(0.5) == "1970-01-01T00:00:00.500Z"
    assert len(new_task_id(bytes(18))) == 24
    with pytest.raises(ValueError):
        new_task_id(bytes(8))


# ------------------------------------------------------------------ the engine


def _request(rid: int, method: str, params: dict[str, Any], caps: dict[str, Any]) -> bytes:
    params = {**params, "_meta": {META_PROTOCOL_VERSION: V5, META_CLIENT_CAPABILITIES: caps}}
    return frame({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})


def _server(caps: dict[str, Any]) -> Connection:
    return Connection(Role.SERVER, server_info={"name": "s", "version": "1"},
                      server_capabilities=caps)


def _answer(conn: Connection, data: bytes) -> Any:
    conn.receive_data(data)
    try:
        return drain_events(conn)
    except Exception as exc:  # a refusal: its owed answer
        hint = getattr(exc, "response_hint", None)
        assert hint is not None
        return _codec.loads(hint)


def test_engine_passes_extension_requests_to_a_server_that_offers_it() -> None:
    conn = _server({"tools": {}, "extensions": {EXTENSION_ID: {}}})
    for rid, method in enumerate(("tasks/get", "tasks/update", "tasks/cancel"), 1):
        params: dict[str, Any] = {"taskId": "x"}
        if method == "tasks/update":
            params["inputResponses"] = {}
        (event,) = _answer(conn, _request(rid, method, params, DECLARED))
        assert isinstance(event, RequestReceived) and event.method == method


def test_engine_refuses_a_non_declaring_request_with_32021_every_time() -> None:
    conn = _server({"tools": {}, "extensions": {EXTENSION_ID: {}}})
    for rid in (1, 2):  # the judgement is per request (not cached by method)
        answer = _answer(conn, _request(rid, "tasks/get", {"taskId": "x"}, {}))
        assert answer["error"]["code"] == -32021
        assert answer["error"]["data"]["requiredCapabilities"]["extensions"] == {
            EXTENSION_ID: {}}
    (event,) = _answer(conn, _request(3, "tasks/get", {"taskId": "x"}, DECLARED))
    assert isinstance(event, RequestReceived)


def test_engine_answers_removed_and_unoffered_methods_32601() -> None:
    conn = _server({"tools": {}, "extensions": {EXTENSION_ID: {}}})
    for rid, method in enumerate(("tasks/result", "tasks/list"), 1):
        assert _answer(conn, _request(rid, method, {"taskId": "x"}, DECLARED)
                       )["error"]["code"] == -32601
    plain = _server({"tools": {}})
    assert _answer(plain, _request(9, "tasks/get", {"taskId": "x"}, DECLARED)
                   )["error"]["code"] == -32601


def test_discover_leaves_out_the_2025_11_25_tasks_capability() -> None:
    conn = _server({"tools": {}, "tasks": {"list": {}}, "extensions": {EXTENSION_ID: {}}})
    (event,) = _answer(conn, _request(1, "server/discover", {}, {}))
    conn.send_discover_result(event.request_id)
    (out,) = [_codec.loads(f.data) for f in conn.frames_to_send()]
    caps = out["result"]["capabilities"]
    assert "tasks" not in caps and caps["extensions"] == {EXTENSION_ID: {}}


# ------------------------------------------------------------------ HTTP: Mcp-Name


@pytest.mark.parametrize("method", ["tasks/get", "tasks/update", "tasks/cancel"])
def test_http_tasks_requests_need_mcp_name_equal_to_the_task_id(method: str) -> None:
    from sansio.http import OpenStream
    from tests.test_http_modern import Endpoint, assert_error, rpc

    ep = Endpoint()
    params: dict[str, Any] = {"taskId": "abc"}
    if method == "tasks/update":
        params["inputResponses"] = {}
    message = rpc(method, params, rid=4)
    assert isinstance(ep.post(message, mcp_name="abc"), OpenStream)
    assert_error(ep.post(message), 400, -32020, 4)  # no Mcp-Name
    assert_error(ep.post(message, mcp_name="other"), 400, -32020, 4)


def test_http_removed_tasks_methods_are_404_32601() -> None:
    from tests.test_http_modern import Endpoint, assert_error, rpc

    ep = Endpoint()
    for method in ("tasks/result", "tasks/list"):
        assert_error(ep.post(rpc(method, {"taskId": "abc"}, rid=5)), 404, -32601, 5)


# ------------------------------------------------------------------ the client engine


def test_client_engine_takes_a_task_handle_and_sends_the_extension_requests() -> None:
    from sansio import ResponseReceived

    conn = Connection(Role.CLIENT)
    conn.start_stateless(client_capabilities=DECLARED, client_info={"name": "c", "version": "1"})
    rid = conn.send_request("tools/call", {"name": "job", "arguments": {}})
    conn.frames_to_send()
    handle = state().create_result()
    conn.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": handle}))
    (event,) = drain_events(conn)
    assert isinstance(event, ResponseReceived) and event.result_type == "task"
    assert isinstance(event.typed, t.ExtCreateTaskResult) and event.typed.ttl_ms == 60000
    for method, params in (("tasks/get", {"taskId": "tid"}),
                           ("tasks/update", {"taskId": "tid", "inputResponses": {}}),
                           ("tasks/cancel", {"taskId": "tid"})):
        sent_id = conn.send_request(method, params)
        conn.frames_to_send()
        answer = state().get_result() if method == "tasks/get" else {"resultType": "complete"}
        conn.receive_data(frame({"jsonrpc": "2.0", "id": sent_id, "result": answer}))
        (event,) = drain_events(conn)
        assert isinstance(event, ResponseReceived) and event.method == method
    assert isinstance(event.typed, t.ExtTaskAck)


def test_client_engine_takes_a_2025_11_25_task_handle() -> None:
    from sansio import ResponseReceived
    from tests.helpers import operating_pair

    pair = operating_pair(V4, server_caps={"tools": {}, "tasks": {
        "requests": {"tools": {"call": {}}}}})
    conn = pair.client
    rid = conn.send_request("tools/call", {"name": "job", "arguments": {}, "task": {}})
    conn.frames_to_send()
    conn.receive_data(frame({"jsonrpc": "2.0", "id": rid,
                             "result": state().legacy_create_result()}))
    (event,) = drain_events(conn)
    assert isinstance(event, ResponseReceived) and isinstance(event.typed, t.CreateTaskResult)
