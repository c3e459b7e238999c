"""``trio-mcp serve --store`` and ``--workers N`` as real processes (issue 16): the refusal
without ``--store``, ``SO_REUSEPORT`` sharing one port, a killed worker started again, SIGTERM
(and the supervisor's own death) stopping every worker, Redis unreachable in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from sansio import SUPPORTED_VERSIONS
from tests.redis_support import REDIS_SKIP_REASON, free_port, redis_available
from tests.scale_support import (
    ROOT,
    alive,
    children,
    open_supervisor,
    worker_env,
    worker_id_of,
)
from trio_adapter import Client
from trio_adapter._listen import reuse_port_supported
from trio_adapter.http import ListenError, StreamableHTTPTransport, serve_http
from trio_adapter.server import Server

SCRIPT = ROOT / "tests" / "adapter" / "scripts" / "scale_server.py"
linux_only = pytest.mark.skipif(not reuse_port_supported(), reason="SO_REUSEPORT needs Linux")
needs_redis = pytest.mark.skipif(not redis_available(), reason=REDIS_SKIP_REASON)


async def run_cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(30):
        return await trio.run_process(
            [sys.executable, "-m", "trio_adapter", *args], cwd=str(ROOT), env=worker_env(),
            capture_stdout=True, capture_stderr=True, check=False, stdin=subprocess.DEVNULL)


async def whoami(url: str) -> str:
    """One 2026-07-28 call on a connection of its own."""
    client = Client("scale-test", "1", supported_versions=SUPPORTED_VERSIONS)
    with trio.fail_after(20):
        async with client.connect(StreamableHTTPTransport(url)) as session:
            result = await session.call_tool("whoami")
    text = result.content[0].text  # type: ignore[union-attr]
    assert isinstance(text, str)
    return text


async def test_workers_above_one_without_store_refuse() -> None:
    done = await run_cli("serve", str(SCRIPT), "--http", "127.0.0.1:0", "--workers", "3")
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("trio-mcp: error: --workers 3 needs --store")
    assert "handshake-era sessions" in lines[0]


async def test_workers_and_store_need_http() -> None:
    done = await run_cli("serve", str(SCRIPT), "--workers", "2", "--stateless")
    assert done.returncode == 2
    assert b"apply to --http" in done.stderr


@needs_redis
async def test_store_unreachable_is_one_line_and_exit_1() -> None:
    port = free_port()  # nothing listens there
    done = await run_cli("serve", str(SCRIPT), "--http", "127.0.0.1:0", "--store",
                         f"redis://127.0.0.1:{port}/0")
    assert done.returncode == 1
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("trio-mcp: error: ") and str(port) in lines[0]


@needs_redis
async def test_store_bad_url_is_a_usage_error() -> None:
    done = await run_cli("serve", str(SCRIPT), "--http", "127.0.0.1:0", "--store",
                         "http://127.0.0.1:1/0")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("trio-mcp: error: --store: not a redis:// URL")


@linux_only
async def test_serve_http_reuse_port_shares_one_port() -> None:
    server = Server("reuse", "1")
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            first = await nursery.start(serve_http, server, "127.0.0.1", 0)
            with pytest.raises(ListenError, match="address already in use"):
                await nursery.start(serve_http, server, "127.0.0.1", first.port)
            nursery.cancel_scope.cancel()
        async with trio.open_nursery() as nursery:
            a = await nursery.start(lambda task_status: serve_http(
                server, "127.0.0.1", 0, reuse_port=True, task_status=task_status))
            b = await nursery.start(lambda task_status: serve_http(
                server, "127.0.0.1", a.port, reuse_port=True, task_status=task_status))
            assert a.port == b.port
            nursery.cancel_scope.cancel()


@linux_only
async def test_workers_share_one_port_and_all_answer() -> None:
    with trio.fail_after(90):
        async with open_supervisor(SCRIPT, ["--http", "127.0.0.1:0", "--workers", "3",
                                            "--stateless"]) as supervisor:
            assert any("3 workers listening" in line for line in supervisor.log)
            assert len(supervisor.worker_pids()) == 3
            seen = set()
            for _ in range(60):  # fresh connections: the kernel spreads them
                seen.add(await whoami(supervisor.url))
                if len(seen) == 3:
                    break
            assert seen <= {"w1", "w2", "w3"} and len(seen) >= 2, seen


@linux_only
async def test_a_killed_worker_is_started_again() -> None:
    with trio.fail_after(90):
        async with open_supervisor(SCRIPT, ["--http", "127.0.0.1:0", "--workers", "2",
                                            "--stateless"]) as supervisor:
            before = supervisor.worker_pids()
            assert len(before) == 2
            killed, kept = worker_id_of(before[0]), worker_id_of(before[1])
            os.kill(before[0], signal.SIGKILL)
            with trio.fail_after(30):  # polling the supervisor's children, with a deadline
                while True:
                    now = supervisor.worker_pids()
                    if len(now) == 2 and before[0] not in now and any(
                            "is listening" in line for line in supervisor.log):
                        break
                    await trio.sleep(0.05)
            restarted = [line for line in supervisor.log if "starting it again" in line]
            assert len(restarted) == 1 and "killed by SIGKILL" in restarted[0], restarted
            assert before[1] in now
            for _ in range(10):
                assert await whoami(supervisor.url) in {f"{killed}r1", kept}


@linux_only
async def test_sigterm_stops_every_worker() -> None:
    with trio.fail_after(90):
        async with open_supervisor(SCRIPT, ["--http", "127.0.0.1:0", "--workers", "3",
                                            "--stateless", "--drain-timeout", "2"]
                                   ) as supervisor:
            pids = supervisor.worker_pids()
            assert len(pids) == 3
            supervisor.proc.send_signal(signal.SIGTERM)
            with trio.fail_after(30):
                code = await supervisor.proc.wait()
            assert code == 128 + signal.SIGTERM
            assert not [pid for pid in pids if alive(pid)]
            assert not children(supervisor.proc.pid)


@linux_only
async def test_workers_stop_when_the_supervisor_is_killed() -> None:
    with trio.fail_after(90):
        async with open_supervisor(SCRIPT, ["--http", "127.0.0.1:0", "--workers", "2",
                                            "--stateless", "--drain-timeout", "1"]
                                   ) as supervisor:
            pids = supervisor.worker_pids()
            assert len(pids) == 2
            supervisor.proc.kill()
            await supervisor.proc.wait()
            with trio.fail_after(30):  # the lifeline: they see end-of-file and drain
                while True:
                    if not any(alive(pid) for pid in pids):
                        break
                    await trio.sleep(0.05)


@linux_only
@needs_redis
async def test_workers_with_store(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("scale-test-key-" + "k" * 32 + "\n")
    with trio.fail_after(90):
        async with open_supervisor(SCRIPT, [
                "--http", "127.0.0.1:0", "--workers", "2", "--store", redis_url,
                "--store-prefix", redis_prefix, "--state-key-file", str(keys)]
        ) as supervisor:
            assert await whoami(supervisor.url) in {"w1", "w2"}
            supervisor.proc.send_signal(signal.SIGINT)
            with trio.fail_after(30):
                assert await supervisor.proc.wait() == 128 + signal.SIGINT


@linux_only
async def test_the_supervisors_key_opens_mrtr_retries_on_every_worker() -> None:
    """No key file, no TRIO_MCP_STATE_KEYS: the supervisor's one random key is every
    worker's, so a retry answered by another worker than the one that asked succeeds."""
    asked: list[str] = []

    async def answer(ctx: Any, params: Any) -> dict[str, Any]:
        message = params["message"] if isinstance(params, dict) else params.message
        asked.append(message)
        return {"action": "accept", "content": {"name": "Bo"}}

    env = worker_env()
    env.pop("TRIO_MCP_STATE_KEYS", None)
    with trio.fail_after(120):
        async with open_supervisor(SCRIPT, ["--http", "127.0.0.1:0", "--workers", "3",
                                            "--stateless"], env=env) as supervisor:
            client = Client("scale-test", "1", supported_versions=SUPPORTED_VERSIONS,
                            elicitation_handler=answer)
            crossed = []
            for _ in range(20):  # a connection per request: the kernel picks the worker
                asked.clear()
                transport = StreamableHTTPTransport(supervisor.url, max_idle_connections=0)
                async with client.connect(transport) as session:
                    result = await session.call_tool("greet")
                text = result.content[0].text  # type: ignore[union-attr]
                assert text.startswith("hello Bo, from "), text
                first = asked[0].removeprefix("asked by ").split(":")[0]
                if first != text.rsplit(" ", 1)[1]:
                    crossed.append((first, text))
                    if len(crossed) >= 2:
                        break
            assert crossed, "no retry landed on another worker in 20 tries"


@linux_only
@needs_redis
async def test_workers_that_cannot_reach_redis_stop_the_supervisor() -> None:
    port = free_port()  # nothing listens there
    done = await run_cli("serve", str(SCRIPT), "--http", "127.0.0.1:0", "--workers", "2",
                         "--store", f"redis://127.0.0.1:{port}/0")
    assert done.returncode == 1
    lines = done.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("trio-mcp: error: worker w") and "before it listened" in \
        lines[-1], lines
    # a worker's reason (the other may be stopped before it gets that far), then the verdict
    assert any(line.startswith("trio-mcp: error: Redis at ") and str(port) in line
               for line in lines[:-1]), lines
    assert len(lines) <= 3, lines
