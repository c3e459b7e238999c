"""The client side of tasks, both revisions, against a scripted fake task server written here
on raw JSON-RPC lines (an independent peer: it shares no code with the engine).

The 2026-07-28 ``io.modelcontextprotocol/tasks`` extension (``resultType: "task"``, the detailed
``tasks/get``, ``tasks/update``) and the 2025-11-25 experimental tasks (``params.task``,
``tasks/get`` + ``tasks/result``, input requests as ordinary requests): polling to completion,
``input_required`` answered by the elicitation handler, failed -> :class:`TaskFailed` with the
code and message, cancelled, cancel from the handle and on cancellation of ``call_tool``, the
backoff bound, and deadlines.
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

from sansio import SUPPORTED_VERSIONS
from sansio.task_client import TASKS_EXTENSION, PollPolicy
from sansio.versions import HANDSHAKE_VERSIONS
from trio_adapter import (
    Client,
    ClientSession,
    MCPError,
    RequestContext,
    TaskCancelled,
    TaskFailed,
    TaskHandle,
    memory_transport_pair,
)

STAMP = "2026-01-01T00:00:00Z"
ASK = {"method": "elicitation/create", "params": {
    "mode": "form", "message": "name?",
    "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}}
DONE = {"content": [{"type": "text", "text": "done"}]}
DISCOVER = {"resultType": "complete", "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}, "extensions": {TASKS_EXTENSION: {}}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "fake", "version": "1"}}}
LEGACY_CAPS = {"tools": {}, "tasks": {"cancel": {}, "requests": {"tools": {"call": {}}}}}
TOOLS = [{"name": "slow", "inputSchema": {"type": "object"},
          "execution": {"taskSupport": "required"}},
         {"name": "maybe", "inputSchema": {"type": "object"},
          "execution": {"taskSupport": "optional"}},
         {"name": "plain", "inputSchema": {"type": "object"}}]


def declares(params: dict[str, Any]) -> bool:
    """Whether a 2026-07-28 request declares the tasks extension (in its client capabilities)."""
    caps = params.get("_meta", {}).get("io.modelcontextprotocol/clientCapabilities", {})
    return TASKS_EXTENSION in caps.get("extensions", {})


class FakeTaskServer:
    """A task server of either era. ``plan`` is what successive ``tasks/get`` polls show
    (the last step repeats): ``("working", message)``, ``("input_required", requests)``,
    ``("completed", result)``, ``("failed", error)``, ``("cancelled", None)``.

    2025-11-25: ``tasks/result`` sends the plan's input requests as ``elicitation/create``
    requests of its own, then answers with the final step's result or error."""

    def __init__(self, modern: bool, plan: list[tuple[str, Any]], *,
                 poll_ms: int | None = 1000, ttl_ms: int | None = 60000,
                 as_task: bool = True) -> None:
        self.modern = modern
        self.plan = plan
        self.poll_ms = poll_ms
        self.ttl_ms = ttl_ms
        self.as_task = as_task
        self.step = 0
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.cancelled = False
        self._pending_result: Any = None
        self._asked: set[str] = set()
        self._next_id = 100

    def methods(self) -> list[str]:
        return [m["method"] for _, m in self.seen if "method" in m]

    def task(self, status: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        ttl, poll = ("ttlMs", "pollIntervalMs") if self.modern else ("ttl", "pollInterval")
        out: dict[str, Any] = {"taskId": "task-1", "status": status, "createdAt": STAMP,
                               "lastUpdatedAt": f"2026-01-01T00:00:{self.step:02d}Z",
                               ttl: self.ttl_ms}
        if self.poll_ms is not None:
            out[poll] = self.poll_ms
        return {**out, **(extra or {})}

    def current(self) -> dict[str, Any]:
        if self.cancelled:
            return self.task("cancelled")
        status, value = self.plan[min(self.step, len(self.plan) - 1)]
        if not self.modern or status == "working":
            return self.task(status, {"statusMessage": value} if status == "working" else None)
        key = {"input_required": "inputRequests", "completed": "result",
               "failed": "error"}.get(status)
        return self.task(status, {key: value} if key else None)

    async def send(self, obj: dict[str, Any]) -> None:
        await self.transport.send(json.dumps({"jsonrpc": "2.0", **obj}).encode() + b"\n")

    async def result(self, rid: Any, result: dict[str, Any]) -> None:
        if self.modern:
            result = {"resultType": "complete", **result}
        await self.send({"id": rid, "result": result})

    async def handle(self, msg: dict[str, Any]) -> None:
        method, rid, params = msg.get("method"), msg.get("id"), msg.get("params") or {}
        if method is None:  # a response to our elicitation (2025-11-25)
            self.updates.append(msg.get("result") or {})
            await self._legacy_next()
            return
        if rid is None:
            return
        if self.modern and method.startswith("tasks/") and not declares(params):
            await self.send({"id": rid, "error": {"code": -32021, "message": "declare it"}})
            return
        if method == "server/discover":
            if not self.modern:
                await self.send({"id": rid, "error": {"code": -32601, "message": "no"}})
            else:
                await self.send({"id": rid, "result": DISCOVER})
        elif method == "initialize":
            await self.send({"id": rid, "result": {
                "protocolVersion": params["protocolVersion"], "capabilities": LEGACY_CAPS,
                "serverInfo": {"name": "fake", "version": "1"}}})
        elif method == "tools/list":
            await self.result(rid, {"tools": TOOLS})
        elif method == "tools/call":
            declared = declares(params) if self.modern else "task" in params
            if not (declared and self.as_task and params["name"] != "plain"):
                await self.result(rid, {"content": [{"type": "text", "text": "sync"}]})
            elif self.modern:
                await self.send({"id": rid, "result": {"resultType": "task",
                                                       **self.task("working")}})
            else:
                await self.send({"id": rid, "result": {"task": self.task("working")}})
        elif method == "tasks/get":
            snapshot = self.current()
            self.step += 1
            await self.result(rid, snapshot)
        elif method == "tasks/update":
            self.updates.append(params["inputResponses"])
            self.step += 1
            await self.result(rid, {})
        elif method == "tasks/cancel":
            self.cancelled = True
            await self.result(rid, {} if self.modern else self.task("cancelled"))
        elif method == "tasks/result":
            self._pending_result = rid
            self.step = max(0, self.step - 1)  # from the status the last poll showed
            await self._legacy_next()
        else:
            await self.send({"id": rid, "error": {"code": -32601, "message": method}})

    async def _legacy_next(self) -> None:
        """2025-11-25 tasks/result: ask for each input still to come (once per key) with
        an elicitation/create of the server's own, then answer with the final step."""
        last = len(self.plan) - 1
        while True:
            status, value = self.plan[min(self.step, last)]
            if status == "input_required" and not set(value) <= self._asked:
                self._asked |= set(value)
                self._next_id += 1
                await self.send({"id": self._next_id, "method": "elicitation/create",
                                 "params": {**ASK["params"], "_meta": {
                                     "io.modelcontextprotocol/related-task": {
                                         "taskId": "task-1"}}}})
                return
            if self.step >= last:
                break
            self.step += 1
        status, value = self.plan[last]
        rid, self._pending_result = self._pending_result, None
        if status == "failed":
            await self.send({"id": rid, "error": value})
        else:
            await self.send({"id": rid, "result": value})

    async def run(self, transport: Any) -> None:
        self.transport = transport
        buffer = b""
        while True:
            data = await transport.receive()
            if not data:
                return
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    msg = json.loads(line)
                    self.seen.append((trio.current_time(), msg))
                    await self.handle(msg)


async def ask_name(ctx: RequestContext, params: Any) -> dict[str, Any]:
    return {"action": "accept", "content": {"name": "Luca"}}


def make_client(modern: bool, **kwargs: Any) -> Client:
    versions = SUPPORTED_VERSIONS if modern else HANDSHAKE_VERSIONS
    return Client("c", "1", supported_versions=versions, elicitation_handler=ask_name,
                  **kwargs)


@asynccontextmanager
async def connected(server: FakeTaskServer, **kwargs: Any) -> AsyncIterator[ClientSession]:
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.run, server_end)
        mode = "modern" if server.modern else "legacy"
        async with make_client(server.modern, **kwargs).connect(client_end,
                                                                mode=mode) as session:
            yield session
        nursery.cancel_scope.cancel()


ERAS = pytest.mark.parametrize("modern", [True, False], ids=["2026-07-28", "2025-11-25"])


# ---------------------------------------------------------------- call_tool waits


@ERAS
async def test_call_tool_polls_a_task_to_completion(modern: bool, autojump_clock: Any) -> None:
    server = FakeTaskServer(modern, [("working", "one"), ("working", "two"),
                                     ("completed", DONE)])
    statuses: list[tuple[str, str | None]] = []

    async def on_status(snapshot: Any) -> None:
        statuses.append((snapshot.status, snapshot.status_message))

    async with connected(server) as session:
        result = await session.call_tool("slow", {"x": 1}, on_task_status=on_status)
    assert result.content[0].text == "done" and not result.is_error
    calls = [m for _, m in server.seen if m.get("method") == "tools/call"]
    if modern:  # the extension is declared on the request, in its client capabilities
        caps = calls[0]["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]
        assert caps["extensions"] == {TASKS_EXTENSION: {}} and "elicitation" in caps
        assert server.methods()[-3:] == ["tasks/get", "tasks/get", "tasks/get"]
        assert statuses == [("working", None), ("working", "one"), ("working", "two"),
                            ("completed", None)]
    else:  # the tool requires a task: params.task; learnt from one tools/list
        assert calls[0]["params"]["task"] == {}
        assert server.methods().count("tools/list") == 1
        assert server.methods()[-1] == "tasks/result"
        assert statuses[:2] == [("working", None), ("working", "one")]
    # the polls keep to the server's pollIntervalMs (1 s)
    polls = [at for at, m in server.seen if m.get("method") == "tasks/get"]
    assert all(b - a >= 0.999 for a, b in itertools.pairwise(polls))


@ERAS
async def test_a_synchronous_answer_is_returned_as_it_is(modern: bool) -> None:
    server = FakeTaskServer(modern, [("completed", DONE)], as_task=False)
    async with connected(server) as session:
        assert (await session.call_tool("slow")).content[0].text == "sync"
        started = await session.call_tool_as_task("plain")
        assert not isinstance(started, TaskHandle) and started.content[0].text == "sync"
    assert "tasks/get" not in server.methods()


async def test_legacy_optional_tools_are_called_plainly_unless_asked() -> None:
    server = FakeTaskServer(False, [("completed", DONE)])
    async with connected(server) as session:
        assert (await session.call_tool("maybe")).content[0].text == "sync"
        assert (await session.call_tool("plain")).content[0].text == "sync"
        handle = await session.call_tool_as_task("maybe", ttl_ms=5000)
        assert isinstance(handle, TaskHandle) and handle.status == "working"
        calls = [m["params"] for _, m in server.seen if m.get("method") == "tools/call"]
        assert [("task" in p) for p in calls] == [False, False, True]
        assert calls[-1]["task"] == {"ttl": 5000}
        assert (await handle.wait()).content[0].text == "done"


@ERAS
async def test_input_required_is_answered_by_the_elicitation_handler(
        modern: bool, autojump_clock: Any) -> None:
    plan = [("working", "start"), ("input_required", {"name": ASK}),
            ("input_required", {"name": ASK}), ("working", "resumed"), ("completed", DONE)]
    server = FakeTaskServer(modern, plan)
    async with connected(server) as session:
        result = await session.call_tool("slow")
    assert result.content[0].text == "done"
    answer = {"action": "accept", "content": {"name": "Luca"}}
    if modern:  # answered once, in tasks/update, though two polls showed the request
        assert server.updates == [{"name": answer}]
        assert server.methods().count("tasks/update") == 1
    else:  # the server's own elicitation/create, while tasks/result was pending
        assert server.updates == [answer]
        assert "tasks/update" not in server.methods()


@ERAS
async def test_a_failed_task_raises_its_json_rpc_error(modern: bool,
                                                      autojump_clock: Any) -> None:
    error = {"code": -32603, "message": "rate limit", "data": {"retry": 5}}
    server = FakeTaskServer(modern, [("working", "w"), ("failed", error)])
    async with connected(server) as session:
        with pytest.raises(TaskFailed) as info:
            await session.call_tool("slow")
    exc = info.value
    assert isinstance(exc, MCPError)
    assert (int(exc.code), exc.message, exc.data, exc.task_id) == (
        -32603, "rate limit", {"retry": 5}, "task-1")
    assert "task task-1 failed: " in str(exc)


async def test_a_tool_error_result_of_a_task_is_a_result() -> None:
    failing = {"content": [{"type": "text", "text": "bad input"}], "isError": True}
    server = FakeTaskServer(True, [("completed", failing)], poll_ms=10)
    async with connected(server) as session:
        result = await session.call_tool("slow")
    assert result.is_error and result.content[0].text == "bad input"


@ERAS
async def test_a_cancelled_task_raises_task_cancelled(modern: bool,
                                                     autojump_clock: Any) -> None:
    server = FakeTaskServer(modern, [("working", "w"), ("cancelled", None)])
    async with connected(server) as session:
        with pytest.raises(TaskCancelled, match="task task-1 was cancelled"):
            await session.call_tool("slow")


# ---------------------------------------------------------------- the handle


@ERAS
async def test_the_handle_gets_and_cancels(modern: bool, autojump_clock: Any) -> None:
    server = FakeTaskServer(modern, [("working", "w")])
    async with connected(server) as session:
        handle = await session.call_tool_as_task("slow")
        assert isinstance(handle, TaskHandle)
        assert handle.task_id == "task-1" and handle.modern is modern
        assert (await handle.get()).status_message == "w"
        await handle.cancel()
        with pytest.raises(TaskCancelled):
            await handle.wait()
        assert handle.status == "cancelled"
        await handle.cancel()  # seen terminal: no second request
    assert server.methods().count("tasks/cancel") == 1


async def test_the_handle_updates_by_hand() -> None:
    server = FakeTaskServer(True, [("input_required", {"k": ASK}), ("completed", DONE)],
                            poll_ms=10)
    async with connected(server) as session:
        handle = await session.call_tool_as_task("slow")
        assert isinstance(handle, TaskHandle)
        snapshot = await handle.get()
        assert snapshot.status == "input_required" and snapshot.input_requests == {"k": ASK}
        await handle.update({"k": {"action": "decline"}})
        # wait() does not answer "k" again
        assert (await handle.wait()).content[0].text == "done"
    assert server.updates == [{"k": {"action": "decline"}}]


async def test_a_legacy_handle_has_no_update() -> None:
    from sansio import LocalProtocolError

    server = FakeTaskServer(False, [("working", "w")])
    async with connected(server) as session:
        handle = await session.call_tool_as_task("slow")
        assert isinstance(handle, TaskHandle)
        with pytest.raises(LocalProtocolError, match="no tasks/update"):
            await handle.update({"k": {}})


async def test_two_waiters_on_one_handle_is_an_error(autojump_clock: Any) -> None:
    server = FakeTaskServer(True, [("working", "w")])
    async with connected(server) as session:
        handle = await session.call_tool_as_task("slow")
        assert isinstance(handle, TaskHandle)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(handle.wait)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await handle.wait()
            nursery.cancel_scope.cancel()


# ---------------------------------------------------------------- bounds and deadlines


async def test_backoff_grows_while_nothing_changes(autojump_clock: Any) -> None:
    server = FakeTaskServer(True, [("working", "same")], poll_ms=None, ttl_ms=None)
    server.task = _frozen(server.task)  # type: ignore[method-assign]
    async with connected(server) as session:
        with trio.move_on_after(20):
            await session.call_tool("slow")
    polls = [at for at, m in server.seen if m.get("method") == "tasks/get"]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    # no pollIntervalMs: 0.5 s, x1.5 for each poll that showed no change (the first poll
    # showed one: its status message)
    assert gaps[:3] == pytest.approx([0.5, 0.75, 1.125], abs=0.01)
    assert len(polls) < 12


async def test_backoff_is_bounded(autojump_clock: Any) -> None:
    server = FakeTaskServer(True, [("working", "same")], poll_ms=None, ttl_ms=None)
    server.task = _frozen(server.task)  # type: ignore[method-assign]
    policy = PollPolicy(maximum=2.0)
    async with connected(server) as session:
        handle = await session.call_tool_as_task("slow", poll_policy=policy)
        assert isinstance(handle, TaskHandle)
        with trio.move_on_after(20):
            await handle.wait()
    polls = [at for at, m in server.seen if m.get("method") == "tasks/get"]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert gaps == sorted(gaps) and max(gaps) == pytest.approx(2.0, abs=0.01)
    assert gaps.count(max(gaps)) >= 5


@ERAS
async def test_cancelling_call_tool_cancels_the_task(modern: bool,
                                                    autojump_clock: Any) -> None:
    server = FakeTaskServer(modern, [("working", "w")])
    async with connected(server) as session:
        with trio.move_on_after(3.5) as scope:
            await session.call_tool("slow")
        assert scope.cancelled_caught
        assert server.cancelled and server.methods()[-1] == "tasks/cancel"


async def test_a_task_that_never_changes_expires_after_its_ttl(autojump_clock: Any) -> None:
    from trio_adapter import TaskExpired

    server = FakeTaskServer(True, [("working", "stuck")], ttl_ms=5000)
    async with connected(server) as session:
        handle = await session.call_tool_as_task("slow")
        assert isinstance(handle, TaskHandle)
        # the fake's lastUpdatedAt moves with each poll: freeze it
        server.task = _frozen(server.task)  # type: ignore[method-assign]
        with pytest.raises(TaskExpired, match="longer than its ttl"):
            await handle.wait()
        assert trio.current_time() < 60


def _frozen(task: Any) -> Any:
    def frozen(status: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {**task(status, extra), "lastUpdatedAt": STAMP}
    return frozen


async def test_every_tasks_request_declares_the_extension(autojump_clock: Any) -> None:
    # 2026-07-28: a server refuses tasks/* of a request that does not declare it (-32021)
    plan = [("input_required", {"k": ASK}), ("completed", DONE)]
    server = FakeTaskServer(True, plan)
    async with connected(server) as session:
        handle = await session.call_tool_as_task("slow")
        assert isinstance(handle, TaskHandle)
        assert (await handle.wait()).content[0].text == "done"
        await handle.cancel()  # seen completed: nothing sent
    sent = [m for _, m in server.seen if m.get("method", "").startswith("tasks/")]
    assert [m["method"] for m in sent] == ["tasks/get", "tasks/update", "tasks/get"]
    assert all(declares(m["params"]) and m["params"]["taskId"] == "task-1" for m in sent)


async def test_the_servers_error_on_tasks_get_is_raised() -> None:
    server = FakeTaskServer(True, [("working", "w")])
    async with connected(server) as session:
        handle = await session.call_tool_as_task("slow")
        assert isinstance(handle, TaskHandle)
        server.handle = _unknown_task(server.handle)  # type: ignore[method-assign]
        with pytest.raises(MCPError) as info:
            await handle.get()
        assert int(info.value.code) == -32602 and not isinstance(info.value, TaskFailed)


def _unknown_task(handle: Any) -> Any:
    async def refusing(msg: dict[str, Any]) -> None:
        if msg.get("method") == "tasks/get":
            server_send = handle.__self__.send
            await server_send({"id": msg["id"], "error": {"code": -32602,
                                                          "message": "Task not found"}})
            return
        await handle(msg)
    return refusing
