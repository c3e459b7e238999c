"""Process transports and the stdio lifecycle (issue 3, cases 4 and 5).

4. ``CommandTransport``: the child runs in a new process group; closing it closes stdin, waits,
   SIGTERMs the group, waits, SIGKILLs; a child that ignores stdin EOF and SIGTERM is gone
   afterwards, and so are grandchildren; stderr is passed through or captured and never
   deadlocks on a full pipe.
5. The stdio server exits promptly and cleanly on stdin EOF, and a write to a closed stdout
   ends the session without a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import trio.testing

from trio_adapter import (
    Client,
    CommandTransport,
    ConnectError,
    PeerDisconnected,
    ProcessStartError,
    StdioTransport,
)

SCRIPTS = Path(__file__).resolve().parent / "scripts"
PY = sys.executable


def script(name: str, *args: str) -> list[str]:
    return [PY, str(SCRIPTS / name), *args]


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def wait_gone(pid: int) -> None:
    """Poll until ``pid`` is gone (a reparented grandchild is reaped by init, not by us)."""
    with trio.fail_after(5):
        while alive(pid):  # noqa: ASYNC110 - init reaps it; no event to wait on
            await trio.sleep(0.01)


async def read_line(transport: CommandTransport) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await transport.receive()
        if not chunk:
            break
        data += chunk
    return data


# ---------------------------------------------------------------- the transport itself


async def test_round_trip_and_clean_exit_on_stdin_eof() -> None:
    transport = CommandTransport(script("echo_child.py"))
    await transport.start()
    assert transport.pid is not None
    assert os.getpgid(transport.pid) == transport.pid  # leads its own process group
    await transport.send(b'{"a":1}\n')
    assert await read_line(transport) == b'{"a":1}\n'
    with trio.fail_after(1):  # well-behaved: exits on stdin EOF, no signal needed
        await transport.aclose()
    assert transport.returncode == 0
    await transport.aclose()  # idempotent
    with pytest.raises(trio.ClosedResourceError):
        await transport.send(b"x\n")


async def test_receive_returns_eof_when_the_child_exits() -> None:
    transport = CommandTransport([PY, "-c", "print('bye')"])
    await transport.start()
    assert await read_line(transport) == b"bye\n"
    assert await transport.receive() == b""
    await transport.aclose()
    assert transport.returncode == 0


async def test_send_to_an_exited_child_is_a_broken_resource() -> None:
    transport = CommandTransport([PY, "-c", "pass"])
    await transport.start()
    assert transport.process is not None
    await transport.process.wait()
    with pytest.raises(trio.BrokenResourceError):
        for _ in range(100):  # the pipe buffer may take the first writes
            await transport.send(b"x" * 65536)
    await transport.aclose()


async def test_stubborn_child_is_killed_within_the_timeouts(tmp_path: Path) -> None:
    transport = CommandTransport(script("stubborn_child.py"), close_timeout=0.2,
                                 terminate_timeout=0.2)
    await transport.start()
    assert await read_line(transport) == b"ready\n"
    pid = transport.pid
    assert pid is not None
    t0 = trio.current_time()
    await transport.aclose()
    elapsed = trio.current_time() - t0
    assert 0.4 <= elapsed < 2.0
    assert transport.returncode == -9  # SIGTERM ignored, SIGKILL did it
    assert not alive(pid)


async def test_grandchildren_of_a_shell_wrapper_are_gone(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    wrapper = ["sh", "-c", f'"{PY}" "{SCRIPTS / "stubborn_child.py"}" "{pidfile}" & wait']
    transport = CommandTransport(wrapper, close_timeout=0.2, terminate_timeout=0.2)
    await transport.start()
    assert await read_line(transport) == b"ready\n"
    grandchild = int(pidfile.read_text())
    assert grandchild != transport.pid
    assert alive(grandchild)
    await transport.aclose()
    await wait_gone(grandchild)


async def test_grandchild_left_behind_by_an_exiting_child_is_gone(tmp_path: Path) -> None:
    pidfile = tmp_path / "orphan.pid"
    # The wrapper starts the server in the background and exits at once on stdin EOF.
    wrapper = ["sh", "-c", f'"{PY}" "{SCRIPTS / "stubborn_child.py"}" "{pidfile}" & cat >/dev/null']
    transport = CommandTransport(wrapper, close_timeout=1.0, terminate_timeout=0.2)
    await transport.start()
    assert await read_line(transport) == b"ready\n"
    orphan = int(pidfile.read_text())
    await transport.aclose()
    assert transport.returncode == 0  # the wrapper itself exited cleanly
    await wait_gone(orphan)


async def test_close_while_cancelled_still_kills_the_child() -> None:
    transport = CommandTransport(script("stubborn_child.py"), close_timeout=0.1,
                                 terminate_timeout=0.1)
    await transport.start()
    assert await read_line(transport) == b"ready\n"
    pid = transport.pid
    assert pid is not None
    with trio.CancelScope() as scope:
        scope.cancel()
        await transport.aclose()
    assert not alive(pid)


@pytest.mark.parametrize("mode", ["capture", "devnull"])
async def test_a_child_flooding_stderr_does_not_deadlock(mode: str) -> None:
    transport = CommandTransport(script("noisy_child.py"), stderr=mode)  # type: ignore[arg-type]
    await transport.start()
    assert await read_line(transport) == b"noisy done\n"
    await transport.send(b"ping\n")
    assert await read_line(transport) == b"ping\n"
    await transport.aclose()
    assert transport.returncode == 0
    if mode == "capture":
        captured = transport.stderr_output()
        assert len(captured) == 64 * 1024  # the last max_stderr bytes
        assert captured.endswith(b"x\n")


async def test_stderr_to_a_file(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    with open(log, "wb") as f:  # noqa: ASYNC230 - a local temp file
        transport = CommandTransport(
            [PY, "-c", "import sys; sys.stderr.write('to the log\\n')"], stderr=f)
        await transport.start()
        assert await transport.receive() == b""
        await transport.aclose()
    assert log.read_text() == "to the log\n"


async def test_missing_executable_is_a_clear_error() -> None:
    transport = CommandTransport(["/nonexistent/mcp-server", "--stdio"])
    with pytest.raises(ProcessStartError, match="/nonexistent/mcp-server"):
        await transport.start()
    await transport.aclose()


async def test_missing_executable_through_connect() -> None:
    with pytest.raises(ProcessStartError):
        async with Client("c", "1").connect(CommandTransport(["/nonexistent/server"])):
            raise AssertionError("not reached")  # pragma: no cover


# ---------------------------------------------------------------- sessions over a child


async def test_client_session_over_a_child_server() -> None:
    transport = CommandTransport(script("stdio_server.py"), stderr="capture")
    async with Client("c", "1").connect(transport) as session:
        assert session.server_info.name == "stdio-test-server"
        result = await session.call_tool("echo", {"text": "over a pipe"})
        assert result.content[0].text == "over a pipe"  # type: ignore[union-attr]
    # Case 5: the server exited by itself on stdin EOF, cleanly, without a signal.
    assert transport.returncode == 0
    assert b"Traceback" not in transport.stderr_output()


async def test_killed_child_fails_pending_calls_at_once() -> None:
    transport = CommandTransport(script("stdio_server.py"), stderr="capture")
    failures: list[BaseException] = []
    async with Client("c", "1").connect(transport) as session:
        async with trio.open_nursery() as nursery:

            async def call() -> None:
                try:
                    await session.call_tool("wait_forever")
                except PeerDisconnected as exc:
                    failures.append(exc)

            nursery.start_soon(call)
            nursery.start_soon(call)
            await trio.testing.wait_all_tasks_blocked()
            assert transport.process is not None
            transport.process.kill()
            with trio.fail_after(1):
                await session.wait_closed()
        assert len(failures) == 2
        assert {f.method for f in failures} == {"tools/call"}
    assert transport.returncode == -9


async def test_server_that_dies_during_the_handshake() -> None:
    transport = CommandTransport([PY, "-c", "import sys; sys.stdin.readline()"],
                                 stderr="capture")
    with pytest.raises(ConnectError, match="closed the connection"):
        async with Client("c", "1").connect(transport):
            raise AssertionError("not reached")  # pragma: no cover


def test_stdio_server_exits_promptly_on_stdin_eof() -> None:
    proc = subprocess.run(script("stdio_server.py"), input=b"", capture_output=True,
                          timeout=20, check=False)
    assert proc.returncode == 0
    assert proc.stdout == b""
    assert proc.stderr == b""


def test_stdio_server_answers_then_exits_on_eof() -> None:
    init = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
            b'"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n')
    proc = subprocess.run(script("stdio_server.py"), input=init, capture_output=True,
                          timeout=20, check=False)
    assert proc.returncode == 0
    assert b'"serverInfo":{"name":"stdio-test-server"' in proc.stdout
    assert proc.stderr == b""


def test_stdio_server_with_closed_stdout_ends_without_a_traceback() -> None:
    init = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
            b'"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n')
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read the server's stdout
    try:
        proc = subprocess.Popen(script("stdio_server.py"), stdin=subprocess.PIPE,
                                stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert proc.stdin is not None
    proc.stdin.write(init)
    proc.stdin.flush()
    # The write of the initialize result fails with EPIPE: the session ends, the process
    # exits on its own without waiting for stdin EOF.
    try:
        returncode = proc.wait(timeout=20)
    finally:
        proc.stdin.close()
    stderr = proc.stderr.read() if proc.stderr else b""
    assert returncode == 0, stderr
    assert b"Traceback" not in stderr


async def test_stdio_transport_in_process() -> None:
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    transport = StdioTransport(stdin=r_in, stdout=w_out)
    os.write(w_in, b"hello\n")
    os.close(w_in)
    assert await transport.receive() == b"hello\n"
    assert await transport.receive() == b""
    await transport.send(b"out\n")
    assert os.read(r_out, 100) == b"out\n"
    await transport.aclose()
    await transport.aclose()
    assert os.get_blocking(r_in)
    for fd in (r_in, r_out, w_out):
        os.close(fd)
