"""The notification bus on a real redis-server: two ``Server`` objects in one trio run, each
with its own RedisBackend (distinct worker ids, the same key prefix), stand for two workers.
A 2026-07-28 listen on one receives what the other publishes; own publishes arrive once;
malformed messages are ignored; the bus recovers after Redis restarts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from tests.adapter.test_tasks_server import Raw, raw
from tests.redis_support import REDIS_SKIP_REASON, RedisProcess, redis_available
from trio_adapter import Server
from trio_adapter.redis import RedisBackend, RedisNotificationBus, share_server_state

pytestmark = pytest.mark.skipif(not redis_available(), reason=REDIS_SKIP_REASON)

WATCHED = "test://watched"


def make_server(name: str) -> Server:
    server = Server(name, "1.0")

    @server.resource(WATCHED)
    def watched() -> str:
        return "w"

    @server.tool()
    def hello() -> str:
        return "hi"

    return server


@contextlib.asynccontextmanager
async def worker(url: str, prefix: str, worker_id: str, **backend: Any
                 ) -> AsyncIterator[tuple[Server, RedisNotificationBus, RedisBackend]]:
    server = make_server(worker_id)
    async with RedisBackend(url, prefix=prefix, worker_id=worker_id, **backend) as b:
        bus = share_server_state(server, b)
        async with server.running():
            yield server, bus, b


async def listen(client: Raw, notifications: dict[str, Any]) -> int:
    rid = await client.send("subscriptions/listen", {"notifications": notifications})
    ack = await client.message()
    assert ack["method"] == "notifications/subscriptions/acknowledged", ack
    return rid


async def test_a_resource_update_on_one_worker_reaches_a_listen_on_another(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, _, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), raw(s1) as client:
            rid = await listen(client, {"resourceSubscriptions": [WATCHED]})
            s2.resource_updated("test://other")  # not asked for: filtered on worker 1
            s2.notify_resource_updated(WATCHED)
            note = await client.message()
    assert note["method"] == "notifications/resources/updated"
    assert note["params"]["uri"] == WATCHED
    assert note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == rid


async def test_list_changed_on_one_worker_reaches_a_listen_on_another(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, _, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), raw(s1) as client:
            await listen(client, {"toolsListChanged": True})

            @s2.tool()
            def added() -> str:
                return "new"

            note = await client.message()
    assert note["method"] == "notifications/tools/list_changed"


async def test_a_workers_own_publish_is_delivered_once(redis_url: str, redis_prefix: str
                                                       ) -> None:
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, _, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), raw(s1) as client:
            await listen(client, {"resourceSubscriptions": [WATCHED, "test://second"]})
            s1.resource_updated(WATCHED)
            first = await client.message()
            s2.resource_updated("test://second")  # after the echo of the first, if any
            second = await client.message()
    assert first["params"]["uri"] == WATCHED
    assert second["params"]["uri"] == "test://second"


async def test_malformed_and_unknown_messages_are_ignored(
        redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    with trio.fail_after(10), caplog.at_level(logging.DEBUG, "trio_mcp"):
        async with worker(redis_url, redis_prefix, "w1") as (s1, bus, b), raw(s1) as client:
            await listen(client, {"resourceSubscriptions": [WATCHED]})
            for junk in (b"not json", b"[1]", b'{"v": 99, "o": "x", "k": "resource_updated",'
                         b' "p": {"uri": "test://watched"}}',
                         b'{"v": 1, "o": "x", "k": "mystery", "p": {}}'):
                await b.client.publish(bus.channel, junk)
            await b.client.publish(bus.channel, b'{"v": 1, "o": "x", "k": "resource_updated",'
                                   b' "p": {"uri": "test://watched"}}')
            note = await client.message()
    assert note["params"]["uri"] == WATCHED
    assert "unknown kind 'mystery'" in caplog.text


async def test_the_bus_recovers_after_redis_restarts(caplog: pytest.LogCaptureFixture) -> None:
    redis = RedisProcess()
    redis.start()
    fast = {"heartbeat_interval": 0.05, "heartbeat_ttl": 1, "command_timeout": 0.5,
            "connect_timeout": 0.5}
    try:
        with trio.fail_after(30), caplog.at_level(logging.WARNING, "trio_mcp.redis"):
            async with worker(redis.url, "t:", "w1", **fast) as (s1, bus1, _), \
                    worker(redis.url, "t:", "w2", **fast) as (s2, bus2, _), \
                    raw(s1) as client:
                await listen(client, {"resourceSubscriptions": [WATCHED]})
                redis.stop()
                await bus1.wait_subscribed(False)
                assert "the bus lost Redis" in caplog.text
                s1.resource_updated(WATCHED)  # local delivery goes on without Redis
                local = await client.message()
                redis.start()
                await bus1.wait_subscribed(True)
                await bus2.wait_subscribed(True)
                assert "subscribed again" in caplog.text
                s2.notify_resource_updated(WATCHED)
                remote = await client.message()
    finally:
        redis.stop()
    assert local["params"]["uri"] == WATCHED and remote["params"]["uri"] == WATCHED


async def test_publishes_while_redis_is_down_are_bounded_and_the_drops_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    redis = RedisProcess()
    redis.start()
    got: list[tuple[str, Any]] = []
    try:
        with trio.fail_after(30), caplog.at_level(logging.WARNING, "trio_mcp.redis"):
            async with RedisBackend(redis.url, prefix="t:", worker_id="w", command_timeout=0.5,
                                    connect_timeout=0.5) as backend, \
                    trio.open_nursery() as nursery:
                bus = RedisNotificationBus(backend, max_pending=2)
                bus.subscribe(lambda kind, payload: got.append((kind, payload)))
                await nursery.start(bus.run)
                redis.stop()
                await bus.wait_subscribed(False)
                for n in range(6):
                    bus.publish("resource_updated", {"uri": f"test://{n}"})
                assert caplog.text.count("the bus queue is full") == 1
                redis.start()
                while True:  # until the real server takes the kept ones (deadline above)
                    if "bus messages were dropped" in caplog.text:
                        break
                    await trio.sleep(0.01)
                nursery.cancel_scope.cancel()
    finally:
        redis.stop()
    assert len(got) == 6  # delivered here at once, Redis or not
    assert "bus messages were dropped" in caplog.text


async def test_notify_list_changed_reaches_other_workers_and_refuses_other_kinds(
        redis_url: str, redis_prefix: str) -> None:
    with pytest.raises(ValueError, match="tools, resources or prompts"):
        Server("x", "1").notify_list_changed("roots")
    with trio.fail_after(10):
        async with worker(redis_url, redis_prefix, "w1") as (s1, _, _), \
                worker(redis_url, redis_prefix, "w2") as (s2, _, _), raw(s1) as client:
            await listen(client, {"toolsListChanged": True})
            s2.notify_list_changed("tools")  # no tool added anywhere: the call alone
            note = await client.message()
    assert note["method"] == "notifications/tools/list_changed"
