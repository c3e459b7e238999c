"""Where a sequential Streamable HTTP call's time goes, on both sides: our client and our server.

Starts ``benchmarks/servers/ours_echo.py``'s server in a child process (pinned to CPU 1 when
there are two or more, this process to CPU 0), makes ``--calls`` sequential ``echo`` calls
after a warm-up, and prints one JSON object: calls/s, each side's CPU per call (the server's
from ``/proc/PID/stat``, ours from ``time.process_time``), and each side's trio task steps and
batches (I/O waits) per call, counted by a :class:`trio.abc.Instrument`. With ``--profile DIR``
both sides run under cProfile (``DIR/server.prof``, ``DIR/client.prof``: read them with
``pstats``; the CPU figures are then the profiler's, not the code's).

Usage::

    python benchmarks/http_profile.py                      # 1,000 modern calls
    python benchmarks/http_profile.py --era legacy --calls 500
    python benchmarks/http_profile.py --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "servers"))

import trio  # noqa: E402

WARMUP = 50


class Rounds(trio.abc.Instrument):
    """Counts trio's task steps and its batches (each batch starts with an I/O wait)."""

    def __init__(self) -> None:
        self.steps = 0
        self.batches = 0

    def before_io_wait(self, timeout: float) -> None:
        self.batches += 1

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1


def serve(port: int, out: Path, profile: Path | None) -> None:
    """The child: serve the echo server until SIGTERM, then write the counts to ``out``."""
    from ours_echo import build_server

    from trio_adapter import serve_http

    rounds = Rounds()

    async def main() -> None:
        with trio.CancelScope() as scope:
            token = trio.lowlevel.current_trio_token()
            signal.signal(signal.SIGTERM, lambda *_: token.run_sync_soon(scope.cancel))
            await serve_http(build_server(), "127.0.0.1", port)

    prof = cProfile.Profile() if profile is not None else None
    if prof is not None:
        prof.enable()
    trio.run(main, instruments=[rounds])
    if prof is not None and profile is not None:
        prof.disable()
        prof.dump_stats(profile / "server.prof")
    out.write_text(json.dumps({"steps": rounds.steps, "batches": rounds.batches}))


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(pid: int, cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(pid, {cpus[cpu]})


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from trio_adapter import Client
    from trio_adapter.http import StreamableHTTPTransport

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    counts = Path(f"/tmp/trio-mcp-http-profile-{os.getpid()}.json")
    argv = [sys.executable, __file__, "--serve", str(port), "--counts", str(counts)]
    if args.profile is not None:
        argv += ["--profile", str(args.profile)]
    proc = subprocess.Popen(argv, cwd=ROOT)
    try:
        _pin(proc.pid, 1)
        _pin(0, 0)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not start listening") from None
                time.sleep(0.05)  # readiness polling
        rounds = Rounds()
        prof = cProfile.Profile() if args.profile is not None else None
        result: dict[str, Any] = {}

        async def client() -> None:
            url = f"http://127.0.0.1:{port}/mcp"
            with trio.fail_after(args.timeout):
                async with Client("profile", "1.0").connect(StreamableHTTPTransport(url),
                                                            mode=args.era) as session:
                    for _ in range(WARMUP):
                        await session.call_tool("echo", {"text": "hello"})
                    server0, cpu0, wall0 = _cpu(proc.pid), time.process_time(), \
                        time.perf_counter()
                    steps0, batches0 = rounds.steps, rounds.batches
                    if prof is not None:
                        prof.enable()
                    for _ in range(args.calls):
                        await session.call_tool("echo", {"text": "hello"})
                    if prof is not None:
                        prof.disable()
                    n = args.calls
                    result.update(
                        era=args.era, calls=n,
                        calls_per_s=round(n / (time.perf_counter() - wall0)),
                        client_cpu_us_per_call=round((time.process_time() - cpu0) / n * 1e6),
                        server_cpu_us_per_call=round((_cpu(proc.pid) - server0) / n * 1e6),
                        client_steps_per_call=round((rounds.steps - steps0) / n, 2),
                        client_batches_per_call=round((rounds.batches - batches0) / n, 2))

        trio.run(client, instruments=[rounds])
        if prof is not None:
            prof.dump_stats(args.profile / "client.prof")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    server = json.loads(counts.read_text())
    counts.unlink()
    total = args.calls + WARMUP + 2  # the server counted the warm-up and the session too
    result.update(server_steps_per_call=round(server["steps"] / total, 2),
                  server_batches_per_call=round(server["batches"] / total, 2))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--era", choices=("modern", "legacy"), default="modern")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--counts", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.serve is not None:
        assert args.counts is not None
        serve(args.serve, args.counts, args.profile)
        return 0
    print(json.dumps(measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
