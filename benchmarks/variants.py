"""Compare the adapter's home-made sync primitives with trio's own, on run.py's workloads.

Measurement only: each variant swaps one primitive by patching the module that uses it, in a
fresh child process, and runs trio-mcp's side of run.py's ``in-memory``, ``concurrent``,
``churn`` and ``memory`` workloads once. The driver interleaves the variants (the order
rotates every round, so drift hits all alike) and prints the median per variant and workload,
and each variant's ratio to ``base``.

Variants:

* ``base``: the code as it is;
* ``lock``: the session's write lock is :class:`trio.StrictFIFOLock`;
* ``flag``: the session's one-way flags (handshake, close, each request's slot) are
  :class:`trio.Event`;
* ``pipe``: the memory transport is a pair of trio memory channels (same bound).

Usage::

    python benchmarks/variants.py                  # 7 rounds
    python benchmarks/variants.py --rounds 5 --variants base,lock
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

VARIANTS = ("base", "lock", "flag", "pipe")
WORKLOADS = ("in-memory", "concurrent", "churn", "memory")
BUFFER = 64  # the bound both pipe variants get


def _channel_pair(buffer: float = BUFFER) -> tuple[Any, Any]:
    """A memory transport pair made of trio memory channels (the ``pipe`` variant)."""
    import trio

    from trio_adapter import Transport

    class ChannelTransport(Transport):
        def __init__(self, send: Any, receive: Any) -> None:
            self._send = send
            self._receive = receive

        def send_nowait(self, data: bytes) -> int:
            try:
                self._send.send_nowait(data)
            except trio.WouldBlock:
                return 0
            return len(data)

        async def send(self, data: bytes) -> None:
            await self._send.send(data)

        async def receive(self) -> bytes:
            try:
                data: bytes = await self._receive.receive()
            except trio.EndOfChannel:
                return b""
            return data

        async def start(self, nursery: Any = None) -> None:
            """Nothing to start."""

        async def aclose(self) -> None:
            await self._send.aclose()
            await self._receive.aclose()

    a_send, b_receive = trio.open_memory_channel[bytes](buffer)
    b_send, a_receive = trio.open_memory_channel[bytes](buffer)
    return ChannelTransport(a_send, a_receive), ChannelTransport(b_send, b_receive)


def _apply(variant: str) -> None:
    import run
    import trio

    from trio_adapter import _session

    if variant == "lock":
        for name in ("_WriteLock", "WriteLock"):
            if hasattr(_session, name):
                setattr(_session, name, trio.StrictFIFOLock)
    elif variant == "flag":
        for name in ("_Flag", "Flag"):
            if hasattr(_session, name):
                setattr(_session, name, trio.Event)
    elif variant == "pipe":
        run.memory_transport_pair = _channel_pair  # type: ignore[attr-defined]
    if variant != "pipe":
        from trio_adapter import memory_transport_pair

        def bounded(buffer: float = BUFFER) -> Any:
            return memory_transport_pair(buffer)

        run.memory_transport_pair = bounded  # type: ignore[attr-defined]


def child(variant: str, calls: int, sessions: int) -> None:
    import run
    import trio

    _apply(variant)
    cfg = run.Config(runs=1, warmup=200, calls=calls, concurrent_calls=calls * 2,
                     stdio_spawns=1, stdio_calls=1, http_calls=1, http_multi_calls=1,
                     churn=max(100, calls // 10), sessions=sessions, memory_runs=1,
                     memory_http_runs=1, engine_runs=1, engine_iterations=1, budget=120.0)
    out: dict[str, float] = {}
    before, after = trio.run(run.ours_hold_memory, sessions)  # first: a fresh heap
    out["memory"] = (after - before) / sessions
    for name, fn in (("in-memory", run.ours_in_memory), ("concurrent", run.ours_concurrent),
                     ("churn", run.ours_churn)):
        r = trio.run(fn, cfg)
        out[name] = r.calls / r.wall
    print(json.dumps(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.calls, args.sessions)
        return 0
    variants = args.variants.split(",")
    results: dict[str, dict[str, list[float]]] = {v: {w: [] for w in WORKLOADS} for v in variants}
    for i in range(args.rounds):
        order = variants[i % len(variants):] + variants[:i % len(variants)]
        for v in order:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", v, "--calls", str(args.calls),
                 "--sessions", str(args.sessions)],
                capture_output=True, text=True, timeout=600, check=False)
            if proc.returncode != 0:
                print(f"{v}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                return 1
            for w, x in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                results[v][w].append(x)
        print(f"round {i + 1}/{args.rounds} done", file=sys.stderr)
    med = {v: {w: statistics.median(xs) for w, xs in ws.items()} for v, ws in results.items()}
    print(f"{'variant':8} " + " ".join(f"{w:>22}" for w in WORKLOADS))
    for v in variants:
        cells = []
        for w in WORKLOADS:
            x = med[v][w]
            base = med.get("base", {}).get(w, math.nan)
            # Throughput: higher is better; memory (KiB/session): lower is better.
            rel = (base / x if w == "memory" else x / base) if base == base else math.nan
            unit = "KiB" if w == "memory" else "/s"
            cells.append(f"{x:9.1f}{unit:>4} ({rel:5.2f}x)")
        print(f"{v:8} " + " ".join(f"{c:>22}" for c in cells))
    with contextlib.suppress(OSError):
        print(json.dumps({"rounds": args.rounds, "raw": results}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
