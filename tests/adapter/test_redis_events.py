"""RedisEventStore against a real redis-server: write-behind, bounds in Redis, the load hook
for a resumption the local mirror cannot answer, a full queue while Redis is down, and a
Last-Event-ID resumption through serve_http(shared=...) reaching back past the mirror."""

from __future__ import annotations

import functools
import logging
from typing import Any

import pytest
import trio
from relay_support import Raw, initialize

from tests.redis_support import REDIS_SKIP_REASON, RedisProcess, redis_available
from trio_adapter import Server
from trio_adapter.http import serve_http
from trio_adapter.redis import RedisBackend, RedisEventStore

pytestmark = pytest.mark.skipif(not redis_available(), reason=REDIS_SKIP_REASON)

V = {"mcp-protocol-version": "2025-11-25"}


async def flushed(store: RedisEventStore) -> None:
    await store.wait_flushed()


async def listed(backend: RedisBackend, session: str) -> list[bytes]:
    items = await backend.client.lrange(backend.key("events", session), 0, -1)
    return [bytes(item).partition(b"\n")[2] for item in items]


async def test_events_are_written_behind_and_trimmed_to_the_bounds(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix) as backend, \
                trio.open_nursery() as nursery:
            store = RedisEventStore(backend, max_events=3, max_bytes=50)
            nursery.start_soon(store.run)
            for i in range(1, 6):
                store.append("s1", "1", f"1/{i}", b"e%d" % i)
            await flushed(store)
            assert await listed(backend, "s1") == [b"e3", b"e4", b"e5"]  # max_events
            # every session of this worker together: max_bytes (50) drops the oldest first
            store.append("s2", "1", "1/1", b"x" * 45)
            await flushed(store)
            assert await listed(backend, "s1") == [b"e4", b"e5"]  # 2 + 2 + 45 <= 50
            assert await listed(backend, "s2") == [b"x" * 45]
            store.forget("s2")
            await flushed(store)
            assert not await backend.client.exists([backend.key("events", "s2")])
            ttl = await backend.client.pttl(backend.key("events", "s1"))
            assert 0 < ttl <= 300_000  # the age bound: max_age after the last append
            nursery.cancel_scope.cancel()


async def test_the_load_hook_answers_what_the_mirror_no_longer_holds(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix) as backend, \
                trio.open_nursery() as nursery:
            store = RedisEventStore(backend, max_events=100, mirror_events=2)
            nursery.start_soon(store.run)
            for i in range(1, 6):
                store.append("s", "1", f"1/{i}", b"e%d" % i)
            store.append("s", "2", "2/1", b"other stream")
            await flushed(store)
            assert store.after("s", "1", "1/1") is None  # the mirror dropped it
            await store.load("s", "1/1")
            assert store.after("s", "1", "1/1") == [b"e2", b"e3", b"e4", b"e5"]
            assert store.after("s", "1", "1/1") is None  # loaded once, for one answer
            assert store.after("s", "2", "2/1") == []  # the mirror answers what it holds
            await store.load("s", "1/99")  # unknown: nothing is loaded
            assert store.after("s", "1", "1/99") is None
            nursery.cancel_scope.cancel()


async def test_a_full_queue_keeps_events_in_the_mirror_and_says_so_once(
        redis_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    redis = RedisProcess()
    redis.start()
    try:
        with trio.fail_after(20), caplog.at_level(logging.WARNING, "trio_mcp.events"):
            async with RedisBackend(redis.url, prefix=redis_prefix, command_timeout=0.5,
                                    connect_timeout=0.5) as backend, \
                    trio.open_nursery() as nursery:
                store = RedisEventStore(backend, max_queue=2)
                nursery.start_soon(store.run)
                redis.stop()
                for i in range(1, 5):
                    store.append("s", "1", f"1/{i}", b"e%d" % i)
                assert store.dropped == 2
                assert caplog.text.count("write queue to Redis is full") == 1
                assert store.after("s", "1", "1/1") == [b"e2", b"e3", b"e4"]
                while True:  # the flusher tries, and fails (Redis is a real process)
                    if "cannot write to Redis" in caplog.text:
                        break
                    await trio.sleep(0.02)
                redis.start()  # the flusher's retries get the queued two through
                await flushed(store)
                assert await listed(backend, "s") == [b"e1", b"e2"]
                assert "writing to Redis again" in caplog.text
                nursery.cancel_scope.cancel()
    finally:
        redis.close()


async def _worker(url: str, prefix: str, name: str, store_args: dict[str, Any],
                  task_status: trio.TaskStatus[tuple[int, Server, RedisEventStore]]
                  ) -> None:
    async with RedisBackend(url, worker_id=name, prefix=prefix, heartbeat_interval=0.2,
                            heartbeat_ttl=1.0) as backend:
        store = RedisEventStore(backend, **store_args)
        server = Server(f"w{name}", "1")
        async with trio.open_nursery() as nursery:
            info = await nursery.start(functools.partial(
                serve_http, server, shared=backend, event_store=store))
            task_status.started((info.port, server, store))


async def test_resumption_through_another_worker_reaches_past_the_mirror(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            a_port, a_server, a_store = await nursery.start(
                _worker, redis_url, redis_prefix, "A", {"mirror_events": 1})
            b_port, _, _ = await nursery.start(_worker, redis_url, redis_prefix, "B", {})
            sid = await initialize(a_port)
            seen = []
            async with Raw.open(b_port) as get:
                head = await get.send("GET", {"mcp-session-id": sid, **V})
                assert head.status_code == 200
                for i in range(3):  # three list changes, on the GET stream through B
                    a_server.add_tool(lambda: "x", f"tool_{i}")
                    seen += await get.events(lambda e: True)
            await flushed(a_store)
            stream = seen[0]["id"].partition("/")[0]
            assert a_store.mirror.after(sid, stream, seen[0]["id"]) is None  # it holds one
            async with Raw.open(b_port) as again:
                while True:  # until the owner saw the drop (a Redis round trip away)
                    head = await again.send("GET", {"mcp-session-id": sid, **V,
                                                    "last-event-id": seen[0]["id"]})
                    if head.status_code != 409:
                        break
                    await again.body()
                    await trio.sleep(0.05)
                assert head.status_code == 200
                replayed = await again.events(lambda e: e["id"] == seen[2]["id"])
                assert [e["id"] for e in replayed] == [seen[1]["id"], seen[2]["id"]]
            nursery.cancel_scope.cancel()
