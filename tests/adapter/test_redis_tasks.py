"""Tasks shared through a real redis-server: the RedisTaskStore alone (create, get, save,
list, expiry, the bound, principals, a stopped owner) and two ``Server`` objects in one trio
run standing for two workers (a task created on one is polled, answered and cancelled
through the other; its status notifications reach a listen on the other)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from sansio.tasks import TaskState, TaskStatus
from tests.adapter.test_tasks_server import ASKING, Gate, Raw, make_server, raw
from tests.redis_support import REDIS_SKIP_REASON, redis_available
from trio_adapter import Client, Server
from trio_adapter._redis_tasks import OWNER_GONE
from trio_adapter.redis import RedisBackend, RedisTaskStore, share_server_state
from trio_adapter.tasks import TaskLimitError
from trio_adapter.testing import connected

pytestmark = pytest.mark.skipif(not redis_available(), reason=REDIS_SKIP_REASON)

NOW = 1_800_000_000.0


def state(n: int, *, ttl: float | None = 60.0, principal: str | None = None,
          at: float = NOW) -> TaskState:
    return TaskState(f"task{n:020d}", "tools/call", at + n, ttl, 0.5, principal)


# ---------------------------------------------------------------- the store alone


async def test_create_get_save_list_delete(redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as a:
            store = RedisTaskStore(a)
            first, second = state(2), state(1)
            await store.create(first, now=NOW)
            await store.create(second, now=NOW)
            got = await store.get(first.task_id, principal=None, now=NOW)
            first.note("half way", NOW + 3)
            await store.save(first, now=NOW + 3)
            noted = await store.get(first.task_id, principal=None, now=NOW + 3)
            listed = await store.list(principal=None, now=NOW + 3)
            await store.delete(second.task_id)
            after = await store.list(principal=None, now=NOW + 3)
            assert await store.owner(first.task_id) == "a"
            unknown = await store.get("nope", principal=None, now=NOW)
    assert got is not None and got.status is TaskStatus.WORKING and got.ttl == 60.0
    assert noted is not None and noted.status_message == "half way"
    assert [s.task_id for s in listed] == [second.task_id, first.task_id]  # oldest first
    assert [s.task_id for s in after] == [first.task_id]
    assert unknown is None


async def test_a_terminal_status_is_final(redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as a:
            store = RedisTaskStore(a)
            task = state(1)
            await store.create(task, now=NOW)
            cancelled = state(1)
            cancelled.cancel(NOW + 1)
            await store.save(cancelled, now=NOW + 1)
            task.complete({"content": []}, NOW + 2)  # the runner finishing meanwhile
            await store.save(task, now=NOW + 2)
            got = await store.get(task.task_id, principal=None, now=NOW + 2)
    assert got is not None and got.status is TaskStatus.CANCELLED


async def test_principals_see_only_their_tasks(redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as a:
            store = RedisTaskStore(a)
            mine, open_ = state(1, principal="alice"), state(2)
            await store.create(mine, now=NOW)
            await store.create(open_, now=NOW)
            assert await store.get(mine.task_id, principal="bob", now=NOW) is None
            assert await store.get(mine.task_id, principal="alice", now=NOW) is not None
            bobs = await store.list(principal="bob", now=NOW)
            alices = await store.list(principal="alice", now=NOW)
    assert [s.task_id for s in bobs] == [open_.task_id]
    assert [s.task_id for s in alices] == [mine.task_id, open_.task_id]


async def test_expiry_follows_the_ttl(redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as a:
            store = RedisTaskStore(a)
            long = state(1)
            await store.create(long, now=NOW)
            assert await store.get(long.task_id, principal=None, now=NOW + 62) is None
            now = time.time()
            short = state(3, ttl=0.05, at=now - 3)  # created 3 s ago (n=3), 50 ms to live
            await store.create(short, now=now)
            key = redis_prefix + "task:" + short.task_id
            while True:  # Redis itself drops it (PX); polling the real server
                if not await a.client.exists([key]):
                    break
                await trio.sleep(0.01)
            assert await store.get(short.task_id, principal=None, now=time.time()) is None


async def test_the_store_is_bounded_and_drops_ended_tasks_first(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as a:
            store = RedisTaskStore(a, max_tasks=2)
            one, two = state(1), state(2)
            await store.create(one, now=NOW)
            await store.create(two, now=NOW)
            with pytest.raises(TaskLimitError, match="at most 2"):
                await store.create(state(3), now=NOW)
            one.complete({"content": []}, NOW + 1)
            await store.save(one, now=NOW + 1)
            await store.create(state(3), now=NOW + 1)
            live = await store.list(principal=None, now=NOW + 1)
    assert [s.task_id for s in live] == [two.task_id, state(3).task_id]


async def test_a_task_whose_worker_stopped_reads_as_failed(redis_url: str,
                                                           redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="b") as b:
            async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as a:
                await RedisTaskStore(a).create(task := state(1), now=NOW)
                running = await RedisTaskStore(b).get(task.task_id, principal=None, now=NOW)
            gone = await RedisTaskStore(b).get(task.task_id, principal=None, now=NOW + 1)
            # a new process with the same worker id knows the task is not its own run
            async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as again:
                await RedisTaskStore(again).create(other := state(2), now=NOW)
            async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as later:
                orphan = await RedisTaskStore(later).get(other.task_id, principal=None,
                                                         now=NOW + 1)
    assert running is not None and running.status is TaskStatus.WORKING
    assert gone is not None and gone.status is TaskStatus.FAILED
    assert gone.status_message == OWNER_GONE and gone.error is not None
    assert orphan is not None and orphan.status is TaskStatus.FAILED


# ---------------------------------------------------------------- two workers


@contextlib.asynccontextmanager
async def worker(url: str, prefix: str, worker_id: str
                 ) -> AsyncIterator[tuple[Server, Gate, RedisBackend]]:
    server, gate = make_server()
    async with RedisBackend(url, prefix=prefix, worker_id=worker_id) as b:
        share_server_state(server, b)
        async with server.running():
            yield server, gate, b


async def until(client: Raw, task_id: str, *statuses: str) -> dict[str, Any]:
    """Poll tasks/get (state in Redis, written by the other worker) until a status."""
    while True:
        got = await client.get(task_id)
        if got["status"] in statuses:
            return got
        await trio.sleep(0.01)


async def test_a_task_created_on_one_worker_is_polled_to_completion_on_another(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, gate, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), \
                raw(s1) as one, raw(s2) as two:
            tid = (await one.tool("job", {"label": "far"}))["taskId"]
            seen = await two.get(tid)
            await gate.started.wait()
            gate.go.set()
            done = await until(two, tid, "completed")
    assert seen["status"] == "working"
    assert done["result"]["content"][0]["text"] == "done far"


async def test_tasks_update_through_another_worker_resumes_the_task(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, _, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), \
                raw(s1) as one, raw(s2) as two:
            tid = (await one.tool("two_questions", caps=ASKING))["taskId"]
            asked = await until(two, tid, "input_required")
            while len(asked["inputRequests"]) < 2:
                asked = await two.get(tid)
            ack = await two.result("tasks/update", {"taskId": tid, "inputResponses": {
                key: {"action": "accept", "content": {"name": name}}
                for key, name in zip(sorted(asked["inputRequests"]), ("Ann", "Bob"),
                                     strict=True)}})
            done = await until(two, tid, "completed")
    assert ack["resultType"] == "complete"
    assert done["result"]["content"][0]["text"] == "Ann and Bob"


async def test_tasks_cancel_through_another_worker_stops_the_run(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, gate, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), \
                raw(s1) as one, raw(s2) as two:
            tid = (await one.tool("job", {"label": "c"}))["taskId"]
            await gate.started.wait()
            run = s1.task_runner.running(tid)
            assert run is not None
            ack = await two.result("tasks/cancel", {"taskId": tid})
            here = await two.get(tid)
            again = await two.result("tasks/cancel", {"taskId": tid})  # idempotent
            await run.ended.wait()  # the owner's handler was cancelled
            there = await one.get(tid)
    assert ack["resultType"] == again["resultType"] == "complete"
    assert here["status"] == there["status"] == "cancelled"


async def test_task_notifications_reach_a_listen_on_another_worker(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, gate, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), \
                raw(s1) as one, raw(s2) as two:
            tid = (await one.tool("job", {"label": "n"}))["taskId"]
            await two.send("subscriptions/listen", {"notifications": {"taskIds": [tid]}})
            ack = await two.message()
            await gate.started.wait()
            gate.go.set()
            note = await two.message()
            while note["params"]["status"] != "completed":
                note = await two.message()
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert note["method"] == "notifications/tasks" and note["params"]["taskId"] == tid
    assert note["params"]["result"]["content"][0]["text"] == "done n"


async def test_a_task_of_a_stopped_worker_fails_on_tasks_get_elsewhere(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w2") as (s2, _, _), raw(s2) as two:
            async with worker(redis_url, redis_prefix, "w1") as (s1, gate, _), \
                    raw(s1) as one:
                tid = (await one.tool("job", {"label": "lost"}))["taskId"]
                await gate.started.wait()
                # the worker stops: its backend leaves, its heartbeat with it; the run is
                # cancelled and its writes are refused or lost
            failed = await until(two, tid, "failed", "cancelled")
    assert failed["status"] == "failed" and failed["statusMessage"] == OWNER_GONE


async def test_2025_11_25_tasks_get_list_and_cancel_through_another_worker(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, gate, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), \
                connected(s1, Client("a", "1", mode="legacy", validate=False)) as one, \
                connected(s2, Client("b", "1", mode="legacy", validate=False)) as two:
            created = await one.send_request("tools/call", {
                "name": "job", "arguments": {}, "task": {}})
            tid = created["task"]["taskId"]
            await gate.started.wait()
            run = s1.task_runner.running(tid)
            assert run is not None
            polled = await two.send_request("tasks/get", {"taskId": tid})
            listed = await two.send_request("tasks/list", {})
            quick = (await one.send_request("tools/call", {
                "name": "quick", "arguments": {"label": "r"}, "task": {}}))["task"]["taskId"]
            result = await two.send_request("tasks/result", {"taskId": quick})
            cancelled = await two.send_request("tasks/cancel", {"taskId": tid})
            await run.ended.wait()
            there = await one.send_request("tasks/get", {"taskId": tid})
    assert polled["status"] == "working"
    assert [t["taskId"] for t in listed["tasks"]] == [tid]
    assert result["content"][0]["text"] == "quick r"
    assert cancelled["status"] == there["status"] == "cancelled"
