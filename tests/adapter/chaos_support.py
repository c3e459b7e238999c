"""Server processes that tests kill and start again (the reconnect and chaos tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import trio

SCRIPT = str(Path(__file__).resolve().parent / "scripts" / "chaos_server.py")
PY = sys.executable


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def stdio_command() -> list[str]:
    return [PY, SCRIPT]


class HTTPServerProcess:
    """``serve_http`` in a child process on one loopback port, killed and started again on
    the same port (the first start picks a free one)."""

    def __init__(self) -> None:
        self.port = 0
        self.process: trio.Process | None = None
        self.pids: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def start(self) -> None:
        assert self.process is None
        proc = await trio.lowlevel.open_process(
            [PY, SCRIPT, "http", str(self.port)], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=True)
        self.process = proc
        self.pids.append(proc.pid)
        assert proc.stdout is not None
        line = b""
        with trio.fail_after(15):
            while not line.endswith(b"\n"):
                chunk = await proc.stdout.receive_some(64)
                if not chunk:
                    raise RuntimeError("the HTTP server process exited before listening")
                line += chunk
        self.port = int(line)

    async def kill(self) -> None:
        proc = self.process
        if proc is None:
            return
        self.process = None
        with trio.CancelScope(shield=True):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
            if proc.stdout is not None:
                await proc.stdout.aclose()

    async def aclose(self) -> None:
        await self.kill()
