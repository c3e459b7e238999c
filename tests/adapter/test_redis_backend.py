"""trio_adapter.redis.RedisBackend against a real redis-server: connect, heartbeat, liveness,
clear errors, recovery after Redis restarts."""

from __future__ import annotations

import logging

import pytest
import trio

from tests.redis_support import REDIS_SKIP_REASON, RedisProcess, free_port, redis_available
from trio_adapter.redis import RedisBackend, RedisUnavailable, parse_store_url

pytestmark = pytest.mark.skipif(not redis_available(), reason=REDIS_SKIP_REASON)


def test_store_urls_parse_and_bad_ones_say_why() -> None:
    assert parse_store_url("redis://127.0.0.1:6390/2") == ("127.0.0.1", 6390, 2)
    assert parse_store_url("redis://localhost") == ("localhost", 6379, 0)
    for bad in ("http://x", "redis://u:p@h/0", "redis://h/x", "redis://h:99999/0"):
        with pytest.raises(RedisUnavailable):
            parse_store_url(bad)


async def test_heartbeat_makes_a_worker_alive_to_others_and_leaving_ends_it(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as a:
            async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="b") as b:
                assert await a.alive("b") and await b.alive("a")
                assert not await a.alive("nobody")
            assert not await a.alive("b")  # removed on leaving, not only on expiry


async def test_an_unreachable_redis_fails_entering_within_the_deadline() -> None:
    backend = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.5)
    with trio.fail_after(5), pytest.raises(RedisUnavailable, match="did not answer"):
        async with backend:
            pass


async def test_a_worker_logs_the_loss_of_redis_and_recovers_after_a_restart(
        caplog: pytest.LogCaptureFixture) -> None:
    server = RedisProcess()
    server.start()
    try:
        with trio.fail_after(30):
            async with RedisBackend(server.url, worker_id="w", heartbeat_interval=0.05,
                                    heartbeat_ttl=1, command_timeout=0.5,
                                    connect_timeout=0.5) as backend:
                with caplog.at_level(logging.WARNING, "trio_mcp.redis"):
                    server.stop()
                    await backend.wait_healthy(False)
                    assert "lost Redis" in caplog.text
                    server.start()
                    await backend.wait_healthy(True)
                    assert "is back" in caplog.text
                async with RedisBackend(server.url, worker_id="x") as other:
                    assert await other.alive("w")
    finally:
        server.close()


async def test_a_cancelled_worker_is_dead_to_the_others_at_once(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(10):
        async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="a") as a:
            with trio.CancelScope() as scope:
                async with RedisBackend(redis_url, prefix=redis_prefix, worker_id="b",
                                        heartbeat_ttl=60):
                    assert await a.alive("b")
                    scope.cancel()
                    await trio.sleep_forever()
            assert not await a.alive("b")  # not after the 60 s TTL: removed on the way out
