"""Server-side tasks over the trio adapter: what a client sees on the wire.

2026-07-28 (the ``io.modelcontextprotocol/tasks`` extension) through a raw JSON-RPC client over
the in-memory transport (each request declares its own capabilities), and 2025-11-25 tasks
through a handshake-era :class:`~trio_adapter.Client`. The tool handlers are driven with
events, never sleeps.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from sansio.tasks import EXTENSION_ID, TaskState
from sansio.versions import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from trio_adapter import Client, Context, MCPError, Server, ToolError
from trio_adapter._transport import memory_transport_pair
from trio_adapter.tasks import InMemoryTaskStore, TaskLimitError, TaskRunner
from trio_adapter.testing import connected

V5 = "2026-07-28"
TASKS = {"extensions": {EXTENSION_ID: {}}}
ASKING = {"elicitation": {}, "sampling": {}, **TASKS}
NAME = {"type": "object", "properties": {"name": {"type": "string"}}}


class Gate:
    """Lets a test decide when a tool handler goes on."""

    def __init__(self) -> None:
        self.started = trio.Event()
        self.go = trio.Event()

    async def wait(self) -> None:
        self.started.set()
        await self.go.wait()


def make_server(**options: Any) -> tuple[Server, Gate]:
    gate = Gate()
    server = Server("tasks", "1.0", **options)

    @server.tool(structured_output=False)
    async def plain(name: str) -> str:
        return f"Hello, {name}!"

    @server.tool(structured_output=False, task_support="optional")
    async def job(label: str = "x") -> str:
        await gate.wait()
        return f"done {label}"

    @server.tool(structured_output=False, task_support="optional")
    async def quick(label: str = "x") -> str:
        return f"quick {label}"

    @server.tool(structured_output=False, task_support="required")
    async def tool_error() -> str:
        raise ToolError("it went wrong")

    @server.tool(structured_output=False, task_support="required")
    async def protocol_error() -> str:
        raise MCPError(-32603, "protocol trouble", {"why": "test"})

    @server.tool(structured_output=False, task_support="required")
    async def two_questions(ctx: Context) -> str:
        found: list[str] = []

        async def one(question: str) -> None:
            answer = await ctx.elicit(question, NAME)
            found.append(str((answer.content or {}).get("name")))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(one, "first?")
            nursery.start_soon(one, "second?")
        return " and ".join(sorted(found))

    @server.tool(structured_output=False, task_support="required")
    async def sampler(ctx: Context) -> str:
        result = await ctx.sample([{"role": "user", "content": {"type": "text", "text": "hi"}}],
                                  10, key="llm")
        return f"model {result.model}"

    @server.tool(structured_output=False, task_support="required")
    async def progress(ctx: Context) -> str:
        await ctx.report_progress(1, 4, "a quarter done")
        await ctx.log("info", "not sent: tasks carry no log messages")
        await gate.wait()
        await ctx.report_progress(3, 4)
        return "all done"

    @server.tool(structured_output=False, task_support="optional", defer_task=True)
    async def ask_then_task(ctx: Context) -> str:
        answer = await ctx.elicit("Name?", NAME, key="who")
        await ctx.begin_task()
        return f"Hi {(answer.content or {}).get('name')} (task {ctx.task_id is not None})"

    return server, gate


class Raw:
    """A 2026-07-28 client written by hand: JSON-RPC lines over a memory transport."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.ids = itertools.count(1)
        self.buffer = b""
        self.notifications: list[dict[str, Any]] = []

    async def send(self, method: str, params: dict[str, Any] | None = None, *,
                   caps: dict[str, Any] | None = None) -> int:
        rid = next(self.ids)
        p = dict(params or {})
        p.setdefault("_meta", {META_PROTOCOL_VERSION: V5,
                               META_CLIENT_CAPABILITIES: TASKS if caps is None else caps})
        await self.transport.send(json.dumps(
            {"jsonrpc": "2.0", "id": rid, "method": method, "params": p}).encode() + b"\n")
        return rid

    async def message(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            self.buffer += await self.transport.receive()
        line, self.buffer = self.buffer.split(b"\n", 1)
        message = json.loads(line)
        assert isinstance(message, dict)
        return message

    async def call(self, method: str, params: dict[str, Any] | None = None, *,
                   caps: dict[str, Any] | None = None) -> dict[str, Any]:
        """The response object (``result`` or ``error``)."""
        rid = await self.send(method, params, caps=caps)
        while True:
            message = await self.message()
            if message.get("id") == rid and "method" not in message:
                return message
            self.notifications.append(message)

    async def result(self, method: str, params: dict[str, Any] | None = None,
                     **kw: Any) -> dict[str, Any]:
        answer = await self.call(method, params, **kw)
        assert "result" in answer, answer
        result = answer["result"]
        assert isinstance(result, dict)
        return result

    async def error(self, method: str, params: dict[str, Any] | None = None,
                    **kw: Any) -> dict[str, Any]:
        answer = await self.call(method, params, **kw)
        assert "error" in answer, answer
        error = answer["error"]
        assert isinstance(error, dict)
        return error

    async def tool(self, name: str, arguments: dict[str, Any] | None = None,
                   **kw: Any) -> dict[str, Any]:
        return await self.result("tools/call", {"name": name, "arguments": arguments or {}},
                                 **kw)

    async def get(self, task_id: str) -> dict[str, Any]:
        return await self.result("tasks/get", {"taskId": task_id})

    async def until(self, task_id: str, *statuses: str) -> dict[str, Any]:
        """Poll tasks/get until the task is in one of ``statuses``."""
        while True:
            got = await self.get(task_id)
            if got["status"] in statuses:
                return got
            await trio.testing.wait_all_tasks_blocked()


@asynccontextmanager
async def raw(server: Server) -> AsyncIterator[Raw]:
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end):
        yield Raw(client_end)
        await client_end.aclose()


# ---------------------------------------------------------------- the decision


async def test_a_task_supporting_tool_becomes_a_task_only_for_a_declaring_request() -> None:
    server, _ = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            task = await client.tool("quick", {"label": "a"})
            sync = await client.tool("quick", {"label": "b"}, caps={})
            plain = await client.tool("plain", {"name": "W"})
            hinted = await client.result("tools/call", {
                "name": "plain", "arguments": {"name": "L"}, "task": {"ttl": 1000}})
            refused = await client.error("tools/call", {"name": "tool_error",
                                                        "arguments": {}}, caps={})
            found = await client.result("server/discover")
    assert task["resultType"] == "task" and task["taskId"]
    assert sync == {"content": [{"type": "text", "text": "quick b"}], "resultType": "complete",
                    "_meta": sync["_meta"]}
    assert plain["content"][0]["text"] == "Hello, W!" and "taskId" not in plain
    assert hinted["resultType"] == "complete" and "taskId" not in hinted
    assert refused["code"] == -32021
    assert refused["data"] == {"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}
    assert found["capabilities"]["extensions"] == {EXTENSION_ID: {}}
    assert "tasks" not in found["capabilities"]


async def test_a_server_without_task_tools_offers_no_tasks() -> None:
    server = Server("plain", "1")
    server.add_tool(lambda: "x", "x", blocking=False)
    assert "extensions" not in server.capabilities() and "tasks" not in server.capabilities()
    with trio.fail_after(5):
        async with raw(server) as client:
            error = await client.error("tasks/get", {"taskId": "t"})
    assert error["code"] == -32601


def test_task_support_must_be_one_of_three() -> None:
    server = Server("s", "1")
    with pytest.raises(ValueError, match="task_support"):
        server.add_tool(lambda: "x", "x", task_support="sometimes")  # type: ignore[arg-type]


# ---------------------------------------------------------------- the task's life


async def test_create_is_durable_and_tasks_get_shows_working_then_the_same_result() -> None:
    server, gate = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            created = await client.tool("job", {"label": "L"})
            assert set(created) == {"taskId", "status", "createdAt", "lastUpdatedAt", "ttlMs",
                                    "pollIntervalMs", "resultType", "_meta"}
            tid = created["taskId"]
            working = await client.get(tid)  # at once: the task was stored before the answer
            await gate.started.wait()
            gate.go.set()
            done = await client.until(tid, "completed")
            sync = await client.tool("job", {"label": "L"}, caps={})
    assert created["status"] == "working" and isinstance(created["ttlMs"], int)
    assert isinstance(created["pollIntervalMs"], int) and created["createdAt"].endswith("Z")
    assert working["status"] == "working" and working["resultType"] == "complete"
    assert "result" not in working and "error" not in working
    assert done["result"] == {"content": [{"type": "text", "text": "done L"}]}
    assert done["result"]["content"] == sync["content"]  # what the call would have given
    assert len(tid) >= 22  # 18 random bytes


async def test_tool_error_completes_with_is_error_and_protocol_error_fails() -> None:
    server, _ = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            a = (await client.tool("tool_error"))["taskId"]
            b = (await client.tool("protocol_error"))["taskId"]
            tool = await client.until(a, "completed", "failed")
            proto = await client.until(b, "completed", "failed")
    assert tool["status"] == "completed" and tool["result"]["isError"] is True
    assert tool["result"]["content"][0]["text"] == "it went wrong"
    assert proto["status"] == "failed" and "result" not in proto
    assert proto["error"] == {"code": -32603, "message": "protocol trouble",
                              "data": {"why": "test"}}


async def test_cancel_is_cooperative_acked_empty_and_idempotent() -> None:
    server, gate = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            tid = (await client.tool("job"))["taskId"]
            await gate.started.wait()
            ack = await client.result("tasks/cancel", {"taskId": tid})
            cancelled = await client.get(tid)
            again = await client.result("tasks/cancel", {"taskId": tid})
            done = (await client.tool("quick"))["taskId"]
            await client.until(done, "completed")
            terminal = await client.result("tasks/cancel", {"taskId": done})
            still = await client.get(done)
    assert ack == {"resultType": "complete", "_meta": ack["_meta"]}
    assert cancelled["status"] == "cancelled"
    assert again["resultType"] == terminal["resultType"] == "complete"
    assert "taskId" not in terminal and still["status"] == "completed"
    assert server.task_runner.running(tid) is None  # the handler was cancelled


async def test_unknown_ids_removed_methods_and_undeclared_requests() -> None:
    server, _ = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            unknown = await client.error("tasks/get", {"taskId": "nope"})
            cancel = await client.error("tasks/cancel", {"taskId": "nope"})
            update = await client.error("tasks/update", {"taskId": "nope",
                                                         "inputResponses": {}})
            result = await client.error("tasks/result", {"taskId": "nope"})
            listed = await client.error("tasks/list", {})
            undeclared = await client.error("tasks/get", {"taskId": "nope"}, caps={})
    assert unknown["code"] == cancel["code"] == update["code"] == -32602
    assert result["code"] == listed["code"] == -32601
    assert undeclared["code"] == -32021


# ---------------------------------------------------------------- input and progress


async def test_elicit_in_a_task_is_input_required_with_partial_fulfilment() -> None:
    server, _ = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            tid = (await client.tool("two_questions", caps=ASKING))["taskId"]
            asked = await client.until(tid, "input_required")
            while len(asked["inputRequests"]) < 2:
                asked = await client.get(tid)
            first, second = sorted(asked["inputRequests"])
            ack = await client.result("tasks/update", {"taskId": tid, "inputResponses": {
                first: {"action": "accept", "content": {"name": "Ann"}},
                "not-asked": {"action": "accept"}}})
            partial = await client.get(tid)
            await client.result("tasks/update", {"taskId": tid, "inputResponses": {
                second: {"action": "accept", "content": {"name": "Bob"}}}})
            done = await client.until(tid, "completed")
    assert asked["inputRequests"][first]["method"] == "elicitation/create"
    assert ack["resultType"] == "complete" and "taskId" not in ack
    assert partial["status"] == "input_required" and list(partial["inputRequests"]) == [second]
    assert done["result"]["content"][0]["text"] == "Ann and Bob"


async def test_sample_in_a_task_waits_for_tasks_update() -> None:
    server, _ = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            tid = (await client.tool("sampler", caps=ASKING))["taskId"]
            asked = await client.until(tid, "input_required")
            await client.result("tasks/update", {"taskId": tid, "inputResponses": {"llm": {
                "role": "assistant", "content": {"type": "text", "text": "hello"},
                "model": "m1"}}})
            done = await client.until(tid, "completed", "failed")
    assert asked["inputRequests"]["llm"]["method"] == "sampling/createMessage"
    assert done["result"]["content"][0]["text"] == "model m1"


async def test_progress_shows_in_tasks_get_and_logs_are_not_sent() -> None:
    server, gate = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            tid = (await client.tool("progress"))["taskId"]
            await gate.started.wait()
            first = await client.get(tid)
            gate.go.set()
            done = await client.until(tid, "completed")
    assert first["statusMessage"] == "a quarter done"
    assert done["statusMessage"] == "3/4"
    assert not [n for n in client.notifications if n.get("method") == "notifications/message"]


async def test_input_before_the_task_comes_by_input_required_rounds() -> None:
    server, _ = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            first = await client.tool("ask_then_task", caps=ASKING)
            second = await client.result("tools/call", {
                "name": "ask_then_task", "arguments": {}, "requestState":
                first["requestState"], "inputResponses": {"who": {
                    "action": "accept", "content": {"name": "Alice"}}}}, caps=ASKING)
            done = await client.until(second["taskId"], "completed")
            sync = await client.result("tools/call", {
                "name": "ask_then_task", "arguments": {}, "inputResponses": {"who": {
                    "action": "accept", "content": {"name": "Al"}}}},
                caps={"elicitation": {}})
    assert first["resultType"] == "input_required" and "taskId" not in first
    assert second["resultType"] == "task" and "requestState" not in second
    assert done["result"]["content"][0]["text"] == "Hi Alice (task True)"
    assert sync["content"][0]["text"] == "Hi Al (task False)"  # no extension: no task


# ---------------------------------------------------------------- outliving the client


async def test_a_task_outlives_the_session_that_created_it() -> None:
    server, gate = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            tid = (await client.tool("job", {"label": "late"}))["taskId"]
            await gate.started.wait()
        assert not server.sessions  # the creating session is gone; the task is not
        gate.go.set()
        async with raw(server) as other:
            done = await other.until(tid, "completed")
    assert done["result"]["content"][0]["text"] == "done late"


# ---------------------------------------------------------------- notifications/tasks


async def test_listen_with_task_ids_carries_notifications_tasks() -> None:
    server, gate = make_server()
    with trio.fail_after(5):
        async with raw(server) as client:
            tid = (await client.tool("job", {"label": "n"}))["taskId"]
            other = (await client.tool("job", {"label": "o"}))["taskId"]
            listen = await client.send("subscriptions/listen",
                                       {"notifications": {"taskIds": [tid]}})
            ack = await client.message()
            await gate.started.wait()
            gate.go.set()
            note = await client.message()
            while note["params"]["status"] != "completed":
                note = await client.message()
            refused = await client.error("subscriptions/listen",
                                         {"notifications": {"taskIds": [tid]}}, caps={})
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert ack["params"]["notifications"] == {"taskIds": [tid]}
    assert note["method"] == "notifications/tasks" and note["params"]["taskId"] == tid
    assert note["params"]["result"]["content"][0]["text"] == "done n"
    assert note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == listen
    assert other != tid
    assert refused["code"] == -32021
    assert refused["data"] == {"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}


async def test_2025_11_25_status_notifications_go_to_the_creating_session() -> None:
    server, gate = make_server()
    seen: list[dict[str, Any]] = []
    done = trio.Event()

    async def on_note(session: Any, method: str, params: Any) -> None:
        if method == "notifications/tasks/status":
            seen.append(params)
            if params["status"] == "completed":
                done.set()

    client = Client("legacy", "1", mode="legacy", validate=False,
                    notification_handler=on_note)
    with trio.fail_after(5):
        async with connected(server, client) as session:
            created = await session.send_request("tools/call", {
                "name": "job", "arguments": {}, "task": {}})
            await gate.started.wait()
            gate.go.set()
            await done.wait()
    assert seen[-1]["taskId"] == created["task"]["taskId"] and "ttl" in seen[-1]
    assert server._task_sessions == {}


# ---------------------------------------------------------------- the store


async def test_the_store_expires_tasks_after_their_ttl() -> None:
    store = InMemoryTaskStore()
    state = TaskState("t1", "tools/call", 100.0, 10.0, 1.0)
    await store.create(state, now=100.0)
    assert await store.get("t1", principal=None, now=109.9) is state
    assert await store.get("t1", principal=None, now=110.0) is None
    forever = TaskState("t2", "tools/call", 100.0, None, 1.0)
    await store.create(forever, now=100.0)
    assert await store.get("t2", principal=None, now=1e12) is forever


async def test_the_store_bounds_live_tasks_and_makes_room_from_ended_ones() -> None:
    store = InMemoryTaskStore(max_tasks=2)
    a, b = (TaskState(i, "tools/call", 0.0, None, 1.0) for i in ("a", "b"))
    await store.create(a, now=0.0)
    await store.create(b, now=0.0)
    with pytest.raises(TaskLimitError, match="at most 2"):
        await store.create(TaskState("c", "tools/call", 0.0, None, 1.0), now=0.0)
    a.complete({"content": []}, 1.0)
    await store.create(TaskState("c", "tools/call", 0.0, None, 1.0), now=1.0)
    assert await store.get("a", principal=None, now=1.0) is None
    assert {s.task_id for s in await store.list(principal=None, now=1.0)} == {"b", "c"}


async def test_a_task_is_seen_only_by_its_principal() -> None:
    store = InMemoryTaskStore()
    mine = TaskState("m", "tools/call", 0.0, None, 1.0, principal="alice")
    await store.create(mine, now=0.0)
    assert await store.get("m", principal="alice", now=0.0) is mine
    assert await store.get("m", principal="bob", now=0.0) is None
    assert await store.get("m", principal=None, now=0.0) is None
    assert await store.list(principal="bob", now=0.0) == []


async def test_a_running_task_is_cancelled_when_its_ttl_passes() -> None:
    clock = [1000.0]
    runner = TaskRunner(ttl=30.0, clock=lambda: clock[0])
    server, gate = make_server(tasks=runner)
    with trio.fail_after(5):
        async with raw(server) as client:
            tid = (await client.tool("job"))["taskId"]
            await gate.started.wait()
            run = runner.running(tid)
            assert run is not None
            run.cancel_scope.deadline = trio.current_time()  # as if the 30 s had passed
            clock[0] += 30.0
            await trio.testing.wait_all_tasks_blocked()
            assert runner.running(tid) is None
    assert run.state.status.value == "cancelled"
    assert run.state.status_message == "the task's ttl passed"


async def test_ids_come_from_the_runner_s_random_source() -> None:
    runner = TaskRunner(random=lambda n: b"\x01" * n)
    assert runner.new_state("tools/call", None).task_id == "AQEBAQEBAQEBAQEBAQEBAQEB"
    with pytest.raises(ValueError):
        TaskRunner(ttl=0)


# ---------------------------------------------------------------- 2025-11-25


async def test_2025_11_25_tasks_on_the_same_machinery() -> None:
    server, gate = make_server()
    # (validate=False: the client's engine does not know task results yet; that is the
    # client half of tasks)
    client = Client("legacy", "1", mode="legacy", validate=False)
    with trio.fail_after(5):
        async with connected(server, client) as session:
            assert session.server_capabilities is not None
            listed = await session.send_request("tools/list", {})
            created = await session.send_request("tools/call", {
                "name": "job", "arguments": {"label": "old"}, "task": {"ttl": 60000}})
            task = created["task"]
            got = await session.send_request("tasks/get", {"taskId": task["taskId"]})
            await gate.started.wait()
            gate.go.set()
            payload = await session.send_request("tasks/result", {"taskId": task["taskId"]})
            tasks = await session.send_request("tasks/list", {})
            sync = await session.send_request("tools/call", {"name": "job",
                                                             "arguments": {"label": "s"}})
    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert tools["job"]["execution"] == {"taskSupport": "optional"}
    assert "execution" not in tools["plain"]
    assert task["status"] == "working" and isinstance(task["ttl"], int)
    assert got["taskId"] == task["taskId"] and "ttlMs" not in got
    assert payload["content"] == [{"type": "text", "text": "done old"}]
    assert payload["_meta"]["io.modelcontextprotocol/related-task"] == {
        "taskId": task["taskId"]}
    assert [t["taskId"] for t in tasks["tasks"]] == [task["taskId"]]
    assert sync["content"][0]["text"] == "done s"


async def test_2025_11_25_cancel_answers_the_task_and_a_required_tool_needs_the_param() -> None:
    server, gate = make_server()
    client = Client("legacy", "1", mode="legacy", validate=False)
    with trio.fail_after(5):
        async with connected(server, client) as session:
            caps = session.server_capabilities
            created = await session.send_request("tools/call", {
                "name": "job", "arguments": {}, "task": {}})
            await gate.started.wait()
            cancelled = await session.send_request("tasks/cancel", {
                "taskId": created["task"]["taskId"]})
            with pytest.raises(MCPError) as refused:
                await session.send_request("tools/call", {"name": "tool_error",
                                                          "arguments": {}})
            with pytest.raises(MCPError) as update:
                await session.send_request("tasks/update", {"taskId": "x",
                                                            "inputResponses": {}})
    assert caps is not None and caps["tasks"]["requests"] == {"tools": {"call": {}}}
    assert cancelled["taskId"] == created["task"]["taskId"]
    assert cancelled["status"] == "cancelled"
    assert refused.value.code == -32601
    assert update.value.code == -32601


async def test_a_principals_task_notifications_reach_only_that_principals_listens() -> None:
    """A task created by an authenticated principal is reported through ``notifications/tasks``
    only to listens of that principal: another principal naming its id learns nothing."""
    from sansio.auth_server import Principal

    server, gate = make_server()
    with trio.fail_after(5):
        async with raw(server) as alice, raw(server) as bob:
            await alice.result("tools/list")
            await bob.result("tools/list")
            alice_side, bob_side = server.sessions
            alice_side.principal = Principal("alice", issuer="https://as")
            bob_side.principal = Principal("bob", issuer="https://as")
            tid = (await alice.tool("job", {"label": "mine"}))["taskId"]
            for client in (alice, bob):
                await client.send("subscriptions/listen", {"notifications": {"taskIds": [tid]}})
                assert (await client.message())["method"] == \
                    "notifications/subscriptions/acknowledged"
            await gate.started.wait()
            gate.go.set()
            note = await alice.message()
            while note["params"]["status"] != "completed":
                note = await alice.message()
            # Bob's next message is the answer to his next request: nothing was queued before.
            rid = await bob.send("tools/list")
            answer = await bob.message()
    assert note["params"]["taskId"] == tid
    assert answer.get("id") == rid and "result" in answer
