"""Peak and resident memory of a server under the floods and non-reading clients of issue 14.

Each scenario starts a fresh server process (``python -m trio_adapter serve`` on a small
server file), drives it from this process with plain sockets and pipes (nothing of the
project's client, so the script measures any checkout), and reads the server's
``VmHWM`` (peak RSS) and ``VmRSS`` (resident now) from ``/proc``. Every scenario is bounded
in count and in time.

Usage, from the project root (or with ``--checkout DIR`` naming another tree, e.g. an
export of main: ``git archive main | tar -x -C /tmp/main``)::

    python scripts/measure_limits.py [--checkout DIR] [--only NAME] [--seconds S]

Scenarios:

* ``stdio-flood``: a client writes ``tools/call`` requests (each answered with 5 KiB) on
  the server's stdin for ``--seconds`` and never reads stdout.
* ``store-300``: 300 calls answered with 1 MiB each, read whole, over one HTTP session; then
  the memory the server still holds.
* ``http-nonreaders``: 200 connections each POST a call answered with 1 MiB and never read,
  two rounds.
* ``abandoned-sessions``: 10,000 ``initialize`` POSTs over keep-alive connections, every
  session left open.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

SERVER = '''
from trio_adapter import Server

server = Server("measure", "1")


@server.tool()
async def answer(size: int) -> str:
    return "x" * size
'''

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "measure", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call(rid: int, size: int) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
            "params": {"name": "answer", "arguments": {"size": size}}}


def memory(pid: int) -> tuple[float, float]:
    """(peak RSS, RSS now) of ``pid``, in MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    hwm = int(re.search(r"VmHWM:\s+(\d+)", text).group(1))  # type: ignore[union-attr]
    rss = int(re.search(r"VmRSS:\s+(\d+)", text).group(1))  # type: ignore[union-attr]
    return hwm / 1024, rss / 1024


@contextlib.contextmanager
def server_process(checkout: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "measure_server.py"
        path.write_text(SERVER)
        env = dict(os.environ, PYTHONPATH=str(checkout))
        proc = subprocess.Popen([sys.executable, "-m", "trio_adapter", "serve", str(path),
                                 *extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, cwd=tmp)
        try:
            yield proc
        finally:
            proc.kill()
            proc.wait(10)


def http_server(checkout: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    with server_process(checkout, "--http", "127.0.0.1:0") as proc:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        line = b""
        while time.monotonic() < deadline and b"http://" not in line:
            line = proc.stderr.readline()
        port = int(re.search(rb":(\d+)/mcp", line).group(1))  # type: ignore[union-attr]
        yield proc, port


def post(body: dict[str, object], session: str | None = None) -> bytes:
    data = json.dumps(body).encode()
    head = (b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"accept: application/json, text/event-stream\r\n"
            b"mcp-protocol-version: 2025-06-18\r\n")
    if session is not None:
        head += b"mcp-session-id: " + session.encode() + b"\r\n"
    return head + b"content-length: " + str(len(data)).encode() + b"\r\n\r\n" + data


def read_response(sock: socket.socket, timeout: float = 30.0) -> tuple[bytes, bytes]:
    """One whole response (head, body); SSE bodies end with the chunked terminator."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return data, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        while not body.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            body += chunk
    else:
        match = re.search(rb"content-length: (\d+)", lowered)
        length = int(match.group(1)) if match else 0
        while len(body) < length:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            body += chunk
    return head, body


def open_session(port: int) -> str:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(post(INIT))
    head, _ = read_response(sock)
    sid = re.search(rb"mcp-session-id: (\S+)", head.lower()).group(1).decode()  # type: ignore[union-attr]
    sock.sendall(post(INITIALIZED, sid))
    read_response(sock)
    sock.close()
    return sid


# ---------------------------------------------------------------- scenarios


def stdio_flood(checkout: Path, seconds: float) -> dict[str, float]:
    with server_process(checkout) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps(INIT) + "\n").encode())
        proc.stdin.flush()
        proc.stdout.readline()
        proc.stdin.write((json.dumps(INITIALIZED) + "\n").encode())
        proc.stdin.flush()
        fd = proc.stdin.fileno()
        os.set_blocking(fd, False)
        pending = b""
        sent = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not pending:
                pending = b"".join((json.dumps(call(sent + i + 1, 5000)) + "\n").encode()
                                   for i in range(100))
            _, writable, _ = select.select([], [fd], [], 0.05)
            if writable:
                try:
                    n = os.write(fd, pending)
                except BlockingIOError:
                    continue
                if n == len(pending):
                    sent += 100
                pending = pending[n:]
        hwm, rss = memory(proc.pid)
        return {"requests written": sent, "peak MiB": hwm, "rss MiB": rss}


def store_300(checkout: Path, seconds: float) -> dict[str, float]:
    for proc, port in http_server(checkout):
        sid = open_session(port)
        sock = socket.create_connection(("127.0.0.1", port))
        for rid in range(1, 301):
            sock.sendall(post(call(rid, 1 << 20), sid))
            head, _ = read_response(sock)
            assert head.startswith(b"HTTP/1.1 200"), head[:80]
        time.sleep(1)
        hwm, rss = memory(proc.pid)
        sock.close()
        return {"peak MiB": hwm, "rss MiB after": rss}
    raise AssertionError("unreachable")


def http_nonreaders(checkout: Path, seconds: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for proc, port in http_server(checkout):
        sid = open_session(port)
        for round_ in (1, 2):
            socks = []
            for rid in range(200):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.connect(("127.0.0.1", port))
                sock.sendall(post(call(round_ * 1000 + rid, 1 << 20), sid))
                socks.append(sock)
            time.sleep(seconds / 2)
            hwm, rss = memory(proc.pid)
            out[f"round {round_} peak MiB"] = hwm
            out[f"round {round_} rss MiB"] = rss
            for sock in socks:
                sock.close()
        return out
    raise AssertionError("unreachable")


def abandoned_sessions(checkout: Path, seconds: float) -> dict[str, float]:
    for proc, port in http_server(checkout):
        opened = refused = 0
        deadline = time.monotonic() + max(seconds, 60)
        sock = socket.create_connection(("127.0.0.1", port))
        for _ in range(10_000):
            if time.monotonic() > deadline:
                break
            sock.sendall(post(INIT))
            head, _ = read_response(sock)
            if head.startswith(b"HTTP/1.1 200"):
                opened += 1
            else:
                refused += 1
            if b"connection: close" in head.lower() or not head:
                sock.close()
                sock = socket.create_connection(("127.0.0.1", port))
        hwm, rss = memory(proc.pid)
        sock.close()
        return {"sessions opened": opened, "refused": refused, "peak MiB": hwm,
                "rss MiB": rss}
    raise AssertionError("unreachable")


SCENARIOS: dict[str, Callable[[Path, float], dict[str, float]]] = {
    "stdio-flood": stdio_flood,
    "store-300": store_300,
    "http-nonreaders": http_nonreaders,
    "abandoned-sessions": abandoned_sessions,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--only", choices=sorted(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="how long the flood and the non-readers last (default 10)")
    args = parser.parse_args()
    for name, scenario in SCENARIOS.items():
        if args.only and name != args.only:
            continue
        started = time.monotonic()
        figures = scenario(args.checkout.resolve(), args.seconds)
        shown = ", ".join(f"{k} {v:,.0f}" for k, v in figures.items())
        print(f"{name}: {shown} ({time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
