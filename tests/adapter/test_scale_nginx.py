"""Three workers behind nginx (round-robin, docs/scale.md's configuration), one Redis (issue 16).

The official SDK's client (``mcp``) in 2026-07-28 mode: calls that reach every worker, an MRTR
elicitation whose retry lands on another worker, a ``subscriptions/listen`` on one worker that
gets a resource update triggered through another. In legacy mode: a whole session (tools,
progress, sampling, ``Last-Event-ID`` resumption after the connection is cut) whose requests
reach all three workers. Our client: a task created on one worker polled to completion through
the others. Faults: a worker killed mid-run (new calls succeed on the others, its task ends
failed); Redis restarted mid-run (the workers recover without a restart).
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from sansio import SUPPORTED_VERSIONS
from tests.redis_support import REDIS_SKIP_REASON, RedisProcess, redis_available
from tests.scale_support import (
    ROOT,
    Cluster,
    CutProxy,
    Nginx,
    nginx_available,
    open_cluster,
    open_nginx,
    open_supervisor,
)
from trio_adapter import Client
from trio_adapter._task_client import TaskHandle
from trio_adapter.http import StreamableHTTPTransport

mcp = pytest.importorskip("mcp")

import mcp_types  # noqa: E402

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not redis_available(), reason=REDIS_SKIP_REASON),
    pytest.mark.skipif(not nginx_available(), reason="nginx is not installed: apt-get install "
                       "nginx (the scale-out tests need it)"),
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]

SCRIPT = ROOT / "tests" / "adapter" / "scripts" / "scale_server.py"
TIMEOUT = 120.0


class Deployment:
    def __init__(self, cluster: Cluster, nginx: Nginx) -> None:
        self.cluster = cluster
        self.nginx = nginx

    @property
    def ids(self) -> set[str]:
        return {w.worker_id for w in self.cluster.workers}

    def reached(self) -> collections.Counter[int]:
        return collections.Counter(self.nginx.upstream_ports())


@asynccontextmanager
async def _deploy(redis_url: str) -> AsyncIterator[Deployment]:
    async with open_cluster(SCRIPT, 3, redis_url) as cluster, \
            open_nginx(cluster.ports) as nginx:
        yield Deployment(cluster, nginx)


def text_of(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, mcp_types.TextContent), result
    return block.text


async def our_session_call(url: str, name: str, arguments: dict[str, Any] | None = None) -> str:
    client = Client("scale-test", "1", supported_versions=SUPPORTED_VERSIONS)
    async with client.connect(StreamableHTTPTransport(url)) as session:
        result = await session.call_tool(name, arguments or {})
    return result.content[0].text  # type: ignore[union-attr,no-any-return]


# ---------------------------------------------------------------- 2026-07-28


async def test_modern_sdk_client_across_three_workers(redis_url: str) -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: mcp_types.ElicitRequestParams
                     ) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"name": "Alice"})

    with trio.fail_after(TIMEOUT):
        async with _deploy(redis_url) as deployment:
            url = deployment.nginx.url
            async with mcp.Client(url, elicitation_callback=elicit) as client:
                assert client.protocol_version == "2026-07-28"
                seen = collections.Counter(
                    [text_of(await client.call_tool("whoami", {})) for _ in range(9)])
                assert set(seen) == deployment.ids, seen  # every worker answered

                # MRTR: the retry (with the sealed requestState) answered by another worker
                crossed = None
                for _ in range(6):
                    asked.clear()
                    answer = text_of(await client.call_tool("greet", {}))
                    assert answer.startswith("hello Alice, from "), answer
                    first = asked[0].removeprefix("asked by ").split(":")[0]
                    last = answer.rsplit(" ", 1)[1]
                    if first != last:
                        crossed = (first, last)
                        break
                assert crossed is not None, "every MRTR retry came back to the asking worker"

            # a listen on w1 itself; the update triggered on w2 itself
            w1, w2 = deployment.cluster.workers[0], deployment.cluster.workers[1]
            async with mcp.Client(w1.url) as listening, mcp.Client(w2.url) as other:
                async with listening.listen(resource_subscriptions=["scale://counter"]) as sub:
                    touched = text_of(await other.call_tool("touch", {"uri": "scale://counter"}))
                    assert touched == f"touched by {w2.worker_id}"
                    with trio.fail_after(15):
                        async for event in sub:
                            assert "counter" in repr(event)
                            break


# ---------------------------------------------------------------- handshake era


async def answer_sampling(context: Any, params: mcp_types.CreateMessageRequestParams
                          ) -> mcp_types.CreateMessageResult:
    question = params.messages[0].content
    assert isinstance(question, mcp_types.TextContent)
    return mcp_types.CreateMessageResult(
        role="assistant", model="fake", stopReason="endTurn",
        content=mcp_types.TextContent(type="text", text=question.text.upper()))


async def test_legacy_sdk_session_across_three_workers(redis_url: str) -> None:
    progress: list[float] = []
    with trio.fail_after(TIMEOUT):
        async with _deploy(redis_url) as deployment:
            async with trio.open_nursery() as nursery:
                proxy = CutProxy(deployment.nginx.port)
                await nursery.start(proxy.serve)
                before = sum(deployment.reached().values())
                async with mcp.Client(proxy.url, mode="legacy",
                                      sampling_callback=answer_sampling) as client:
                    assert client.protocol_version == "2025-11-25"
                    owners = {text_of(await client.call_tool("whoami", {}))
                              for _ in range(6)}
                    assert len(owners) == 1 and owners <= deployment.ids, owners
                    owner = owners.pop()

                    async def on_progress(done: float, total: float | None,
                                          message: str | None) -> None:
                        progress.append(done)

                    counted = await client.call_tool("countdown", {"n": 5},
                                                     progress_callback=on_progress)
                    assert text_of(counted) == f"liftoff from {owner}"
                    assert progress == [1, 2, 3, 4, 5]

                    sampled = await client.call_tool("ask_llm", {"question": "hi"})
                    assert text_of(sampled) == f"HI via {owner}"

                    # the connection is cut mid-stream: the SDK resumes with Last-Event-ID
                    progress.clear()

                    async def cut_at_three(done: float, total: float | None,
                                           message: str | None) -> None:
                        progress.append(done)
                        if done == 3 and not proxy.cuts:
                            proxy.cut()

                    streamed = await client.call_tool("slow_stream", {"n": 8},
                                                      progress_callback=cut_at_three)
                    assert proxy.cuts == 1
                    assert text_of(streamed) == f"streamed 8 from {owner}"
                    assert sorted(set(progress)) == [1, 2, 3, 4, 5, 6, 7, 8], progress
                nursery.cancel_scope.cancel()
            # the session's requests went to every worker (relayed to the owner by two)
            reached = deployment.reached()
            assert sum(reached.values()) - before >= 6
            assert set(reached) == set(deployment.cluster.ports), reached


# ---------------------------------------------------------------- tasks


async def test_task_created_on_one_worker_polled_through_the_others(redis_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with _deploy(redis_url) as deployment:
            w1 = deployment.cluster.workers[0]
            client = Client("scale-test", "1", supported_versions=SUPPORTED_VERSIONS)
            async with client.connect(StreamableHTTPTransport(w1.url)) as direct, \
                    client.connect(StreamableHTTPTransport(deployment.nginx.url)) as balanced:
                created = await direct.call_tool_as_task("job", {"seconds": 1.5})
                assert isinstance(created, TaskHandle)
                before = deployment.reached()
                handle = TaskHandle(balanced, created.snapshot, modern=True)
                result = await handle.wait()
                assert result.content[0].text == f"job done by {w1.worker_id}"  # type: ignore[union-attr]
                polled = deployment.reached() - before
                others = set(deployment.cluster.ports) - {w1.port}
                assert others <= set(polled), polled  # tasks/get answered by the others


# ---------------------------------------------------------------- faults


async def test_a_killed_worker(redis_url: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with _deploy(redis_url) as deployment:
            w1 = deployment.cluster.workers[0]
            client = Client("scale-test", "1", supported_versions=SUPPORTED_VERSIONS)
            failure: list[BaseException] = []
            async with client.connect(StreamableHTTPTransport(w1.url)) as direct:
                created = await direct.call_tool_as_task("forever", {})
                assert isinstance(created, TaskHandle)
                streaming = trio.Event()

                async def on_progress(done: float, total: float | None,
                                      message: str | None) -> None:
                    streaming.set()

                async def in_flight() -> None:
                    try:
                        await direct.call_tool("slow_stream", {"n": 50},
                                               on_progress=on_progress)
                    except Exception as exc:  # the worker is gone: a clear error
                        failure.append(exc)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(in_flight)
                    await streaming.wait()
                    w1.kill()
                    await w1.exited.wait()
            assert failure and str(failure[0]), failure  # failed, with a message; no hang
            survivors = deployment.ids - {w1.worker_id}
            for _ in range(6):  # new calls succeed, on the others
                assert await our_session_call(deployment.nginx.url, "whoami") in survivors
            async with client.connect(StreamableHTTPTransport(deployment.nginx.url)) as s:
                handle = TaskHandle(s, created.snapshot, modern=True)
                with trio.fail_after(30):  # heartbeat_ttl (5 s) and a poll or two
                    while True:
                        snapshot = await handle.get()
                        if snapshot.status != "working":
                            break
                        await trio.sleep(0.25)
                assert snapshot.status == "failed", snapshot


async def test_redis_restart_mid_run(tmp_path: Path) -> None:
    redis = RedisProcess()
    redis.start()
    try:
        with trio.fail_after(TIMEOUT):
            async with _deploy(redis.url) as deployment:
                url = deployment.nginx.url
                assert await our_session_call(url, "whoami") in deployment.ids
                redis.restart()
                # the workers come back by themselves: a task (which needs Redis) succeeds
                client = Client("scale-test", "1", supported_versions=SUPPORTED_VERSIONS)
                with trio.fail_after(30):
                    while True:
                        try:
                            async with client.connect(StreamableHTTPTransport(url)) as s:
                                handle = await s.call_tool_as_task("job", {"seconds": 0.1})
                                result = await handle.wait()
                            break
                        except Exception:  # a 503 while the workers reconnect
                            await trio.sleep(0.2)
                assert result.content[0].text.startswith("job done by ")  # type: ignore[union-attr]
                for _ in range(6):
                    assert await our_session_call(url, "whoami") in deployment.ids
                assert all(w.proc.returncode is None for w in deployment.cluster.workers)
                logs = [line for w in deployment.cluster.workers for line in w.log]
                assert any("lost Redis" in line for line in logs), logs[-20:]  # said so
    finally:
        redis.close()


# ---------------------------------------------------------------- nginx before --workers N


async def test_nginx_before_one_reuse_port_of_workers(redis_url: str, redis_prefix: str
                                                      ) -> None:
    """``serve --workers 3 --store``: nginx's upstream is the one shared port; a legacy
    session (relayed to its owner when the kernel hands a connection to another worker) and
    2026-07-28 calls both work."""
    from trio_adapter._listen import reuse_port_supported

    if not reuse_port_supported():
        pytest.skip("SO_REUSEPORT needs Linux")
    with trio.fail_after(TIMEOUT):
        async with open_supervisor(SCRIPT, [
                "--http", "127.0.0.1:0", "--workers", "3", "--store", redis_url,
                "--store-prefix", redis_prefix, "--max-connections-per-client", "1024"]
        ) as supervisor:
            port = int(supervisor.url.rsplit(":", 1)[1].split("/")[0])
            async with open_nginx([port]) as nginx:
                async with mcp.Client(nginx.url, mode="legacy") as legacy:
                    owners = {text_of(await legacy.call_tool("whoami", {}))
                              for _ in range(6)}
                    assert len(owners) == 1 and owners <= {"w1", "w2", "w3"}, owners
                async with mcp.Client(nginx.url) as modern:
                    assert modern.protocol_version == "2026-07-28"
                    assert text_of(await modern.call_tool("whoami", {})) in {"w1", "w2", "w3"}


# ---------------------------------------------------------------- routing to the owner


async def test_owner_routing_sends_a_legacy_session_to_its_owner_only(redis_url: str) -> None:
    """docs/scale.md's owner-routing configuration: after ``initialize`` (round-robin), every
    request of a handshake-era session reaches the worker that owns it (no relay); a
    2026-07-28 client is still spread over all three."""
    with trio.fail_after(TIMEOUT):
        async with open_cluster(SCRIPT, 3, redis_url) as cluster, \
                open_nginx(cluster.ports, owners={w.worker_id: w.port
                                                  for w in cluster.workers}) as nginx:
            by_port = {w.port: w.worker_id for w in cluster.workers}
            async with mcp.Client(nginx.url, mode="legacy",
                                  sampling_callback=answer_sampling) as client:
                owner = text_of(await client.call_tool("whoami", {}))
                start = len(nginx.upstream_ports())
                for _ in range(9):
                    assert text_of(await client.call_tool("whoami", {})) == owner
                sampled = await client.call_tool("ask_llm", {"question": "hi"})
                assert text_of(sampled) == f"HI via {owner}"
            reached = nginx.upstream_ports()[start:]
            assert len(reached) >= 10 and {by_port[p] for p in reached} == {owner}, reached
            seen = {await our_session_call(nginx.url, "whoami") for _ in range(9)}
            assert seen == set(by_port.values()), seen  # modern: round-robin, any worker
