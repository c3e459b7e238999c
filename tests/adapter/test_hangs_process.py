"""Issue 14, section 2, with real processes: a killed HTTP server fails the call in flight
promptly, a stdio server that half answers ``initialize`` cannot hang ``connect``, and
SIGTERM/SIGHUP to ``trio-mcp call`` leave no server running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio
import trio.testing

from trio_adapter import Client, CommandTransport, ConnectError, MCPError
from trio_adapter.http import StreamableHTTPTransport

SERVER = textwrap.dedent('''
    import os, sys, trio
    from trio_adapter import Server
    server = Server("hangs", "1.0")
    if len(sys.argv) > 0 and os.environ.get("PID_FILE"):
        with open(os.environ["PID_FILE"], "w") as f:
            f.write(str(os.getpid()))

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleep."""
        await trio.sleep(seconds)
        return "done"
''')


def _server_file(tmp_path: Path) -> Path:
    path = tmp_path / "hang_server.py"
    path.write_text(SERVER)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("mode", ["legacy", "modern"])
async def test_serve_http_killed_during_a_call_fails_the_call_promptly(
        tmp_path: Path, mode: str) -> None:
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "trio_adapter", "serve", str(_server_file(tmp_path)),
         "--http", "127.0.0.1:0"], stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        said = b""
        with trio.fail_after(15):
            while not re.search(rb"http://\S+\s", said):
                said += await proc.stderr.receive_some(4096)
        url = re.search(rb"(http://\S+)", said).group(1).decode()  # type: ignore[union-attr]
        async with Client("t", "1", mode=mode).connect(StreamableHTTPTransport(url)) as s:
            async with trio.open_nursery() as nursery:
                async def kill() -> None:
                    await trio.sleep(0.5)  # the call is in flight on the server
                    proc.kill()

                nursery.start_soon(kill)
                # The server asked for retry 1 s: one wait, then the resume is refused.
                with trio.fail_after(5), pytest.raises(MCPError, match="connection refused"):
                    await s.call_tool("slow", {"seconds": 60})
    finally:
        proc.kill()
        await proc.wait()


HALF_INIT = textwrap.dedent('''
    import sys
    sys.stdin.readline()
    sys.stdout.write('{"jsonrpc": "2.0", "id": 0, "result": {"protocolVersion"')
    sys.stdout.flush()
    sys.stdin.read()  # stalls, half-way through its answer, until the client closes stdin
''')


@pytest.mark.parametrize("bound", ["request_timeout", "connect_timeout"])
async def test_a_half_written_initialize_answer_cannot_hang_connect(
        tmp_path: Path, bound: str) -> None:
    script = tmp_path / "half.py"
    script.write_text(HALF_INIT)
    transport = CommandTransport([sys.executable, str(script)], stderr="devnull",
                                 close_timeout=0.2, terminate_timeout=0.5)
    client = Client("t", "1", mode="legacy", **{bound: 0.5})  # type: ignore[arg-type]
    with trio.fail_after(10), pytest.raises(ConnectError, match=rf"within 0\.5 s \({bound}\)"):
        async with client.connect(transport):
            pass
    assert transport.pid is not None and not _alive(transport.pid)


async def test_cancelling_a_session_ends_the_spawned_server(tmp_path: Path) -> None:
    transport = CommandTransport(
        [sys.executable, "-m", "trio_adapter", "serve", str(_server_file(tmp_path))],
        stderr="devnull")
    with trio.move_on_after(20) as scope:
        async with Client("t", "1").connect(transport) as s:
            await s.list_tools()  # the server is up
            async with trio.open_nursery() as nursery:
                nursery.start_soon(s.call_tool, "slow", {"seconds": 60})
                await trio.testing.wait_all_tasks_blocked()
                scope.cancel()
    assert transport.pid is not None and not _alive(transport.pid)


def _read_fifo(path: Path) -> str:
    with open(path) as f:  # blocks until the server opens it to write its pid
        return f.read()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
async def test_sigterm_or_sighup_to_trio_mcp_call_ends_the_spawned_server(
        tmp_path: Path, sig: signal.Signals) -> None:
    pid_file = tmp_path / "pid"
    os.mkfifo(pid_file)
    cli = await trio.lowlevel.open_process(
        [sys.executable, "-m", "trio_adapter", "call", "slow", "seconds=60", "--",
         sys.executable, "-m", "trio_adapter", "serve", str(_server_file(tmp_path))],
        env={**os.environ, "PID_FILE": str(pid_file)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with trio.fail_after(15):
            child = int(await trio.to_thread.run_sync(_read_fifo, pid_file,
                                                      abandon_on_cancel=True))
            # The signal receiver was installed before the server was spawned.
            cli.send_signal(sig)
            status = await cli.wait()
        assert status == 128 + sig
        assert not _alive(child)
    finally:
        cli.kill()
        await cli.wait()
