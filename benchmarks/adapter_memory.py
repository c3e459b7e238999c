"""Sequential echo ``tools/call`` over an in-memory transport: trio-mcp next to the official SDK.

Both sides run in this process, on the same workload: one session, one echo tool taking a
string and returning it as text, called sequentially. trio-mcp runs its ``Client`` and
``Server`` over :func:`trio_adapter.memory_transport_pair` under trio; the official SDK
(``mcp`` on PyPI) runs ``mcp.Client(MCPServer, mode="legacy")`` (its in-memory transport, the
initialize handshake) under asyncio, its default backend. Each run times ``--calls`` calls
after a warm-up; the figure reported is the median of ``--runs`` runs.

Usage::

    python benchmarks/adapter_memory.py            # 7 runs x 2000 calls each
    python benchmarks/adapter_memory.py --quick    # 3 runs x 500 calls

Output: one JSON object per measurement, then ``ratio: N.N`` (ours / the SDK's calls/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout
    sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

import sansio  # noqa: E402
from trio_adapter import Client, Server, memory_transport_pair  # noqa: E402

WARMUP = 200


async def _ours(calls: int) -> list[float]:
    server = Server("bench", "1.0")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    client_end, server_end = memory_transport_pair()
    latencies: list[float] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with Client("bench", "1.0").connect(client_end) as session:
            for _ in range(WARMUP):
                await session.call_tool("echo", {"text": "hello"})
            clock = time.perf_counter
            for _ in range(calls):
                t0 = clock()
                await session.call_tool("echo", {"text": "hello"})
                latencies.append(clock() - t0)
    return latencies


async def _sdk(calls: int) -> list[float]:
    import mcp
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bench")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    latencies: list[float] = []
    async with mcp.Client(server, mode="legacy") as client:
        for _ in range(WARMUP):
            await client.call_tool("echo", {"text": "hello"})
        clock = time.perf_counter
        for _ in range(calls):
            t0 = clock()
            await client.call_tool("echo", {"text": "hello"})
            latencies.append(clock() - t0)
    return latencies


def _summary(name: str, runs: list[list[float]]) -> dict[str, Any]:
    rates = [len(r) / sum(r) for r in runs]
    p50 = statistics.median(statistics.median(r) for r in runs)
    p99 = statistics.median(sorted(r)[int(len(r) * 0.99) - 1] for r in runs)
    return {"impl": name, "workload": "in-memory sequential echo tools/call",
            "calls_per_s": round(statistics.median(rates)), "p50_us": round(p50 * 1e6, 1),
            "p99_us": round(p99 * 1e6, 1), "runs": len(runs), "calls": len(runs[0]),
            "json": sansio.JSON_BACKEND}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-sdk", action="store_true", help="measure trio-mcp only")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.calls = 3, 500
    warnings.simplefilter("ignore")
    ours: list[list[float]] = []
    theirs: list[list[float]] = []
    for _ in range(args.runs):  # interleaved, so drift hits both alike
        ours.append(trio.run(_ours, args.calls))
        if not args.no_sdk:
            theirs.append(asyncio.run(_sdk(args.calls)))
    mine = _summary("trio-mcp", ours)
    print(json.dumps({**mine, "python": platform.python_version()}))
    if theirs:
        from importlib.metadata import version

        import mcp  # noqa: F401

        sdk = _summary(f"mcp {version('mcp')}", theirs)
        print(json.dumps(sdk))
        print(f"ratio: {mine['calls_per_s'] / sdk['calls_per_s']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
