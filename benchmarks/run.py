"""trio-mcp next to the official MCP Python SDK: every workload, one run, one report.

Both implementations serve the same tool, ``echo(text: str) -> str`` (``async def`` on both
sides, returning its input), called with ``{"text": "hello"}``. Workloads (see
``benchmarks/README.md``):

* ``in-memory``   one in-memory session, sequential calls: calls/s, p50, p99;
* ``concurrent``  one in-memory session, 32 caller tasks: calls/s over the whole batch;
* ``stdio``       the server as a child process over stdio, sequential calls;
* ``cold-start``  spawn to initialized session over stdio, in seconds;
* ``http``        Streamable HTTP on loopback: one session sequential, then 8 sessions at once;
* ``churn``       in memory: connect + initialize + close of a fresh session, per second;
* ``memory``      RSS per idle initialized session, in memory and (server side) over HTTP;
* ``engine``      the sans-IO engine alone next to the JSON codec floors (no SDK counterpart).

Both eras, side by side: the handshake era (ours ``Client.connect(t, mode="legacy")``, or the
plain ``connect`` where it takes no ``mode``; the SDK ``mcp.Client(..., mode="legacy")``) and the
2026-07-28 era (ours ``Client.connect(t, mode="modern")``; the SDK's default ``mode="auto"``,
modern against a modern server). The session workloads (in-memory, concurrent, stdio,
cold-start, http, churn) run in both eras, the eras back to back; ``memory`` runs in the
handshake era; ``engine`` also reports what the per-request ``_meta`` costs. Where our client has
no ``mode`` (``inspect.signature``), its 2026-07-28 rows are reported as skipped, with why.

Each figure is the median of several runs; trio-mcp's and the SDK's runs alternate (the order
flips every run) so that drift hits both alike.

Usage::

    python benchmarks/run.py                    # both eras, the quick preset: about 2 minutes
    python benchmarks/run.py --full             # 7 runs per figure: several minutes
    python benchmarks/run.py --era modern       # one era (handshake, modern, both)
    python benchmarks/run.py --only http,churn  # a subset
    python benchmarks/run.py --runs 1 --calls 100 --only in-memory   # a few seconds
    python benchmarks/run.py --json-out bench.json --plot bench.png

Output (stdout): one JSON object per measurement (with its ``era``), then the handshake era's
table, then the 2026-07-28 era's (with ``ratios (2026-07-28, ...)``), then a last line
``ratios: in-memory=N.N concurrent=N.N stdio=N.N http=N.N churn=N.N memory=N.N`` (the handshake
era: trio-mcp over the SDK in calls/s; for memory the SDK's KiB per session over ours: higher is
better throughout). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import inspect
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType, ModuleType
from typing import IO, Any, TypeVar

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run from a checkout
    sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

import sansio  # noqa: E402
from trio_adapter import (  # noqa: E402
    Client,
    CommandTransport,
    Server,
    StreamableHTTPTransport,
    memory_transport_pair,
)

T = TypeVar("T")
Record = dict[str, Any]
CallFn = Callable[[], Awaitable[Any]]

OURS = "trio-mcp"
SDK = "mcp"
OURS_SCRIPT = HERE / "servers" / "ours_echo.py"
SDK_SCRIPT = HERE / "servers" / "sdk_echo.py"
ARGS: dict[str, Any] = {"text": "hello"}
WORKLOADS = ("in-memory", "concurrent", "stdio", "cold-start", "http", "churn", "memory",
             "engine")
RATIO_KEYS = ("in-memory", "concurrent", "stdio", "http", "churn", "memory")
# The two eras: the initialize handshake (2024-11-05 ... 2025-11-25) and the stateless
# 2026-07-28 era ("modern": server/discover, per-request _meta). Ours picks it with
# Client.connect(transport, mode=...); the SDK with mcp.Client(..., mode=...), its default
# "auto" being modern against a modern server.
ERAS = ("handshake", "modern")
ERA_WORKLOADS = ("in-memory", "concurrent", "stdio", "cold-start", "http", "churn")
MODERN_RATIO_KEYS = ("in-memory", "concurrent", "stdio", "http", "churn")
SDK_MODE = {"handshake": "legacy", "modern": "auto"}
OURS_MODE = {"handshake": "legacy", "modern": "modern"}
CONCURRENT_TASKS = 32
HTTP_SESSIONS = 8
# For every child process (the SDK warns about deprecations in its own code).
CHILD_ENV = {"PYTHONWARNINGS": "ignore::DeprecationWarning"}


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    runs: int  # runs per figure (in-memory, concurrent, http, churn)
    warmup: int  # untimed calls before each timed run
    calls: int  # sequential calls per run, in memory
    concurrent_calls: int  # calls per run across the 32 tasks
    stdio_spawns: int  # stdio: one spawn per run (its cold start, then its calls)
    stdio_calls: int
    http_calls: int  # one session, sequential
    http_multi_calls: int  # per session, 8 sessions at once
    churn: int  # sessions opened and closed per run
    sessions: int  # memory: idle sessions held open
    memory_runs: int  # in memory (a fresh child process each)
    memory_http_runs: int  # over HTTP (a fresh server each; ~40 s per SDK run at 1,000)
    engine_runs: int
    engine_iterations: int
    budget: float  # seconds a workload may take before it is abandoned
    era: str = "handshake"  # which era the session workloads run in (ERAS)


# QUICK is the default (CI-friendly: both eras in a couple of minutes on 2 cores); --full is the
# documented run of docs/performance.md.
FULL = Config(runs=7, warmup=200, calls=2000, concurrent_calls=4000, stdio_spawns=7,
              stdio_calls=1000, http_calls=500, http_multi_calls=150, churn=300,
              sessions=1000, memory_runs=3, memory_http_runs=1, engine_runs=7,
              engine_iterations=20000, budget=240.0)
QUICK = Config(runs=3, warmup=50, calls=500, concurrent_calls=1024, stdio_spawns=3,
               stdio_calls=300, http_calls=200, http_multi_calls=40, churn=200, sessions=200,
               memory_runs=1, memory_http_runs=1, engine_runs=5, engine_iterations=2000,
               budget=45.0)


class WorkloadTimeout(Exception):
    """A workload used up its time budget."""


class Deadline:
    """The time budget of one workload: every run, wait and child process draws on it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise WorkloadTimeout(f"over the {self.seconds:g} s budget")
        return left


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def silence_sdk_warnings() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    try:
        from mcp.shared.exceptions import MCPDeprecationWarning
    except ImportError:  # pragma: no cover - the SDK is missing; its runs will say so
        return
    warnings.simplefilter("ignore", MCPDeprecationWarning)


def _load(name: str, path: Path) -> ModuleType:
    """Import a benchmark script by path (the benchmarks directory is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def ours_server() -> Server:
    server: Server = _load("_bench_ours_echo", OURS_SCRIPT).build_server()
    return server


def sdk_server() -> Any:
    return _load("_bench_sdk_echo", SDK_SCRIPT).build_server()


def check(result: Any) -> None:
    """Make sure a warm-up call did what the timed ones are meant to (same shape both sides)."""
    if result.is_error or result.content[0].text != ARGS["text"]:
        raise RuntimeError(f"unexpected echo result: {result!r}")


def ours_modern_unavailable() -> str | None:
    """Why our client cannot be asked for the 2026-07-28 era here (None: it can)."""
    try:
        parameters = inspect.signature(Client.connect).parameters
    except (TypeError, ValueError):  # pragma: no cover - not introspectable
        return "trio_adapter.Client.connect cannot be inspected"
    if "mode" not in parameters:
        return ("trio_adapter.Client.connect() takes no mode= on this checkout "
                "(the 2026-07-28 client is not here yet)")
    return None


def ours_connect(transport: Any, era: str) -> Any:
    """``Client("bench", "1.0").connect(transport, mode=...)`` in ``era``: ``mode="legacy"`` or
    ``"modern"`` when connect takes ``mode``; the plain handshake when it does not."""
    client = Client("bench", "1.0")
    if ours_modern_unavailable() is None:
        return client.connect(transport, mode=OURS_MODE[era])  # type: ignore[call-arg]
    if era != "handshake":
        raise RuntimeError(ours_modern_unavailable())
    return client.connect(transport)


def sdk_client(target: Any, era: str) -> Any:
    """``mcp.Client(target, mode=...)``: ``"legacy"`` (initialize) or the SDK's default
    ``"auto"`` (server/discover; modern against a modern server)."""
    import mcp

    return mcp.Client(target, mode=SDK_MODE[era])


# ---------------------------------------------------------------- runs and summaries


@dataclass
class Run:
    calls: int
    wall: float  # seconds for the whole timed batch
    latencies: list[float]  # seconds, one per call
    server_cpu_us: float | None = None  # the server process's CPU per call (HTTP), see w_http


def percentile(sorted_values: Sequence[float], q: float) -> float:
    index = max(0, min(len(sorted_values) - 1, int(len(sorted_values) * q + 0.5) - 1))
    return sorted_values[index]


def summarize(workload: str, impl: str, runs: list[Run], **extra: Any) -> Record:
    rates = [r.calls / r.wall for r in runs]
    p50 = statistics.median(percentile(sorted(r.latencies), 0.50) for r in runs)
    p99 = statistics.median(percentile(sorted(r.latencies), 0.99) for r in runs)
    return {"workload": workload, "impl": impl, "calls_per_s": round(statistics.median(rates)),
            "p50_us": round(p50 * 1e6, 1), "p99_us": round(p99 * 1e6, 1), "runs": len(runs),
            "calls": runs[0].calls, "calls_per_s_min": round(min(rates)),
            "calls_per_s_max": round(max(rates)), **extra,
            **({"server_cpu_us_per_call": round(statistics.median(cpu), 1)}
               if (cpu := [r.server_cpu_us for r in runs if r.server_cpu_us is not None])
               else {})}


def pair_runs(cfg: Config, n: int, ours: Callable[[], T], theirs: Callable[[], T],
              ) -> tuple[list[T] | None, list[T]]:
    """``interleave``, or only the SDK's runs (ours None) when our client cannot run the era."""
    if cfg.era == "modern" and ours_modern_unavailable() is not None:
        return None, [theirs() for _ in range(n)]
    return interleave(n, ours, theirs)


def skipped(workload: str, impl: str = OURS, **extra: Any) -> Record:
    """The record of a measurement that could not be made, and why."""
    return {"workload": workload, "impl": impl, "skipped": ours_modern_unavailable(), **extra}


def summarize_pair(workload: str, ours: list[Run] | None, sdk: list[Run], **extra: Any,
                   ) -> list[Record]:
    first = skipped(workload, **extra) if ours is None else summarize(workload, OURS, ours, **extra)
    return [first, summarize(workload, SDK, sdk, **extra)]


def interleave(n: int, ours: Callable[[], T], theirs: Callable[[], T]) -> tuple[list[T], list[T]]:
    """``n`` runs of each, alternating, the order flipped every run."""
    mine: list[T] = []
    sdk: list[T] = []
    for i in range(n):
        if i % 2 == 0:
            mine.append(ours())
            sdk.append(theirs())
        else:
            sdk.append(theirs())
            mine.append(ours())
    return mine, sdk


def run_trio(deadline: Deadline, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``trio.run(fn, *args)``, cancelled when the workload's budget runs out."""
    async def main() -> T:
        with trio.fail_after(deadline.remaining()):
            return await fn(*args)

    try:
        return trio.run(main)
    except trio.TooSlowError:
        raise WorkloadTimeout(f"trio-mcp: {fn.__name__} ran over the workload's "
                              f"{deadline.seconds:g} s budget") from None


def run_asyncio(deadline: Deadline, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    """``asyncio.run(fn(*args))``, cancelled when the workload's budget runs out."""
    async def main() -> T:
        return await asyncio.wait_for(fn(*args), deadline.remaining())

    try:
        return asyncio.run(main())
    except asyncio.TimeoutError:
        raise WorkloadTimeout(f"SDK: {fn.__name__} ran over the workload's "
                              f"{deadline.seconds:g} s budget") from None


async def sequential(call: CallFn, warmup: int, calls: int) -> Run:
    """Warm up, then time ``calls`` sequential calls (no framework code: trio and asyncio)."""
    check(await call())
    for _ in range(warmup):
        await call()
    clock = time.perf_counter
    latencies: list[float] = []
    start = clock()
    for _ in range(calls):
        t0 = clock()
        await call()
        latencies.append(clock() - t0)
    return Run(calls, clock() - start, latencies)


async def _worker(call: CallFn, calls: int, latencies: list[float]) -> None:
    clock = time.perf_counter
    for _ in range(calls):
        t0 = clock()
        await call()
        latencies.append(clock() - t0)


async def trio_parallel(calls: Sequence[CallFn], warmup: int, per_worker: int) -> Run:
    """One trio task per entry of ``calls``, each making ``per_worker`` sequential calls."""
    check(await calls[0]())
    async with trio.open_nursery() as nursery:
        for call in calls:
            nursery.start_soon(_worker, call, warmup, [])
    latencies: list[float] = []
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for call in calls:
            nursery.start_soon(_worker, call, per_worker, latencies)
    return Run(len(calls) * per_worker, time.perf_counter() - start, latencies)


async def asyncio_parallel(calls: Sequence[CallFn], warmup: int, per_worker: int) -> Run:
    """One asyncio task per entry of ``calls``, each making ``per_worker`` sequential calls."""
    check(await calls[0]())
    await asyncio.gather(*(_worker(call, warmup, []) for call in calls))
    latencies: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(_worker(call, per_worker, latencies) for call in calls))
    return Run(len(calls) * per_worker, time.perf_counter() - start, latencies)


def _echo_call(session: Any) -> CallFn:
    def call() -> Awaitable[Any]:
        awaitable: Awaitable[Any] = session.call_tool("echo", ARGS)
        return awaitable

    return call


# ---------------------------------------------------------------- child processes

_children: set[subprocess.Popen[bytes]] = set()
_children_lock = threading.Lock()


def stop_process(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Terminate, then kill; always reap."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=grace)
    with _children_lock:
        _children.discard(proc)


def kill_all_children() -> None:
    with _children_lock:
        procs = list(_children)
    for proc in procs:
        with contextlib.suppress(Exception):
            stop_process(proc, grace=2.0)


@contextlib.contextmanager
def child_process(argv: Sequence[str], *, stdout: int | IO[bytes] = subprocess.DEVNULL,
                  ) -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes]]]:
    """A child process (stderr kept in a temporary file for diagnostics), stopped on exit."""
    with tempfile.TemporaryFile() as stderr:
        env = dict(os.environ, **CHILD_ENV)
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, cwd=ROOT, env=env)
        with _children_lock:
            _children.add(proc)
        try:
            yield proc, stderr
        finally:
            stop_process(proc)


def stderr_tail(stderr: IO[bytes], limit: int = 2000) -> str:
    stderr.flush()
    stderr.seek(0)
    return stderr.read().decode(errors="replace")[-limit:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(proc: subprocess.Popen[bytes], stderr: IO[bytes], port: int,
              deadline: Deadline) -> None:
    """Poll until something accepts on 127.0.0.1:port (the child must stay alive meanwhile)."""
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening:\n"
                               f"{stderr_tail(stderr)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            pass
        try:
            deadline.remaining()
        except WorkloadTimeout:
            raise WorkloadTimeout(f"nothing listens on port {port}:\n"
                                  f"{stderr_tail(stderr)}") from None
        time.sleep(0.05)  # readiness polling


@contextlib.contextmanager
def http_server(impl: str, deadline: Deadline) -> Iterator[tuple[str, int]]:
    """Start one implementation's echo server on loopback; yield (URL, pid) once it listens."""
    port = free_port()
    if impl == OURS:
        argv = [sys.executable, str(OURS_SCRIPT), "--http", f"127.0.0.1:{port}"]
    else:
        argv = [sys.executable, str(SDK_SCRIPT), "--http", str(port)]
    with child_process(argv) as (proc, stderr):
        pin_server(proc.pid)
        wait_port(proc, stderr, port, deadline)
        yield f"http://127.0.0.1:{port}/mcp", proc.pid


def vm_rss_kib(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/PID/status")


# Where the client side (this process) and the server processes run. With two or more CPUs
# the runner pins itself to one and the stdio and HTTP servers to another: left to itself the
# scheduler sometimes puts a client and its server on the same CPU and sometimes not, which
# moves the cross-process figures by up to 2x from one invocation to the next.
_pinning: dict[str, int] = {}  # empty: no pinning
# The CPUs this process may use, as started (before any pinning).
_START_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def setup_pinning(enabled: bool) -> dict[str, int] | None:
    if not enabled or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = _START_CPUS
    if len(cpus) < 2:
        return None
    _pinning.update(client_cpu=cpus[0], server_cpu=cpus[1])
    os.sched_setaffinity(0, {cpus[0]})  # threads started from now on inherit it
    return dict(_pinning)


def pin_server(pid: int) -> None:
    """Move a server process (every thread it has) to the servers' CPU."""
    if not _pinning:
        return
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(tid), {_pinning["server_cpu"]})


def pin_children() -> None:
    """Pin every child of this process (a server a library spawned) to the servers' CPU."""
    if not _pinning:
        return
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            pin_server(int(entry))


class Watchdog:
    """The last resort: if a workload overruns its budget by far (something ignored its
    timeout), stop the children and exit rather than hang."""

    def __init__(self, seconds: float, name: str) -> None:
        self._timer = threading.Timer(seconds, self._fire, args=(name, seconds))
        self._timer.daemon = True

    def _fire(self, name: str, seconds: float) -> None:
        print(f"[bench] workload {name!r} hung for {seconds:.0f} s; giving up",
              file=sys.stderr, flush=True)
        kill_all_children()
        os._exit(3)

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


# ---------------------------------------------------------------- in memory


@contextlib.asynccontextmanager
async def ours_memory_session(server: Server, era: str = "handshake") -> AsyncIterator[Any]:
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with ours_connect(client_end, era) as session:
            yield session


async def ours_in_memory(cfg: Config) -> Run:
    async with ours_memory_session(ours_server(), cfg.era) as session:
        return await sequential(_echo_call(session), cfg.warmup, cfg.calls)


async def sdk_in_memory(cfg: Config) -> Run:
    async with sdk_client(sdk_server(), cfg.era) as client:
        return await sequential(_echo_call(client), cfg.warmup, cfg.calls)


async def ours_concurrent(cfg: Config) -> Run:
    async with ours_memory_session(ours_server(), cfg.era) as session:
        return await trio_parallel([_echo_call(session)] * CONCURRENT_TASKS,
                                   max(1, cfg.warmup // 10),
                                   cfg.concurrent_calls // CONCURRENT_TASKS)


async def sdk_concurrent(cfg: Config) -> Run:
    async with sdk_client(sdk_server(), cfg.era) as client:
        return await asyncio_parallel([_echo_call(client)] * CONCURRENT_TASKS,
                                      max(1, cfg.warmup // 10),
                                      cfg.concurrent_calls // CONCURRENT_TASKS)


async def ours_churn(cfg: Config) -> Run:
    server = ours_server()  # one Server, a new session each time
    async with ours_memory_session(server, cfg.era) as session:
        check(await session.call_tool("echo", ARGS))

    async def open_close() -> None:
        async with ours_memory_session(server, cfg.era):  # exits once the server's side is done too
            pass

    return await _churn(cfg, open_close)


async def sdk_churn(cfg: Config) -> Run:
    server = sdk_server()  # one MCPServer, a new Client each time
    async with sdk_client(server, cfg.era) as client:
        check(await client.call_tool("echo", ARGS))

    async def open_close() -> None:
        async with sdk_client(server, cfg.era):
            pass

    return await _churn(cfg, open_close)


async def _churn(cfg: Config, open_close: Callable[[], Awaitable[None]]) -> Run:
    for _ in range(max(1, cfg.churn // 10)):
        await open_close()
    clock = time.perf_counter
    latencies: list[float] = []
    start = clock()
    for _ in range(cfg.churn):
        t0 = clock()
        await open_close()
        latencies.append(clock() - t0)
    return Run(cfg.churn, clock() - start, latencies)


def w_in_memory(cfg: Config, deadline: Deadline) -> list[Record]:
    ours, sdk = pair_runs(cfg, cfg.runs, lambda: run_trio(deadline, ours_in_memory, cfg),
                          lambda: run_asyncio(deadline, sdk_in_memory, cfg))
    return summarize_pair("in-memory", ours, sdk)


def w_concurrent(cfg: Config, deadline: Deadline) -> list[Record]:
    ours, sdk = pair_runs(cfg, cfg.runs, lambda: run_trio(deadline, ours_concurrent, cfg),
                          lambda: run_asyncio(deadline, sdk_concurrent, cfg))
    return summarize_pair("concurrent", ours, sdk, tasks=CONCURRENT_TASKS)


def w_churn(cfg: Config, deadline: Deadline) -> list[Record]:
    ours, sdk = pair_runs(cfg, cfg.runs, lambda: run_trio(deadline, ours_churn, cfg),
                          lambda: run_asyncio(deadline, sdk_churn, cfg))
    out = summarize_pair("churn", ours, sdk)
    for record in out:
        if "calls_per_s" in record:
            record["sessions_per_s"] = record["calls_per_s"]
    return out


# ---------------------------------------------------------------- stdio and cold start


async def ours_stdio(cfg: Config) -> tuple[float, Run]:
    transport = CommandTransport([sys.executable, str(OURS_SCRIPT)], cwd=ROOT,
                                 stderr="capture")
    start = time.perf_counter()
    try:
        async with ours_connect(transport, cfg.era) as session:
            cold = time.perf_counter() - start
            pin_children()
            run = await sequential(_echo_call(session), cfg.warmup, cfg.stdio_calls)
    except Exception as exc:
        raise RuntimeError(f"trio-mcp stdio server failed: {exc!r}\n"
                           f"{transport.stderr_output().decode(errors='replace')}") from exc
    return cold, run


async def sdk_stdio(cfg: Config) -> tuple[float, Run]:
    import mcp

    params = mcp.StdioServerParameters(command=sys.executable, args=[str(SDK_SCRIPT)],
                                       env=CHILD_ENV, cwd=str(ROOT))
    start = time.perf_counter()
    async with sdk_client(params, cfg.era) as client:
        cold = time.perf_counter() - start
        pin_children()
        run = await sequential(_echo_call(client), cfg.warmup, cfg.stdio_calls)
    return cold, run


def _cold_record(impl: str, colds: list[float]) -> Record:
    return {"workload": "cold-start", "impl": impl, "seconds": round(statistics.median(colds), 4),
            "seconds_min": round(min(colds), 4), "seconds_max": round(max(colds), 4),
            "runs": len(colds)}


def w_stdio(cfg: Config, deadline: Deadline, *, calls: bool = True,
            cold_start: bool = True) -> list[Record]:
    if not calls:  # cold start only: no timed calls after each spawn
        cfg = replace(cfg, stdio_calls=1, warmup=0)
    ours, sdk = pair_runs(cfg, cfg.stdio_spawns, lambda: run_trio(deadline, ours_stdio, cfg),
                          lambda: run_asyncio(deadline, sdk_stdio, cfg))
    out: list[Record] = []
    if calls:
        out += summarize_pair("stdio", None if ours is None else [r for _, r in ours],
                              [r for _, r in sdk])
    if cold_start:
        out += [skipped("cold-start") if ours is None else _cold_record(OURS, [c for c, _ in ours]),
                _cold_record(SDK, [c for c, _ in sdk])]
    return out


# ---------------------------------------------------------------- Streamable HTTP


async def ours_http(url: str, cfg: Config) -> Run:
    async with ours_connect(StreamableHTTPTransport(url), cfg.era) as session:
        return await sequential(_echo_call(session), cfg.warmup, cfg.http_calls)


async def sdk_http(url: str, cfg: Config) -> Run:
    async with sdk_client(url, cfg.era) as client:
        return await sequential(_echo_call(client), cfg.warmup, cfg.http_calls)


async def ours_http_multi(url: str, cfg: Config) -> Run:
    async with contextlib.AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(
            ours_connect(StreamableHTTPTransport(url), cfg.era))
            for _ in range(HTTP_SESSIONS)]
        return await trio_parallel([_echo_call(s) for s in sessions],
                                   max(1, cfg.warmup // 10), cfg.http_multi_calls)


async def sdk_http_multi(url: str, cfg: Config) -> Run:
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(sdk_client(url, cfg.era))
                   for _ in range(HTTP_SESSIONS)]
        return await asyncio_parallel([_echo_call(c) for c in clients],
                                      max(1, cfg.warmup // 10), cfg.http_multi_calls)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_server_cpu(pid: int, calls: int, run: Callable[[], Run]) -> Callable[[], Run]:
    """``run``, its record carrying the server process's CPU per call: the CPU it used during
    the whole run (the session's setup and the warm-up included) over ``calls``, the calls
    the run made in all. Less sensitive to a loaded machine than calls/s."""
    def timed() -> Run:
        before = cpu_seconds(pid)
        result = run()
        result.server_cpu_us = (cpu_seconds(pid) - before) / calls * 1e6
        return result
    return timed


def w_http(cfg: Config, deadline: Deadline) -> list[Record]:
    with http_server(OURS, deadline) as (ours_url, ours_pid), \
            http_server(SDK, deadline) as (sdk_url, sdk_pid):
        single = cfg.warmup + cfg.http_calls + 1
        multi = (max(1, cfg.warmup // 10) + cfg.http_multi_calls) * HTTP_SESSIONS + 1
        ours, sdk = pair_runs(
            cfg, cfg.runs,
            with_server_cpu(ours_pid, single,
                            lambda: run_trio(deadline, ours_http, ours_url, cfg)),
            with_server_cpu(sdk_pid, single,
                            lambda: run_asyncio(deadline, sdk_http, sdk_url, cfg)))
        ours_m, sdk_m = pair_runs(
            cfg, cfg.runs,
            with_server_cpu(ours_pid, multi,
                            lambda: run_trio(deadline, ours_http_multi, ours_url, cfg)),
            with_server_cpu(sdk_pid, multi,
                            lambda: run_asyncio(deadline, sdk_http_multi, sdk_url, cfg)))
    return (summarize_pair("http", ours, sdk, sessions=1)
            + summarize_pair("http-8", ours_m, sdk_m, sessions=HTTP_SESSIONS))


# ---------------------------------------------------------------- memory per session


def _snapshot(pid: int | str = "self") -> int:
    gc.collect()
    return vm_rss_kib(pid)


async def ours_hold_memory(n: int) -> tuple[int, int]:
    """In this process: open n idle in-memory sessions (both ends); RSS before and after."""
    server = ours_server()
    async with trio.open_nursery() as nursery, contextlib.AsyncExitStack() as stack:

        async def open_one() -> Any:
            client_end, server_end = memory_transport_pair()
            nursery.start_soon(server.serve, server_end)
            return await stack.enter_async_context(ours_connect(client_end, "handshake"))

        check(await (await open_one()).call_tool("echo", ARGS))  # warm: not counted
        before = _snapshot()
        for _ in range(n):
            await open_one()
        after = _snapshot()
    return before, after


async def sdk_hold_memory(n: int) -> tuple[int, int]:
    import mcp

    server = sdk_server()
    async with contextlib.AsyncExitStack() as stack:
        warm = await stack.enter_async_context(mcp.Client(server, mode="legacy"))
        check(await warm.call_tool("echo", ARGS))
        before = _snapshot()
        for _ in range(n):
            await stack.enter_async_context(mcp.Client(server, mode="legacy"))
        after = _snapshot()
    return before, after


async def ours_hold_http(url: str, pid: int, n: int) -> tuple[int, int]:
    """Open n idle sessions to the server at ``url``; the server's RSS before and after."""
    async with contextlib.AsyncExitStack() as stack:
        warm = await stack.enter_async_context(
            ours_connect(StreamableHTTPTransport(url), "handshake"))
        check(await warm.call_tool("echo", ARGS))
        before = _snapshot(pid)
        for _ in range(n):
            await stack.enter_async_context(
                ours_connect(StreamableHTTPTransport(url), "handshake"))
        after = _snapshot(pid)
    return before, after


async def sdk_hold_http(url: str, pid: int, n: int) -> tuple[int, int]:
    import mcp

    async with contextlib.AsyncExitStack() as stack:
        warm = await stack.enter_async_context(mcp.Client(url, mode="legacy"))
        check(await warm.call_tool("echo", ARGS))
        before = _snapshot(pid)
        for _ in range(n):
            await stack.enter_async_context(mcp.Client(url, mode="legacy"))
        after = _snapshot(pid)
    return before, after


def memory_child_main(impl: str, sessions: int, budget: float) -> int:
    """``--memory-child``: measure in this fresh process; print one JSON object."""
    deadline = Deadline(budget)
    if impl == OURS:
        before, after = run_trio(deadline, ours_hold_memory, sessions)
    else:
        before, after = run_asyncio(deadline, sdk_hold_memory, sessions)
    print(json.dumps({"rss_before_kib": before, "rss_after_kib": after}), flush=True)
    return 0


def _memory_in_child(impl: str, sessions: int, deadline: Deadline) -> tuple[int, int]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--memory-child", impl,
            "--sessions", str(sessions), "--timeout", str(deadline.remaining())]
    with tempfile.TemporaryFile() as out, child_process(argv, stdout=out) as (proc, stderr):
        try:
            proc.wait(timeout=deadline.remaining() + 5)
        except subprocess.TimeoutExpired:
            raise WorkloadTimeout(f"{impl} memory child timed out") from None
        if proc.returncode != 0:
            raise RuntimeError(f"{impl} memory child exited with {proc.returncode}:\n"
                               f"{stderr_tail(stderr)}")
        out.seek(0)
        data = json.loads(out.read().decode().strip().splitlines()[-1])
    return int(data["rss_before_kib"]), int(data["rss_after_kib"])


def _memory_over_http(impl: str, sessions: int, deadline: Deadline) -> tuple[int, int]:
    with http_server(impl, deadline) as (url, pid):
        if impl == OURS:
            return run_trio(deadline, ours_hold_http, url, pid, sessions)
        return run_asyncio(deadline, sdk_hold_http, url, pid, sessions)


def _memory_record(workload: str, impl: str, sessions: int,
                   samples: list[tuple[int, int]], where: str) -> Record:
    per = [(after - before) / sessions for before, after in samples]
    return {"workload": workload, "impl": impl, "kib_per_session": round(statistics.median(per), 2),
            "kib_per_session_min": round(min(per), 2), "kib_per_session_max": round(max(per), 2),
            "sessions": sessions, "runs": len(samples), "measured": where,
            "rss_before_kib": samples[-1][0], "rss_after_kib": samples[-1][1]}


def w_memory(cfg: Config, deadline: Deadline) -> list[Record]:
    n = cfg.sessions
    ours, sdk = interleave(cfg.memory_runs, lambda: _memory_in_child(OURS, n, deadline),
                           lambda: _memory_in_child(SDK, n, deadline))
    ours_h, sdk_h = interleave(cfg.memory_http_runs, lambda: _memory_over_http(OURS, n, deadline),
                               lambda: _memory_over_http(SDK, n, deadline))
    where_mem = "one process: client and server ends"
    where_http = "the server process"
    return [_memory_record("memory", OURS, n, ours, where_mem),
            _memory_record("memory", SDK, n, sdk, where_mem),
            _memory_record("memory-http", OURS, n, ours_h, where_http),
            _memory_record("memory-http", SDK, n, sdk_h, where_http)]


# ---------------------------------------------------------------- the engine alone


def w_engine(cfg: Config, deadline: Deadline) -> list[Record]:
    engine = _load("_bench_engine", HERE / "engine.py")
    runs, iterations = cfg.engine_runs, cfg.engine_iterations
    out: list[Record] = []
    # The 2026-07-28 round trip ("stateless" in engine.py) stamps and checks _meta on every
    # request: the difference to the handshake round trip is what the per-request _meta costs.
    for era, engine_era in (("handshake", "handshake"), ("modern", "stateless")):
        for validate in (True, False):
            deadline.remaining()
            m = engine.measure(engine.bench_engine(validate, engine_era), runs=runs,
                               iterations=iterations)
            out.append({"workload": "engine", "impl": OURS, "era": era, "validate": validate,
                        "codec": sansio.JSON_BACKEND, "us_per_call": m["median_us"],
                        "calls_per_s": round(1e6 / m["median_us"]), "runs": runs,
                        "calls": iterations})
    for validate in (True, False):
        deadline.remaining()
        cost = engine.measure_meta_cost(validate, runs=runs, iterations=iterations)
        out.append({"workload": "engine-meta", "impl": OURS, "era": "modern",
                    "validate": validate, "codec": sansio.JSON_BACKEND,
                    "us_per_call": cost["median_us"], "us_per_call_min": cost["min_us"],
                    "us_per_call_max": cost["max_us"], "runs": runs, "calls": iterations})
    deadline.remaining()
    for floor in engine.floor_measurements(runs, iterations):
        out.append({"workload": "engine", "impl": f"{floor['codec']}-floor", "era": "handshake",
                    "validate": None, "codec": floor["codec"], "us_per_call": floor["median_us"],
                    "calls_per_s": round(1e6 / floor["median_us"]), "runs": runs,
                    "calls": iterations})
    return out


# ---------------------------------------------------------------- report


def machine_info() -> Record:
    from importlib.metadata import PackageNotFoundError, version

    cpu = None
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for package in ("trio-mcp", "trio", "mcp", "orjson", "h11", "anyio", "uvicorn"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip() or None
    nproc = len(_START_CPUS) if _START_CPUS else os.cpu_count()
    return {"python": platform.python_version(),
            "python_implementation": platform.python_implementation(),
            "platform": platform.platform(), "machine": platform.machine(), "cpu": cpu,
            "nproc": nproc, "json_backend": sansio.JSON_BACKEND, "versions": versions,
            "git_commit": commit}


def era_of(record: Record) -> str:
    """A record's era (documents from before the eras were measured: the handshake)."""
    return str(record.get("era", "handshake"))


def _find(records: list[Record], workload: str, impl: str, era: str = "handshake",
          ) -> Record | None:
    """The measurement of ``workload`` by ``impl`` in ``era`` (None if absent or skipped)."""
    for record in records:
        if (record.get("workload") == workload and record.get("impl") == impl
                and era_of(record) == era and not record.get("skipped")):
            return record
    return None


def _skip_reason(records: list[Record], workload: str, era: str) -> str | None:
    for record in records:
        if (record.get("workload") == workload and record.get("impl") == OURS
                and era_of(record) == era and record.get("skipped")):
            return str(record["skipped"])
    return None


def _ratio(records: list[Record], workload: str, key: str, inverse: bool = False,
           era: str = "handshake") -> float | None:
    ours, sdk = _find(records, workload, OURS, era), _find(records, workload, SDK, era)
    if ours is None or sdk is None:
        return None
    num, den = (sdk[key], ours[key]) if inverse else (ours[key], sdk[key])
    if not den or den <= 0 or num <= 0:
        return None
    return float(num / den)


def modern_ratios(records: list[Record]) -> dict[str, float | None]:
    """Ours in the 2026-07-28 era over the SDK's default (modern) mode, in calls/s."""
    return {key: _ratio(records, key, "calls_per_s", era="modern") for key in MODERN_RATIO_KEYS}


def meta_cost(records: list[Record]) -> dict[bool, float] | None:
    """What the per-request _meta costs per call in the engine (µs, by validate): the
    2026-07-28 round trip minus the handshake one, timed in alternation (engine.py)."""
    cost = {bool(r["validate"]): float(r["us_per_call"]) for r in records
            if r.get("workload") == "engine-meta" and r.get("impl") == OURS}
    return cost or None


def ratios(records: list[Record]) -> dict[str, float | None]:
    return {"in-memory": _ratio(records, "in-memory", "calls_per_s"),
            "concurrent": _ratio(records, "concurrent", "calls_per_s"),
            "stdio": _ratio(records, "stdio", "calls_per_s"),
            "http": _ratio(records, "http", "calls_per_s"),
            "churn": _ratio(records, "churn", "calls_per_s"),
            "memory": _ratio(records, "memory", "kib_per_session", inverse=True)}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def table(records: list[Record]) -> str:
    rows: list[tuple[str, ...]] = [
        ("workload", "unit", "trio-mcp", "SDK", "ratio", "reads", "trio-mcp p50/p99 µs",
         "SDK p50/p99 µs")]
    for workload in ("in-memory", "concurrent", "stdio", "http", "http-8", "churn"):
        ours, sdk = _find(records, workload, OURS), _find(records, workload, SDK)
        if ours is None or sdk is None:
            continue
        unit = "sessions/s" if workload == "churn" else "calls/s"
        rows.append((workload, unit, f"{ours['calls_per_s']:,}", f"{sdk['calls_per_s']:,}",
                     _fmt(_ratio(records, workload, "calls_per_s")), "ours/SDK, higher better",
                     f"{ours['p50_us']:,.0f} / {ours['p99_us']:,.0f}",
                     f"{sdk['p50_us']:,.0f} / {sdk['p99_us']:,.0f}"))
    ours, sdk = _find(records, "cold-start", OURS), _find(records, "cold-start", SDK)
    if ours is not None and sdk is not None:
        rows.append(("cold-start", "seconds", f"{ours['seconds']:.3f}", f"{sdk['seconds']:.3f}",
                     _fmt(ours["seconds"] / sdk["seconds"]), "ours/SDK, lower better", "", ""))
    for workload in ("memory", "memory-http"):
        ours, sdk = _find(records, workload, OURS), _find(records, workload, SDK)
        if ours is None or sdk is None:
            continue
        rows.append((workload, "KiB/session", f"{ours['kib_per_session']:.1f}",
                     f"{sdk['kib_per_session']:.1f}",
                     _fmt(_ratio(records, workload, "kib_per_session", inverse=True)),
                     "SDK/ours, higher better", "", ""))
    engine = {r["validate"]: r["us_per_call"] for r in records
              if r.get("workload") == "engine" and r.get("impl") == OURS
              and era_of(r) == "handshake"}
    floors = {r["codec"]: r["us_per_call"] for r in records
              if r.get("workload") == "engine" and r.get("impl") != OURS}
    engine_line = None
    if True in engine:
        floor_us = floors.get("orjson") or floors.get("json")
        floor_name = "orjson" if "orjson" in floors else "json"
        rows.append(("engine", "µs/round trip", f"{engine[True]:.2f}", "-",
                     "n/a" if floor_us is None else f"{engine[True] / floor_us:.1f}",
                     f"engine/{floor_name} floor", "", ""))
        engine_line = (f"engine alone: {engine[True]:.2f} µs per tools/call round trip "
                       f"(validation off: {engine.get(False, float('nan')):.2f}); codec floors: "
                       + ", ".join(f"{codec} {us:.2f} µs" for codec, us in floors.items()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if engine_line:
        lines += ["", engine_line]
    return "\n".join(lines)


def era_table(records: list[Record]) -> str:
    """The 2026-07-28 era: ours (Client.connect(..., mode="modern")) next to the SDK's default
    mode, with what each side's move from the handshake era changed."""
    rows: list[tuple[str, ...]] = [
        ("workload", "unit", "trio-mcp modern", "SDK auto (modern)", "ratio", "reads",
         "trio-mcp modern/handshake", "SDK modern/legacy")]
    notes: list[str] = []

    def change(workload: str, impl: str, key: str) -> str:
        new, old = _find(records, workload, impl, "modern"), _find(records, workload, impl)
        return "n/a" if new is None or old is None or not old[key] else f"{new[key] / old[key]:.2f}"

    for workload in ("in-memory", "concurrent", "stdio", "http", "http-8", "churn", "cold-start"):
        sdk = _find(records, workload, SDK, "modern")
        if sdk is None:
            continue
        ours = _find(records, workload, OURS, "modern")
        why = _skip_reason(records, workload, "modern")
        if why and why not in notes:
            notes.append(why)
        key = "seconds" if workload == "cold-start" else "calls_per_s"
        if workload == "cold-start":
            unit, reads = "seconds", "ours/SDK, lower better"
            mine = "skipped" if ours is None else f"{ours['seconds']:.3f}"
            theirs = f"{sdk['seconds']:.3f}"
            ratio = "n/a" if ours is None else _fmt(ours["seconds"] / sdk["seconds"])
        else:
            unit = "sessions/s" if workload == "churn" else "calls/s"
            reads = "ours/SDK, higher better"
            mine = "skipped" if ours is None else f"{ours['calls_per_s']:,}"
            theirs = f"{sdk['calls_per_s']:,}"
            ratio = _fmt(_ratio(records, workload, "calls_per_s", era="modern"))
        rows.append((workload, unit, mine, theirs, ratio, reads, change(workload, OURS, key),
                     change(workload, SDK, key)))
    lines: list[str] = []
    if len(rows) > 1:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                 for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines += [f"trio-mcp modern: skipped: {why}" for why in notes]
        if _find(records, "in-memory", SDK, "modern") is not None:
            lines.append("(the SDK's auto mode in memory dispatches to the in-process server "
                         "directly, without JSON-RPC framing; ours frames every message)")
    cost = meta_cost(records)
    if cost is not None:
        lines.append(
            "per-request _meta (2026-07-28), engine alone: "
            + ", ".join(f"{cost[v]:+.2f} µs per round trip with validation {'on' if v else 'off'}"
                        for v in (True, False) if v in cost)
            + " (stamping + validation: the stateless round trip minus the handshake one, "
            "timed in alternation)")
    return "\n".join(lines)


def ratios_line(values: dict[str, float | None]) -> str:
    return "ratios: " + " ".join(f"{key}={_fmt(values[key])}" for key in RATIO_KEYS)


def modern_ratios_line(values: dict[str, float | None]) -> str:
    return "ratios (2026-07-28, ours modern / SDK auto): " + " ".join(
        f"{key}={_fmt(values.get(key))}" for key in MODERN_RATIO_KEYS)


# ---------------------------------------------------------------- main


def run_workload(name: str, cfg: Config, deadline: Deadline) -> list[Record]:
    if name == "in-memory":
        return w_in_memory(cfg, deadline)
    if name == "concurrent":
        return w_concurrent(cfg, deadline)
    if name == "stdio":
        return w_stdio(cfg, deadline, cold_start=False)
    if name == "cold-start":
        return w_stdio(cfg, deadline, calls=False)
    if name == "stdio+cold-start":
        return w_stdio(cfg, deadline)
    if name == "http":
        return w_http(cfg, deadline)
    if name == "churn":
        return w_churn(cfg, deadline)
    if name == "memory":
        return w_memory(cfg, deadline)
    if name == "engine":
        return w_engine(cfg, deadline)
    raise ValueError(name)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    kill_all_children()
    os._exit(128 + signum)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="the default preset: 3 runs per figure, fewer calls, 200 sessions "
                           "for memory (CI-friendly: a couple of minutes for both eras)")
    size.add_argument("--full", action="store_true",
                      help="7 runs per figure, more calls, 1,000 sessions for memory "
                           "(docs/performance.md's run: several minutes)")
    parser.add_argument("--era", choices=("handshake", "modern", "both"), default="both",
                        help="the handshake era (initialize), the 2026-07-28 era (ours "
                             "mode='modern' next to the SDK's default auto mode), or both "
                             "(default)")
    parser.add_argument("--calls", type=int,
                        help="sequential calls per run in memory, over stdio and over HTTP "
                             "(overrides the preset)")
    parser.add_argument("--only", metavar="WORKLOAD[,..]",
                        help=f"run only these workloads, out of: {', '.join(WORKLOADS)}")
    parser.add_argument("--json-out", metavar="FILE", type=Path,
                        help="write every measurement and the machine's details as one JSON "
                             "document")
    parser.add_argument("--plot", metavar="OUT.png", type=Path,
                        help="draw a bar chart of calls/s (needs matplotlib)")
    parser.add_argument("--runs", type=int, help="runs per figure (overrides the preset)")
    parser.add_argument("--sessions", type=int,
                        help="idle sessions for the memory workload (default 1000, 200 quick)")
    parser.add_argument("--timeout", type=float,
                        help="seconds one workload may take (default 240, 45 quick)")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin this process and the server processes to separate CPUs")
    parser.add_argument("--memory-child", choices=(OURS, SDK), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        chosen = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = [w for w in chosen if w not in WORKLOADS]
        if unknown or not chosen:
            parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
        args.only = chosen
    else:
        args.only = list(WORKLOADS)
    for name in ("runs", "sessions", "calls"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    silence_sdk_warnings()
    cfg = FULL if args.full else QUICK
    if args.runs is not None:
        cfg = replace(cfg, runs=args.runs, stdio_spawns=args.runs, memory_runs=args.runs,
                      memory_http_runs=args.runs, engine_runs=args.runs)
    if args.sessions is not None:
        cfg = replace(cfg, sessions=args.sessions)
    if args.calls is not None:
        cfg = replace(cfg, calls=args.calls, stdio_calls=args.calls, http_calls=args.calls)
    if args.timeout is not None:
        cfg = replace(cfg, budget=args.timeout)
    if args.memory_child:
        return memory_child_main(args.memory_child, cfg.sessions, cfg.budget)

    signal.signal(signal.SIGTERM, _on_sigterm)
    pinning = setup_pinning(not args.no_pin)
    # stdio and cold start share their spawns when both are asked for.
    plan = list(args.only)
    if "stdio" in plan and "cold-start" in plan:
        plan[plan.index("stdio")] = "stdio+cold-start"
        plan.remove("cold-start")

    eras = list(ERAS) if args.era == "both" else [args.era]
    # Each session workload in each era asked for, the two eras back to back; memory is
    # measured in the handshake era only, the engine measures both eras in one go.
    steps: list[tuple[str, str]] = []
    for name in plan:
        if name == "engine":
            steps.append((name, eras[0]))
            continue
        for era in eras:
            if era == "handshake" or name.split("+")[0] in ERA_WORKLOADS:
                steps.append((name, era))
    if "modern" in eras and (why := ours_modern_unavailable()):
        log(f"2026-07-28 era: trio-mcp's rows are skipped: {why}")

    started = time.perf_counter()
    records: list[Record] = []
    failures: list[Record] = []
    timings: dict[str, float] = {}
    try:
        for name, era in steps:
            label = name if era == "handshake" or name == "engine" else f"{name}@{era}"
            log(f"{label} ...")
            t0 = time.perf_counter()
            deadline = Deadline(cfg.budget)
            try:
                with Watchdog(cfg.budget + 30, label):
                    produced = run_workload(name, replace(cfg, era=era), deadline)
            except Exception as exc:
                failure = {"workload": label, "error": f"{type(exc).__name__}: {exc}"}
                failures.append(failure)
                log(f"{label} FAILED: {failure['error']}")
                continue
            finally:
                timings[label] = round(time.perf_counter() - t0, 2)
            log(f"{label} done in {timings[label]:.1f} s")
            for record in produced:
                record.setdefault("era", era)
                print(json.dumps(record), flush=True)
            records += produced
    finally:
        kill_all_children()
    elapsed = time.perf_counter() - started
    values = ratios(records)
    modern = modern_ratios(records)
    config = {**cfg.__dict__, "quick": not args.full, "eras": eras, "pinning": pinning}
    del config["era"]
    doc: Record = {"machine": machine_info(), "config": config,
                   "measurements": records, "failures": failures, "ratios": values,
                   "ratios_modern": modern, "workload_seconds": timings,
                   "elapsed_s": round(elapsed, 2)}
    if args.json_out:
        args.json_out.write_text(json.dumps(doc, indent=2) + "\n")
        log(f"wrote {args.json_out}")
    if args.plot:
        plot = _load("_bench_plot", HERE / "plot.py")
        try:
            plot.plot(doc, args.plot)
            log(f"wrote {args.plot}")
        except plot.MatplotlibMissing as exc:
            log(f"no plot: {exc}")
    print()
    print(f"trio-mcp {doc['machine']['versions']['trio-mcp']} vs mcp "
          f"{doc['machine']['versions']['mcp']}; Python {platform.python_version()}, "
          f"{doc['machine']['nproc']} CPUs; {elapsed:.0f} s"
          f"{'' if args.full else '; quick preset'}")
    for failure in failures:
        lines = [line for line in failure["error"].splitlines() if line.strip()]
        gist = lines[0] if len(lines) < 2 else f"{lines[0]} ... {lines[-1].strip()}"
        print(f"FAILED {failure['workload']}: {gist}")
    print(table(records))
    if "modern" in eras:
        print()
        print("2026-07-28 era (trio-mcp mode='modern', the SDK's default mode='auto'):")
        print(era_table(records) or "(no 2026-07-28 measurements)")
        print(modern_ratios_line(modern))
    print(ratios_line(values))
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the children were stopped on the way out
        print("[bench] interrupted", file=sys.stderr)
        sys.exit(130)
