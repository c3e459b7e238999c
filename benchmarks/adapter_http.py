"""Sequential echo ``tools/call`` over Streamable HTTP on loopback: trio-mcp next to the SDK.

Both servers run as child processes on 127.0.0.1 and are driven from this process, one session
each, sequential calls of an ``echo`` tool:

* trio-mcp: ``trio-mcp serve trio_adapter.demo --http`` and ``Client`` over
  ``StreamableHTTPTransport`` (under trio);
* the official SDK (``mcp``): ``tests/interop/sdk_server.py --http`` (``MCPServer`` on uvicorn)
  and ``mcp.Client(url, mode="legacy")`` (under asyncio).

Usage::

    python benchmarks/adapter_http.py            # 5 runs x 500 calls each
    python benchmarks/adapter_http.py --quick    # 3 runs x 200 calls

Output: one JSON object per implementation, then ``ratio: N.N`` (ours / the SDK's calls/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

from trio_adapter import Client  # noqa: E402
from trio_adapter.http import StreamableHTTPTransport  # noqa: E402

WARMUP = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


async def _ours(url: str, calls: int) -> list[float]:
    latencies: list[float] = []
    async with Client("bench", "1.0").connect(StreamableHTTPTransport(url)) as session:
        for _ in range(WARMUP):
            await session.call_tool("echo", {"text": "hello"})
        for _ in range(calls):
            t0 = time.perf_counter()
            await session.call_tool("echo", {"text": "hello"})
            latencies.append(time.perf_counter() - t0)
    return latencies


async def _sdk(url: str, calls: int) -> list[float]:
    import mcp

    latencies: list[float] = []
    async with mcp.Client(url, mode="legacy") as client:
        for _ in range(WARMUP):
            await client.call_tool("echo", {"text": "hello"})
        for _ in range(calls):
            t0 = time.perf_counter()
            await client.call_tool("echo", {"text": "hello"})
            latencies.append(time.perf_counter() - t0)
    return latencies


def _summary(name: str, runs: list[list[float]]) -> dict[str, Any]:
    rates = [len(r) / sum(r) for r in runs]
    return {"impl": name, "workload": "Streamable HTTP sequential echo tools/call",
            "calls_per_s": round(statistics.median(rates)),
            "p50_us": round(statistics.median(statistics.median(r) for r in runs) * 1e6),
            "p99_us": round(statistics.median(sorted(r)[int(len(r) * 0.99) - 1]
                                              for r in runs) * 1e6),
            "runs": len(runs), "calls": len(runs[0])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.calls = 3, 200
    warnings.simplefilter("ignore")
    ours_port, sdk_port = _free_port(), _free_port()
    procs = [
        subprocess.Popen([sys.executable, "-m", "trio_adapter", "serve", "trio_adapter.demo",
                          "--http", f"127.0.0.1:{ours_port}"], cwd=ROOT,
                         stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, str(ROOT / "tests" / "interop" / "sdk_server.py"),
                          "--http", str(sdk_port)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
    ]
    try:
        _wait_port(ours_port)
        _wait_port(sdk_port)
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(trio.run(_ours, f"http://127.0.0.1:{ours_port}/mcp", args.calls))
            theirs.append(asyncio.run(_sdk(f"http://127.0.0.1:{sdk_port}/mcp", args.calls)))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    from importlib.metadata import version

    mine = _summary("trio-mcp", ours)
    sdk = _summary(f"mcp {version('mcp')}", theirs)
    print(json.dumps({**mine, "python": platform.python_version()}))
    print(json.dumps(sdk))
    print(f"ratio: {mine['calls_per_s'] / sdk['calls_per_s']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
