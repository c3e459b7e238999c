"""Scale-out: calls/s through nginx with 1, 2 and 4 workers sharing one Redis, both eras,
trio-mcp next to the official SDK, and what relaying a handshake-era session costs.

For each worker count N (1, 2, 4 by default):

* trio-mcp: N workers ``trio-mcp serve benchmarks/servers/ours_echo_worker.py --http
  127.0.0.1:PORT --store redis://... --worker-id ...`` (one port each), one Redis for all;
* the SDK: N processes of ``benchmarks/servers/sdk_echo.py --http PORT`` (no shared state);
* one nginx per side, round-robin to that side's N ports, with ``docs/scale.md``'s
  configuration (``tests/scale_support.nginx_config_from_docs``, wrapped as
  ``tests/scale_support.open_nginx`` wraps it);
* the load: 8 client sessions at once, each making sequential ``echo`` calls (run.py's
  ``http-8``), after untimed warm-up calls; several runs, trio-mcp's and the SDK's interleaved
  (the order flipped every run); medians.

Eras: 2026-07-28 (ours ``Client.connect(t, mode="modern")``, the SDK's ``mcp.Client(url)``,
auto mode) and the handshake (ours ``mode="legacy"``, the SDK ``mode="legacy"``). Behind
round-robin a handshake-era SDK session breaks as soon as a request reaches a process other
than the one that answered ``initialize``: it is measured at N=1, and for N>1 one attempt is
made and its failure reported (``n/a``).

Relay: one handshake-era session minted by worker A (our ``Client``, directly on A's port);
then ``tools/call`` POSTs carrying its ``Mcp-Session-Id``, sequential over one keep-alive
connection (a small h11 client, the same for both), sent either to A (the owner) or to B (which
must relay them to A through Redis: B does not hold the session). The difference of the
medians is what relaying adds per call.

Usage::

    python benchmarks/scale.py                 # default preset: under 6 minutes on 2 cores
    python benchmarks/scale.py --quick         # CI-sized: under 2 minutes
    python benchmarks/scale.py --workers 1,2 --runs 3 --json-out scale.json

Needs ``redis-server`` and ``nginx`` (Debian packages), ``coredis`` (``trio-mcp[redis]``) and
the SDK (``mcp``). Everything is on loopback; every child (Redis, nginx, workers) is stopped on
the way out, also on Ctrl-C, SIGTERM and when the total deadline (``--timeout``) passes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for entry in (str(HERE), str(ROOT)):  # run.py's helpers; tests/scale_support.py
    if entry not in sys.path:
        sys.path.insert(0, entry)

import h11  # noqa: E402
import trio  # noqa: E402
from run import (  # noqa: E402
    ARGS,
    OURS,
    SDK,
    SDK_SCRIPT,
    Deadline,
    Record,
    Run,
    Watchdog,
    _echo_call,
    asyncio_parallel,
    check,
    child_process,
    free_port,
    interleave,
    kill_all_children,
    log,
    machine_info,
    ours_connect,
    run_asyncio,
    run_trio,
    sdk_client,
    sequential,
    silence_sdk_warnings,
    summarize,
    trio_parallel,
    wait_port,
)

from tests.scale_support import nginx_argv, nginx_config_from_docs  # noqa: E402
from trio_adapter import StreamableHTTPTransport  # noqa: E402

WORKER_SCRIPT = HERE / "servers" / "ours_echo_worker.py"
SESSIONS = 8
ERAS = ("modern", "handshake")
ERA_LABEL = {"modern": "2026-07-28", "handshake": "handshake"}
NO_STICKY = "n/a: session not found without sticky routing"
_temp_dirs: set[Path] = set()  # nginx prefixes, removed on SIGTERM too
# docs/scale.md names the upstream "Host: localhost"; the SDK's DNS-rebinding check accepts
# loopback names with a port only ("localhost:*", 421 otherwise), so its nginx sends one.
DOCS_HOST = "proxy_set_header Host localhost;"
SDK_HOST = "proxy_set_header Host localhost:$server_port;"


@dataclass(frozen=True)
class Config:
    workers: tuple[int, ...]
    runs: int
    warmup: int  # untimed calls per session before each timed run
    calls: int  # timed sequential calls per session per run (SESSIONS sessions at once)
    relay_runs: int
    relay_calls: int  # sequential calls per relay run
    timeout: float  # seconds for the whole benchmark


QUICK = Config(workers=(1, 2, 4), runs=3, warmup=5, calls=15, relay_runs=3, relay_calls=60,
               timeout=120.0)
DEFAULT = Config(workers=(1, 2, 4), runs=5, warmup=10, calls=40, relay_runs=7,
                 relay_calls=150, timeout=360.0)


# ---------------------------------------------------------------- the processes


def _nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def require_tools() -> None:
    """Raise RuntimeError naming what is missing (redis-server, nginx, coredis, mcp)."""
    missing = []
    if shutil.which("redis-server") is None:
        missing.append("redis-server (apt-get install redis-server)")
    if _nginx_binary() is None:
        missing.append("nginx (apt-get install nginx)")
    for module, hint in (("coredis", "pip install 'trio-mcp[redis]'"),
                         ("mcp", "pip install -e '.[bench]'")):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"{module} ({hint})")
    if missing:
        raise RuntimeError("missing: " + ", ".join(missing))


@contextlib.contextmanager
def redis_server(deadline: Deadline) -> Iterator[str]:
    """A throw-away redis-server on a free loopback port (no persistence); its URL."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--protected-mode", "yes"]
    with child_process(argv) as (proc, stderr):
        wait_port(proc, stderr, port, deadline)
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def ours_workers(count: int, redis_url: str, deadline: Deadline) -> Iterator[dict[str, int]]:
    """``count`` trio-mcp workers on ports of their own, one key prefix; worker id -> port."""
    tag = secrets.token_hex(3)
    with contextlib.ExitStack() as stack:
        started = []
        for k in range(count):
            port = free_port()
            argv = [sys.executable, "-m", "trio_adapter", "serve", str(WORKER_SCRIPT),
                    "--http", f"127.0.0.1:{port}", "--store", redis_url,
                    "--store-prefix", f"bench{tag}:", "--worker-id", f"b{tag}w{k + 1}",
                    "--max-connections-per-client", "1024", "--drain-timeout", "1"]
            started.append((port, *stack.enter_context(child_process(argv))))
        for port, proc, stderr in started:
            wait_port(proc, stderr, port, deadline)
        yield {f"b{tag}w{k + 1}": port for k, (port, _, _) in enumerate(started)}


@contextlib.contextmanager
def sdk_servers(count: int, deadline: Deadline) -> Iterator[list[int]]:
    """``count`` processes of sdk_echo.py (Streamable HTTP, uvicorn); their ports."""
    with contextlib.ExitStack() as stack:
        started = []
        for _ in range(count):
            port = free_port()
            argv = [sys.executable, str(SDK_SCRIPT), "--http", str(port)]
            started.append((port, *stack.enter_context(child_process(argv))))
        for port, proc, stderr in started:
            wait_port(proc, stderr, port, deadline)
        yield [port for port, _, _ in started]


@dataclass
class Nginx:
    port: int
    prefix: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def upstream_counts(self) -> dict[int, int]:
        """Requests answered per upstream port so far (its access log)."""
        path = self.prefix / "access.log"
        counts: Counter[int] = Counter()
        for line in (path.read_text(errors="replace") if path.exists() else "").splitlines():
            last = line.rsplit(" ", 1)[0].split(",")[-1].strip()
            if ":" in last and last.rsplit(":", 1)[1].isdigit():
                counts[int(last.rsplit(":", 1)[1])] += 1
        return dict(counts)


@contextlib.contextmanager
def nginx(upstream_ports: Sequence[int], deadline: Deadline, *, host_with_port: bool = False,
          owners: dict[str, int] | None = None) -> Iterator[Nginx]:
    """nginx round-robin to ``upstream_ports`` with docs/scale.md's configuration, under a
    temporary prefix, as ``tests/scale_support.open_nginx`` runs it (a child process here, so
    that it outlives the trio and asyncio runs that use it). ``host_with_port``: the upstream
    Host carries a port (for the SDK's servers; see SDK_HOST). ``owners`` (worker id ->
    port): docs/scale.md's owner-routing configuration instead."""
    binary = _nginx_binary()
    assert binary is not None
    port = free_port()
    config = nginx_config_from_docs(port, upstream_ports, owners)
    if host_with_port:
        if DOCS_HOST not in config:
            raise RuntimeError(f"docs/scale.md's nginx block has no {DOCS_HOST!r} any more")
        config = config.replace(DOCS_HOST, SDK_HOST)
    with tempfile.TemporaryDirectory(prefix="trio-mcp-bench-nginx-") as tmp:
        prefix = Path(tmp)
        _temp_dirs.add(prefix)
        argv = nginx_argv(binary, prefix, config)
        try:
            with child_process(argv) as (proc, stderr):
                wait_port(proc, stderr, port, deadline)
                yield Nginx(port, prefix)
        finally:
            _temp_dirs.discard(prefix)


# ---------------------------------------------------------------- the load


async def ours_multi(url: str, era: str, cfg: Config) -> Run:
    """SESSIONS sessions of our Client at ``url`` in ``era``, each making sequential calls."""
    async with contextlib.AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(
            ours_connect(StreamableHTTPTransport(url), era)) for _ in range(SESSIONS)]
        return await trio_parallel([_echo_call(s) for s in sessions], cfg.warmup, cfg.calls)


async def sdk_multi(url: str, era: str, cfg: Config) -> Run:
    """SESSIONS SDK clients at ``url`` in ``era``, each making sequential calls."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(sdk_client(url, era))
                   for _ in range(SESSIONS)]
        return await asyncio_parallel([_echo_call(c) for c in clients], cfg.warmup, cfg.calls)


async def sdk_legacy_attempt(url: str) -> str | None:
    """One SDK legacy session through round-robin nginx: None if it works, else why not."""
    import asyncio

    async def attempt() -> None:
        async with sdk_client(url, "handshake") as client:
            for _ in range(4):  # enough requests to reach another process
                check(await client.call_tool("echo", ARGS))

    try:
        await asyncio.wait_for(attempt(), 15)
    except Exception as exc:
        return describe(exc)[:300]
    return None


def describe(exc: BaseException) -> str:
    """One line for ``exc``: the innermost errors of an exception group, not the group."""
    inner = getattr(exc, "exceptions", None)  # an exception group (3.10: the backport's)
    if isinstance(inner, tuple) and inner and all(isinstance(e, BaseException) for e in inner):
        return "; ".join(describe(e) for e in inner)
    return " ".join(f"{type(exc).__name__}: {exc}".split())


# ---------------------------------------------------------------- relay


class RawSession:
    """tools/call POSTs for an existing handshake-era session over one keep-alive h11
    connection: the same minimal client towards the owner and towards another worker."""

    def __init__(self, port: int, session_id: str, protocol: str) -> None:
        self.port = port
        self.headers = [("host", "localhost"), ("content-type", "application/json"),
                        ("accept", "application/json, text/event-stream"),
                        ("mcp-session-id", session_id), ("mcp-protocol-version", protocol)]
        self.next_id = 1_000_000
        self.stream: trio.SocketStream | None = None
        self.conn = h11.Connection(h11.CLIENT)

    async def aclose(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()

    async def call(self) -> Any:
        """One ``echo`` call; its result as ``.is_error`` and ``.content[i].text`` (what
        run.py's ``check`` reads). Raises RuntimeError for anything but a result."""
        if self.stream is None:
            self.stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        self.next_id += 1
        rid = self.next_id
        body = json.dumps({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                           "params": {"name": "echo", "arguments": ARGS}}).encode()
        conn = self.conn
        data = conn.send(h11.Request(method="POST", target="/mcp",
                                     headers=[*self.headers, ("content-length", str(len(body)))]))
        data = (data or b"") + (conn.send(h11.Data(data=body)) or b"") \
            + (conn.send(h11.EndOfMessage()) or b"")
        await self.stream.send_all(data)
        status, ctype, chunks = 0, "", []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await self.stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                ctype = dict(event.headers).get(b"content-type", b"").decode()
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise RuntimeError(f"port {self.port} closed the connection")
        conn.start_next_cycle()
        payload = b"".join(chunks)
        if status != 200:
            raise RuntimeError(f"port {self.port} answered {status}: {payload[:200]!r}")
        messages: list[Any] = []
        if ctype.startswith("text/event-stream"):
            for block in payload.decode().replace("\r\n", "\n").split("\n\n"):
                lines = [line[5:].lstrip() for line in block.split("\n")
                         if line.startswith("data:")]
                if lines and any(lines):  # a priming event carries an empty data line
                    messages.append(json.loads("\n".join(lines)))
        else:
            messages.append(json.loads(payload))
        for message in messages:
            if isinstance(message, dict) and message.get("id") == rid:
                result = message.get("result")
                if not isinstance(result, dict):
                    raise RuntimeError(f"port {self.port}: {message!r}")
                return SimpleNamespace(
                    is_error=bool(result.get("isError")),
                    content=[SimpleNamespace(text=block.get("text"))
                             for block in result.get("content", [])])
        raise RuntimeError(f"port {self.port}: no response to {rid} in {payload[:200]!r}")


async def relay_runs(owner: int, other: int, cfg: Config) -> tuple[list[Run], list[Run]]:
    """A session minted by ``owner``; runs of sequential calls to the owner and to ``other``
    (relayed), interleaved, the order flipped every run."""
    transport = StreamableHTTPTransport(f"http://127.0.0.1:{owner}/mcp")
    async with ours_connect(transport, "handshake") as session:
        check(await session.call_tool("echo", ARGS))
        sid, protocol = transport.session_id, transport.protocol_version
        if sid is None or protocol is None:
            raise RuntimeError("the owner gave no session id: not a handshake-era session")
        direct, relayed = RawSession(owner, sid, protocol), RawSession(other, sid, protocol)
        try:
            mine, theirs = [], []
            for i in range(cfg.relay_runs):
                order = (direct, relayed) if i % 2 == 0 else (relayed, direct)
                for raw in order:
                    run = await sequential(raw.call, cfg.warmup * 5, cfg.relay_calls)
                    (mine if raw is direct else theirs).append(run)
            return mine, theirs
        finally:
            await direct.aclose()
            await relayed.aclose()


# ---------------------------------------------------------------- one worker count


def measure_count(n: int, redis_url: str, cfg: Config, deadline: Deadline, *, relay: bool
                  ) -> tuple[list[Record], dict[str, Any]]:
    """Everything at ``n`` workers: records, and which upstreams nginx used; with ``relay``
    (and ``n`` >= 2) the relay's cost too."""
    records: list[Record] = []
    spread: dict[str, Any] = {}
    with ours_workers(n, redis_url, deadline) as ours_ids, \
            sdk_servers(n, deadline) as sdk_ports, \
            nginx(list(ours_ids.values()), deadline) as ours_lb, \
            nginx(list(ours_ids.values()), deadline, owners=ours_ids) as owner_lb, \
            nginx(sdk_ports, deadline, host_with_port=True) as sdk_lb:
        for era in ERAS:
            label = f"{n} worker(s), {ERA_LABEL[era]}"
            sdk_ok = era == "modern" or n == 1
            why = None
            if not sdk_ok:
                why = run_asyncio(deadline, sdk_legacy_attempt, sdk_lb.url)
                if why is None:
                    log(f"{label}: the SDK's legacy session worked behind round-robin?")
                    sdk_ok = True
            log(f"{label} ...")

            def ours_run(era: str = era) -> Run:
                return run_trio(deadline, ours_multi, ours_lb.url, era, cfg)

            def sdk_run(era: str = era) -> Run:
                return run_asyncio(deadline, sdk_multi, sdk_lb.url, era, cfg)

            if sdk_ok:
                ours, sdk = interleave(cfg.runs, ours_run, sdk_run)
            else:
                ours, sdk = [ours_run() for _ in range(cfg.runs)], []
            extra = {"workers": n, "era": era, "sessions": SESSIONS}
            records.append(summarize("scale", OURS, ours, **extra))
            if sdk:
                records.append(summarize("scale", SDK, sdk, **extra))
            else:
                records.append({"workload": "scale", "impl": SDK, **extra,
                                "skipped": NO_STICKY, "error": why})
        if n >= 2:  # handshake era, nginx routing each session to its owner: no relay
            log(f"{n} worker(s), handshake, routed to the owner ...")
            owned = [run_trio(deadline, ours_multi, owner_lb.url, "handshake", cfg)
                     for _ in range(cfg.runs)]
            records.append(summarize("scale-owner-routed", OURS, owned, workers=n,
                                     era="handshake", sessions=SESSIONS))
        spread = {"trio-mcp": ours_lb.upstream_counts(), "mcp": sdk_lb.upstream_counts()}
        ours_ports = list(ours_ids.values())
        if relay and n >= 2:
            log(f"relay at {n} workers ...")
            direct, relayed = run_trio(deadline, relay_runs, ours_ports[0], ours_ports[1], cfg)
            records.append(summarize("relay-owner", OURS, direct, workers=n, era="handshake"))
            records.append(summarize("relay-other", OURS, relayed, workers=n, era="handshake"))
    return records, spread


# ---------------------------------------------------------------- report


def _find(records: list[Record], workload: str, impl: str, **match: Any) -> Record | None:
    for record in records:
        if (record.get("workload") == workload and record.get("impl") == impl
                and all(record.get(k) == v for k, v in match.items())):
            return record
    return None


def relay_cost(records: list[Record]) -> dict[str, float] | None:
    """µs per call the relay adds (medians of p50 and of wall time per call), or None."""
    owner, other = _find(records, "relay-owner", OURS), _find(records, "relay-other", OURS)
    if owner is None or other is None:
        return None
    return {"p50_us": round(other["p50_us"] - owner["p50_us"], 1),
            "per_call_us": round(1e6 / other["calls_per_s"] - 1e6 / owner["calls_per_s"], 1),
            "owner_p50_us": owner["p50_us"], "relayed_p50_us": other["p50_us"],
            "owner_calls_per_s": owner["calls_per_s"],
            "relayed_calls_per_s": other["calls_per_s"]}


def table(records: list[Record]) -> str:
    """The markdown table: one row per worker count and era."""
    rows = ["| workers | era | trio-mcp calls/s | SDK calls/s | ours/SDK | trio-mcp vs 1 worker "
            "| SDK vs 1 worker | trio-mcp p50 / p99 µs | SDK p50 / p99 µs |",
            "|---|---|---|---|---|---|---|---|---|"]
    counts = sorted({int(r["workers"]) for r in records if r.get("workload") == "scale"})
    for era in ERAS:
        base_ours = _find(records, "scale", OURS, workers=1, era=era)
        base_sdk = _find(records, "scale", SDK, workers=1, era=era)
        for n in counts:
            ours = _find(records, "scale", OURS, workers=n, era=era)
            sdk = _find(records, "scale", SDK, workers=n, era=era)
            if ours is None:
                continue
            measured = sdk is not None and not sdk.get("skipped")
            assert sdk is None or measured or sdk.get("skipped")
            ratio = f"{ours['calls_per_s'] / sdk['calls_per_s']:.1f}" \
                if measured and sdk and sdk["calls_per_s"] else "n/a"

            def scale(rec: Record | None, base: Record | None) -> str:
                if rec is None or rec.get("skipped") or base is None or base.get("skipped"):
                    return "n/a"
                return f"{rec['calls_per_s'] / base['calls_per_s']:.2f}x"

            sdk_rate = f"{sdk['calls_per_s']:,}" if measured and sdk else (
                NO_STICKY if sdk is not None else "n/a")
            sdk_lat = (f"{sdk['p50_us']:,.0f} / {sdk['p99_us']:,.0f}"
                       if measured and sdk else "")
            rows.append(f"| {n} | {ERA_LABEL[era]} | {ours['calls_per_s']:,} | {sdk_rate} "
                        f"| {ratio} | {scale(ours, base_ours)} "
                        f"| {scale(sdk if measured else None, base_sdk)} "
                        f"| {ours['p50_us']:,.0f} / {ours['p99_us']:,.0f} | {sdk_lat} |")
    return "\n".join(rows)


def owner_routed_line(records: list[Record]) -> str:
    """The handshake era behind the owner-routing nginx, next to round-robin and 1 worker."""
    parts = []
    base = _find(records, "scale", OURS, workers=1, era="handshake")
    for record in records:
        if record.get("workload") != "scale-owner-routed":
            continue
        n = record["workers"]
        rr = _find(records, "scale", OURS, workers=n, era="handshake")
        text = f"{n} workers {record['calls_per_s']:,} calls/s"
        if rr is not None:
            text += f" (round-robin {rr['calls_per_s']:,})"
        if base is not None and base.get("calls_per_s"):
            text += f", {record['calls_per_s'] / base['calls_per_s']:.2f}x of 1 worker"
        parts.append(text)
    if not parts:
        return "handshake era routed to the owner: not measured (needs at least 2 workers)"
    return "handshake era, nginx routing each session to its owner: " + "; ".join(parts)


def relay_line(records: list[Record]) -> str:
    cost = relay_cost(records)
    if cost is None:
        return "relay: not measured (needs at least 2 workers)"
    return (f"relay (handshake era, one session, sequential calls): owner "
            f"{cost['owner_p50_us']:,.0f} µs p50 ({cost['owner_calls_per_s']:,} calls/s), "
            f"relayed through Redis {cost['relayed_p50_us']:,.0f} µs p50 "
            f"({cost['relayed_calls_per_s']:,} calls/s): +{cost['p50_us']:,.0f} µs per call "
            f"(p50; +{cost['per_call_us']:,.0f} µs in wall time per call)")


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Config]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"CI-sized: {QUICK.runs} runs, {QUICK.calls} calls per session "
                             f"(under 2 minutes)")
    parser.add_argument("--workers", metavar="N[,N..]",
                        help="worker counts (default 1,2,4)")
    parser.add_argument("--runs", type=int, help="runs per figure")
    parser.add_argument("--calls", type=int, help="timed calls per session per run")
    parser.add_argument("--timeout", type=float,
                        help=f"seconds for the whole run (default {DEFAULT.timeout:g}, "
                             f"quick {QUICK.timeout:g})")
    parser.add_argument("--json-out", metavar="FILE", type=Path,
                        help="write every measurement, the table and the machine as JSON")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else DEFAULT
    if args.workers is not None:
        try:
            counts = tuple(int(w) for w in args.workers.split(",") if w.strip())
        except ValueError:
            parser.error(f"--workers wants numbers like 1,2,4, not {args.workers!r}")
        if not counts or min(counts) < 1:
            parser.error("--workers wants counts of at least 1")
        cfg = replace(cfg, workers=counts)
    for name in ("runs", "calls"):
        value = getattr(args, name)
        if value is not None:
            if value < 1:
                parser.error(f"--{name} must be at least 1")
            cfg = replace(cfg, **{name: value})
    if args.timeout is not None:
        if args.timeout <= 0:
            parser.error("--timeout must be positive")
        cfg = replace(cfg, timeout=args.timeout)
    return args, cfg


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Stop every child, remove the nginx prefixes, exit (run.py's handler, plus the dirs)."""
    kill_all_children()
    for path in list(_temp_dirs):
        shutil.rmtree(path, ignore_errors=True)
    os._exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args, cfg = parse_args(argv)
    silence_sdk_warnings()
    require_tools()
    signal.signal(signal.SIGTERM, _on_sigterm)
    # One requestState key for all our workers (they inherit the environment).
    os.environ["TRIO_MCP_STATE_KEYS"] = "bench-" + secrets.token_hex(24)
    deadline = Deadline(cfg.timeout)
    started = time.perf_counter()
    records: list[Record] = []
    spread: dict[str, Any] = {}
    failure = None
    try:
        with Watchdog(cfg.timeout + 30, "scale"), redis_server(deadline) as redis_url:
            relay_at = min((n for n in cfg.workers if n >= 2), default=None)
            for n in cfg.workers:
                produced, spread[str(n)] = measure_count(n, redis_url, cfg, deadline,
                                                         relay=n == relay_at)
                for record in produced:
                    print(json.dumps(record), flush=True)
                records += produced
    except Exception as exc:  # reported; the children are stopped below
        failure = describe(exc)[:1000]
        log(f"FAILED: {failure}")
    finally:
        kill_all_children()
    elapsed = time.perf_counter() - started
    text = table(records)
    doc = {"machine": machine_info(), "config": {**cfg.__dict__, "sessions": SESSIONS,
                                                  "quick": args.quick},
           "measurements": records, "relay": relay_cost(records), "upstreams": spread,
           "failure": failure, "table": text, "elapsed_s": round(elapsed, 1)}
    if args.json_out:
        args.json_out.write_text(json.dumps(doc, indent=2) + "\n")
        log(f"wrote {args.json_out}")
    print()
    print(f"trio-mcp {doc['machine']['versions']['trio-mcp']} vs mcp "
          f"{doc['machine']['versions']['mcp']}; Python {platform.python_version()}, "
          f"{doc['machine']['nproc']} CPUs shared by the clients, nginx, Redis and the "
          f"workers; {SESSIONS} sessions, {cfg.calls} calls each per run, median of "
          f"{cfg.runs} runs; {elapsed:.0f} s")
    if failure:
        print(f"FAILED: {failure}")
    print(text)
    print(owner_routed_line(records))
    print(relay_line(records))
    return 1 if failure else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the children were stopped on the way out
        kill_all_children()
        print("[bench] interrupted", file=sys.stderr)
        sys.exit(130)
