"""What relaying a handshake-era session's request through Redis costs, with nothing else
in the way: two workers (``serve_http(shared=...)``) in this process, one loopback
``redis-server`` started and stopped here, one session minted by worker A, and raw
``tools/call`` POSTs over one keep-alive connection sent to A (owned) or to B (relayed to A).
Rounds alternate between the two; it prints the medians of the per-round medians.

    .venv/bin/python benchmarks/relay.py [--rounds 5] [--calls 100]

The end-to-end figure through nginx and worker processes is ``benchmarks/scale.py``'s relay
line; this one isolates the relay (docs/performance.md, "Scale-out: workers behind nginx").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "adapter")]

from relay_support import Raw, initialize, workers  # noqa: E402

from tests.redis_support import RedisProcess, redis_available  # noqa: E402
from trio_adapter import Server  # noqa: E402

HEADERS = {"mcp-protocol-version": "2025-11-25"}
WARMUP = 10


def build_server(name: str) -> Server:
    server = Server(f"worker-{name}", "1.0")

    @server.tool()
    async def whoami() -> str:
        return name

    return server


async def round_us(port: int, session_id: str, calls: int) -> float:
    """The median µs of ``calls`` sequential calls to ``port`` (after a warm-up)."""
    times: list[float] = []
    async with Raw.open(port) as raw:
        for i in range(WARMUP + calls):
            start = time.perf_counter()
            await raw.send("POST", {"mcp-session-id": session_id, **HEADERS},
                           {"jsonrpc": "2.0", "id": i + 10, "method": "tools/call",
                            "params": {"name": "whoami", "arguments": {}}})
            await raw.body()
            if i >= WARMUP:
                times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


async def measure(url: str, rounds: int, calls: int) -> tuple[float, float]:
    with trio.fail_after(60 + rounds * calls):  # a bound on the whole run, never reached
        return await _measure(url, rounds, calls)


async def _measure(url: str, rounds: int, calls: int) -> tuple[float, float]:
    async with workers(url, "bench:", {"A": build_server("A"),
                                       "B": build_server("B")}) as found:
        session_id = await initialize(found["A"].port)
        owned, relayed = [], []
        for i in range(rounds):
            order = ("A", "B") if i % 2 == 0 else ("B", "A")
            for name in order:
                value = await round_us(found[name].port, session_id, calls)
                (owned if name == "A" else relayed).append(value)
        return statistics.median(owned), statistics.median(relayed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds each way (default 5)")
    parser.add_argument("--calls", type=int, default=100,
                        help="timed calls per round (default 100)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.calls < 1:
        parser.error("--rounds and --calls must be at least 1")
    if not redis_available():
        print("relay: needs redis-server and coredis (apt-get install redis-server; "
              "pip install -e '.[dev]')", file=sys.stderr)
        return 2
    redis = RedisProcess()
    redis.start()
    try:
        owned, relayed = trio.run(measure, redis.url, args.rounds, args.calls)
    finally:
        redis.close()
    print(f"owned call p50 {owned:,.0f} µs, relayed call p50 {relayed:,.0f} µs: relay "
          f"+{relayed - owned:,.0f} µs per call ({args.rounds} rounds x {args.calls} calls "
          "each way, medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
