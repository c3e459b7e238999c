"""sansio.task_client: reading task answers of both revisions and deciding what a polling
client does next (poll after pollIntervalMs with a bounded backoff, answer input requests once,
fetch the result, finish), plus the engine's acceptance of a task answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sansio import Connection, RemoteProtocolError, ResponseReceived, Role
from sansio import task_client as tc
from sansio import types as t
from sansio.jsonrpc import ErrorObject

TASK = {"taskId": "t1", "status": "working", "createdAt": "2026-01-01T00:00:00Z",
        "lastUpdatedAt": "2026-01-01T00:00:00Z"}
MODERN = {**TASK, "resultType": "task", "ttlMs": 60000, "pollIntervalMs": 1000}
LEGACY = {"task": {**TASK, "ttl": 60000, "pollInterval": 1000}}
ELICIT = {"method": "elicitation/create", "params": {
    "mode": "form", "message": "name?", "requestedSchema": {"type": "object"}}}


def snap(modern: bool = True, **fields: Any) -> tc.TaskSnapshot:
    base = {**TASK, "ttlMs": 60000, "pollIntervalMs": 1000} if modern else \
        {**TASK, "ttl": 60000, "pollInterval": 1000}
    return tc.parse_task({**base, **fields}, modern=modern)


# ---------------------------------------------------------------- parsing


def test_created_of_both_revisions() -> None:
    modern = tc.parse_created(MODERN, modern=True)
    legacy = tc.parse_created(LEGACY, modern=False)
    for s in (modern, legacy):
        assert (s.task_id, s.status, s.ttl_ms, s.poll_interval_ms) == ("t1", "working", 60000,
                                                                       1000)
        assert not s.terminal
    assert tc.created_task(MODERN, modern=True, augmented=False) == modern
    assert tc.created_task({"content": []}, modern=True, augmented=False) is None
    assert tc.created_task(LEGACY, modern=False, augmented=True) == legacy
    # 2025-11-25: a {"task": ...} answer is a task only when the request asked for one
    assert tc.created_task(LEGACY, modern=False, augmented=False) is None


def test_detailed_tasks_of_2026_07_28() -> None:
    done = snap(status="completed", result={"content": [], "isError": True})
    assert done.terminal and done.result == {"content": [], "isError": True}
    failed = snap(status="failed", error={"code": -32603, "message": "boom", "data": [1]})
    assert failed.error == ErrorObject(-32603, "boom", [1])
    asking = snap(status="input_required", inputRequests={"k": ELICIT})
    assert asking.input_requests == {"k": ELICIT}
    assert snap(ttlMs=None).ttl_ms is None


@pytest.mark.parametrize("bad", [
    {"taskId": 3}, {"status": "paused"}, {"ttlMs": -1}, {"ttlMs": "5"},
    {"pollIntervalMs": 1.5}, {"statusMessage": 7},
    {"status": "completed"}, {"status": "completed", "result": []},
    {"status": "failed", "error": {"code": "x", "message": "m"}},
    {"status": "failed"}, {"status": "input_required", "inputRequests": []},
])
def test_malformed_tasks_are_one_clear_error(bad: dict[str, Any]) -> None:
    with pytest.raises(tc.MalformedTask):
        snap(**bad)


def test_malformed_created() -> None:
    with pytest.raises(tc.MalformedTask, match="task object"):
        tc.parse_created({"task": []}, modern=False)
    with pytest.raises(tc.MalformedTask):
        tc.parse_created({"resultType": "task"}, modern=True)


def test_declaring_the_extension() -> None:
    caps = {"sampling": {}, "extensions": {"other": {"x": 1}}}
    declared = tc.declare_tasks(caps)
    assert declared == {"sampling": {}, "extensions": {"other": {"x": 1},
                                                        tc.TASKS_EXTENSION: {}}}
    assert caps == {"sampling": {}, "extensions": {"other": {"x": 1}}}  # not changed
    meta = {"_meta": {tc.CLIENT_CAPABILITIES_META: declared}}
    assert tc.task_augmented(meta, stateless=True)
    assert not tc.task_augmented({"_meta": {tc.CLIENT_CAPABILITIES_META: caps}}, True)
    assert not tc.task_augmented(meta, stateless=False)
    assert tc.task_augmented({"task": {}}, stateless=False)
    assert not tc.task_augmented(None, stateless=False)


# ---------------------------------------------------------------- decisions, 2026-07-28


def test_modern_poll_to_completion() -> None:
    poller = tc.TaskPoller(tc.parse_created(MODERN, modern=True), modern=True, now=0.0)
    assert poller.first() == tc.Poll(1.0)  # the server's pollIntervalMs
    assert poller.observe(snap(statusMessage="step 1"), 1.0) == tc.Poll(1.0)
    result = {"content": [{"type": "text", "text": "ok"}]}
    assert poller.observe(snap(status="completed", result=result), 2.0) == tc.Completed(result)


def test_modern_failed_and_cancelled() -> None:
    poller = tc.TaskPoller(snap(), modern=True, now=0.0)
    action = poller.observe(snap(status="failed", error={"code": -32602, "message": "no"}), 1)
    assert action == tc.Failed(ErrorObject(-32602, "no"))
    poller = tc.TaskPoller(snap(), modern=True, now=0.0)
    assert poller.observe(snap(status="cancelled", statusMessage="by user"), 1) == \
        tc.Cancelled("by user")
    assert tc.TaskPoller(snap(status="cancelled"), modern=True, now=0).first() == \
        tc.Cancelled(None)


def test_a_task_created_completed_is_polled_at_once_for_its_result() -> None:
    poller = tc.TaskPoller(snap(status="completed", result={"content": []}), modern=True,
                           now=0.0)
    assert poller.first() == tc.Poll(0.0)


def test_input_requests_are_answered_once_each() -> None:
    poller = tc.TaskPoller(snap(), modern=True, now=0.0)
    asking = snap(status="input_required", inputRequests={"a": ELICIT},
                  lastUpdatedAt="2026-01-01T00:00:01Z")
    assert poller.observe(asking, 1.0) == tc.Answer({"a": ELICIT})
    assert poller.answered() == tc.Poll(1.0)
    # the server repeats the outstanding request until it has the answer: not asked again
    assert poller.observe(asking, 2.0) == tc.Poll(1.5)
    both = snap(status="input_required", inputRequests={"a": ELICIT, "b": ELICIT},
                lastUpdatedAt="2026-01-01T00:00:02Z")
    assert poller.observe(both, 3.0) == tc.Answer({"b": ELICIT})


def test_too_many_input_requests_is_an_error() -> None:
    policy = tc.PollPolicy(max_input_keys=2)
    poller = tc.TaskPoller(snap(), modern=True, now=0.0, policy=policy)
    many = snap(status="input_required", inputRequests={str(i): ELICIT for i in range(3)})
    with pytest.raises(tc.MalformedTask, match="more than 2 inputs"):
        poller.observe(many, 1.0)


def test_backoff_grows_while_nothing_changes_and_is_bounded() -> None:
    policy = tc.PollPolicy(initial=0.5, minimum=0.05, maximum=4.0, factor=2.0)
    poller = tc.TaskPoller(snap(pollIntervalMs=None), modern=True, now=0.0, policy=policy)
    assert poller.first() == tc.Poll(0.5)  # no pollIntervalMs: the policy's initial
    same = snap(pollIntervalMs=None)
    delays = []
    for i in range(6):
        action = poller.observe(same, float(i))
        assert isinstance(action, tc.Poll)
        delays.append(action.delay)
    assert delays == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    changed = snap(pollIntervalMs=None, statusMessage="moved")
    assert poller.observe(changed, 7.0) == tc.Poll(0.5)  # a change resets the backoff


def test_server_intervals_are_clamped() -> None:
    policy = tc.PollPolicy(minimum=0.1, maximum=10.0)
    assert tc.TaskPoller(snap(pollIntervalMs=0), modern=True, now=0,
                         policy=policy).first() == tc.Poll(0.1)
    assert tc.TaskPoller(snap(pollIntervalMs=3_600_000), modern=True, now=0,
                         policy=policy).first() == tc.Poll(10.0)


def test_no_change_for_longer_than_the_ttl_expires() -> None:
    poller = tc.TaskPoller(snap(ttlMs=5000), modern=True, now=100.0)
    assert isinstance(poller.observe(snap(ttlMs=5000), 104.0), tc.Poll)
    assert poller.observe(snap(ttlMs=5000), 105.5) == tc.Expired(5.5)
    # an unlimited ttl never expires
    poller = tc.TaskPoller(snap(ttlMs=None), modern=True, now=0.0)
    assert isinstance(poller.observe(snap(ttlMs=None), 1e9), tc.Poll)


def test_another_task_or_a_revived_one_is_refused() -> None:
    poller = tc.TaskPoller(snap(), modern=True, now=0.0)
    with pytest.raises(tc.MalformedTask, match="asked for task t1"):
        poller.observe(snap(taskId="t2"), 1.0)
    poller = tc.TaskPoller(snap(status="cancelled"), modern=True, now=0.0)
    with pytest.raises(tc.MalformedTask, match="left terminal"):
        poller.observe(snap(), 1.0)


def test_policy_bounds() -> None:
    for bad in ({"minimum": 0}, {"minimum": 5, "maximum": 1}, {"factor": 0.5},
                {"initial": 0}, {"max_input_keys": 0}):
        with pytest.raises(ValueError):
            tc.PollPolicy(**bad)


# ---------------------------------------------------------------- decisions, 2025-11-25


def test_legacy_polls_then_fetches_the_result() -> None:
    created = tc.parse_created(LEGACY, modern=False)
    poller = tc.TaskPoller(created, modern=False, now=0.0)
    assert poller.first() == tc.Poll(1.0)
    assert poller.observe(snap(False, statusMessage="s"), 1.0) == tc.Poll(1.0)
    # input_required: tasks/result, while which the server sends its requests
    assert poller.observe(snap(False, status="input_required"), 2.0) == tc.FetchResult()
    for status in ("completed", "failed"):
        poller = tc.TaskPoller(created, modern=False, now=0.0)
        assert poller.observe(snap(False, status=status), 1.0) == tc.FetchResult()
    poller = tc.TaskPoller(created, modern=False, now=0.0)
    assert poller.observe(snap(False, status="cancelled"), 1.0) == tc.Cancelled(None)
    assert tc.TaskPoller(snap(False, status="completed"), modern=False,
                         now=0).first() == tc.FetchResult()


# ---------------------------------------------------------------- the engine


def modern_client() -> Connection:
    conn = Connection(Role.CLIENT)
    conn.start_stateless("2026-07-28", {}, t.Implementation(name="c", version="1"))
    return conn


def answer(conn: Connection, rid: int, result: dict[str, Any]) -> Any:
    conn.receive_data(json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}).encode()
                      + b"\n")
    return conn.next_event()


def test_engine_takes_a_task_answer_only_when_the_request_declared_the_extension() -> None:
    conn = modern_client()
    declared = {"_meta": {tc.CLIENT_CAPABILITIES_META: tc.declare_tasks({})}}
    rid = conn.send_request("tools/call", {"name": "x", **declared})
    event = answer(conn, rid, MODERN)
    assert isinstance(event, ResponseReceived) and event.result_type == "task"
    assert event.result == MODERN
    rid = conn.send_request("tools/call", {"name": "x"})
    with pytest.raises(RemoteProtocolError, match="unknown resultType 'task'"):
        answer(conn, rid, MODERN)


def test_engine_sends_the_extension_requests_and_passes_their_answers_on() -> None:
    conn = modern_client()
    ids = [conn.send_request(m, {"taskId": "t1"}) for m in sorted(tc.TASK_EXTENSION_REQUESTS)]
    sent = [json.loads(line) for line in conn.data_to_send().splitlines()]
    assert [m["method"] for m in sent] == sorted(tc.TASK_EXTENSION_REQUESTS)
    detailed = {**MODERN, "resultType": "complete"}
    event = answer(conn, ids[1], detailed)  # tasks/get: 2025-11-25's type would refuse ttlMs
    assert isinstance(event, ResponseReceived) and event.result == detailed
    event = answer(conn, ids[0], {"resultType": "complete"})  # tasks/cancel: an empty ack
    assert isinstance(event, ResponseReceived)


def test_engine_2025_11_25_takes_create_task_result_for_an_augmented_call() -> None:
    from tests.helpers import operating_pair

    pair = operating_pair("2025-11-25")
    client = pair.client
    rid = client.send_request("tools/call", {"name": "x", "task": {"ttl": 1000}})
    event = answer(client, rid, LEGACY)
    assert isinstance(event, ResponseReceived)
    assert isinstance(event.typed, t.CreateTaskResult) and event.typed.task.task_id == "t1"
    # not augmented: the same answer is an invalid CallToolResult
    rid = client.send_request("tools/call", {"name": "x"})
    with pytest.raises(RemoteProtocolError, match="invalid result for tools/call"):
        answer(client, rid, LEGACY)
