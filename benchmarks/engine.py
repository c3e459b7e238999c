"""What one tools/call round trip costs in the sans-IO engine, next to the JSON codec floor.

A round trip is: the client queues ``tools/call``, the server receives it (``RequestReceived``),
queues the result, and the client receives it (``ResponseReceived``): four frames, two encodes and
two decodes, plus the engine's bookkeeping and validation. Measured ways:

* ``pair``: through :class:`sansio.testing.ConnectionPair` (``send_request``, ``deliver``,
  ``send_response``, ``deliver``). ``deliver`` also decodes each frame once more to record it in
  ``pair.wire``, so this is the engine plus a test harness;
* ``engine``: the same two engines pumped by hand the way an adapter does (``data_to_send`` ->
  ``receive_data`` -> ``next_event`` until ``NEED_DATA``): the engine's own cost;
* each with ``validate=True`` (the default: params and results are checked against the MCP types)
  and ``validate=False``;
* ``engine.stateless``: the ``engine`` way in the stateless era (2026-07-28): the client stamps
  ``_meta`` (version, capabilities, client info) on every request, the server judges each one by
  it and adds ``resultType`` and the ``serverInfo`` ``_meta`` to the result;
* the floors: ``json.dumps`` + ``json.loads`` of the same four frames (request out/in, response
  out/in), and ``orjson.dumps`` + ``orjson.loads`` likewise.

The engine measurements run twice: in this process (orjson when it is installed) and in a child
process with ``TRIO_MCP_JSON=stdlib`` (the standard library's json), so both codec paths are
reported. Each figure is the median over several runs of the mean time per round trip, in µs.

Usage::

    python benchmarks/engine.py            # 7 runs x 20000 round trips per measurement
    python benchmarks/engine.py --quick    # a few seconds
    python benchmarks/engine.py --runs 3 --iterations 50

Output: one JSON object per line and measurement, then a table, then one line with what the
per-request ``_meta`` of 2026-07-28 costs per call (``engine.stateless`` minus ``engine``, the two
timed in alternation: the stamping on the client plus the validation and judging on the server),
with validation on and off.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout
    sys.path.insert(0, str(ROOT))

import sansio  # noqa: E402
from sansio import NEED_DATA, RequestReceived, ResponseReceived  # noqa: E402
from sansio.testing import ConnectionPair  # noqa: E402

PARAMS: dict[str, Any] = {"name": "echo", "arguments": {"text": "hello world"}}
RESULT: dict[str, Any] = {"content": [{"type": "text", "text": "hello world"}]}
SERVER_CAPS: dict[str, Any] = {"tools": {}}

# The four frames of one round trip, as they look on the wire (the ids do not change the cost).
REQUEST_OBJ: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": PARAMS}
RESPONSE_OBJ: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "result": RESULT}

Bench = Callable[[int], None]


def _operating_pair(validate: bool) -> ConnectionPair:
    pair = ConnectionPair(validate=validate)
    pair.handshake(server_capabilities=SERVER_CAPS)
    pair.wire.clear()
    return pair


def bench_pair(validate: bool) -> Bench:
    """Round trips through ConnectionPair.deliver (engine + the harness's wire recording)."""
    pair = _operating_pair(validate)
    client, server, deliver, wire = pair.client, pair.server, pair.deliver, pair.wire

    def run(n: int) -> None:
        for _ in range(n):
            client.send_request("tools/call", PARAMS)
            (request,) = deliver(client)
            server.send_response(request.request_id, RESULT)  # type: ignore[attr-defined]
            deliver(server)
        wire.clear()

    # Check once, outside the timing, that this is the round trip we mean to measure.
    rid = client.send_request("tools/call", PARAMS)
    (request,) = deliver(client)
    assert isinstance(request, RequestReceived) and request.params == PARAMS
    server.send_response(rid, RESULT)
    (response,) = deliver(server)
    assert isinstance(response, ResponseReceived) and response.result == RESULT
    wire.clear()
    return run


def _stateless_pair(validate: bool) -> ConnectionPair:
    return ConnectionPair.stateless(validate=validate, server_capabilities=SERVER_CAPS,
                                    client_info={"name": "bench", "version": "1"})


def bench_engine(validate: bool, era: str = "handshake") -> Bench:
    """Round trips with the engines pumped by hand, as an adapter would (``era``:
    ``"handshake"`` after initialize, or ``"stateless"``)."""
    pair = _operating_pair(validate) if era == "handshake" else _stateless_pair(validate)
    client, server = pair.client, pair.server

    def run(n: int) -> None:
        for _ in range(n):
            client.send_request("tools/call", PARAMS)
            server.receive_data(client.data_to_send())
            request = server.next_event()
            if server.next_event() is not NEED_DATA:  # an adapter drains to NEED_DATA
                raise AssertionError("unexpected event")
            server.send_response(request.request_id, RESULT)  # type: ignore[union-attr]
            client.receive_data(server.data_to_send())
            client.next_event()
            if client.next_event() is not NEED_DATA:
                raise AssertionError("unexpected event")

    rid = client.send_request("tools/call", PARAMS)
    server.receive_data(client.data_to_send())
    request = server.next_event()
    assert isinstance(request, RequestReceived) and request.method == "tools/call"
    assert (request.protocol_version is not None) == (era == "stateless")
    server.send_response(rid, RESULT)
    client.receive_data(server.data_to_send())
    response = client.next_event()
    assert isinstance(response, ResponseReceived)
    assert response.result["content"] == RESULT["content"]
    return run


def bench_json_floor() -> Bench:
    """json.dumps + json.loads of the four frames (default arguments: json's fastest path)."""
    dumps, loads = json.dumps, json.loads

    def run(n: int) -> None:
        for _ in range(n):
            loads(dumps(REQUEST_OBJ))
            loads(dumps(RESPONSE_OBJ))

    return run


def bench_orjson_floor() -> Bench | None:
    """orjson.dumps + orjson.loads of the four frames, or None without orjson."""
    try:
        import orjson
    except ImportError:
        return None
    dumps, loads = orjson.dumps, orjson.loads

    def run(n: int) -> None:
        for _ in range(n):
            loads(dumps(REQUEST_OBJ))
            loads(dumps(RESPONSE_OBJ))

    return run


def measure(bench: Bench, *, runs: int, iterations: int) -> dict[str, Any]:
    """Time ``runs`` runs of ``iterations`` round trips; report µs per round trip."""
    bench(max(1, iterations // 10))  # warm up
    per_run: list[float] = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        bench(iterations)
        per_run.append((time.perf_counter_ns() - start) / iterations / 1000)
    return {
        "median_us": round(statistics.median(per_run), 3),
        "min_us": round(min(per_run), 3),
        "max_us": round(max(per_run), 3),
        "runs": runs,
        "iterations": iterations,
    }


def engine_measurements(runs: int, iterations: int) -> list[dict[str, Any]]:
    """The engine's round trips, with the codec this process imported."""
    out = []
    for path, factory in (("engine", bench_engine),
                          ("engine.stateless", lambda v: bench_engine(v, "stateless")),
                          ("pair", bench_pair)):
        for validate in (True, False):
            record = {"measurement": f"roundtrip.{path}", "codec": sansio.JSON_BACKEND,
                      "validate": validate}
            record.update(measure(factory(validate), runs=runs, iterations=iterations))
            out.append(record)
    return out


def floor_measurements(runs: int, iterations: int) -> list[dict[str, Any]]:
    out = []
    for codec, bench in (("json", bench_json_floor()), ("orjson", bench_orjson_floor())):
        if bench is None:
            continue
        record: dict[str, Any] = {"measurement": "floor.codec", "codec": codec, "validate": None}
        record.update(measure(bench, runs=runs, iterations=iterations))
        out.append(record)
    return out


def child_measurements(runs: int, iterations: int) -> list[dict[str, Any]]:
    """Run the engine measurements again in a child process with TRIO_MCP_JSON=stdlib."""
    env = dict(os.environ, TRIO_MCP_JSON="stdlib")
    proc = subprocess.run(
        [sys.executable, __file__, "--engine-only", "--runs", str(runs),
         "--iterations", str(iterations)],
        env=env, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def table(records: list[dict[str, Any]]) -> str:
    floors = {r["codec"]: r["median_us"] for r in records if r["measurement"] == "floor.codec"}
    floor_codec = {"orjson": "orjson", "stdlib": "json"}
    rows = [("measurement", "codec", "validate", "median µs", "min µs", "x codec floor",
             "µs over floor")]
    for r in records:
        floor = floors.get(floor_codec.get(r["codec"], r["codec"]))
        ratio = f"{r['median_us'] / floor:.1f}" if floor else "-"
        over = f"{r['median_us'] - floor:.2f}" if floor else "-"
        validate = "-" if r["validate"] is None else ("on" if r["validate"] else "off")
        rows.append((r["measurement"], r["codec"], validate, f"{r['median_us']:.2f}",
                     f"{r['min_us']:.2f}", ratio, over))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def measure_meta_cost(validate: bool, *, runs: int, iterations: int) -> dict[str, Any]:
    """What the per-request ``_meta`` of the 2026-07-28 era costs per call: the ``engine`` round
    trip (handshake era) and the ``engine.stateless`` one timed in alternation, the order flipped
    every run, so that drift hits both; the median of the per-run differences, in µs. The
    difference is the client stamping version, capabilities and client info on each request,
    the server validating and judging them, and the result's ``resultType`` and ``serverInfo``."""
    benches = {"handshake": bench_engine(validate),
               "stateless": bench_engine(validate, "stateless")}
    for bench in benches.values():
        bench(max(1, iterations // 10))  # warm up
    diffs: list[float] = []
    for i in range(runs):
        order = ("handshake", "stateless") if i % 2 == 0 else ("stateless", "handshake")
        us: dict[str, float] = {}
        for name in order:
            start = time.perf_counter_ns()
            benches[name](iterations)
            us[name] = (time.perf_counter_ns() - start) / iterations / 1000
        diffs.append(us["stateless"] - us["handshake"])
    return {"measurement": "meta.cost", "codec": sansio.JSON_BACKEND, "validate": validate,
            "median_us": round(statistics.median(diffs), 3), "min_us": round(min(diffs), 3),
            "max_us": round(max(diffs), 3), "runs": runs, "iterations": iterations}


def meta_cost_line(costs: list[dict[str, Any]]) -> str:
    parts = [f"{c['median_us']:+.2f} µs with validation {'on' if c['validate'] else 'off'}"
             for c in costs]
    codec = costs[0]["codec"] if costs else sansio.JSON_BACKEND
    return (f"per-request _meta (2026-07-28), {codec}: " + ", ".join(parts)
            + " per round trip (engine.stateless minus engine, timed in alternation)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations: a few seconds")
    parser.add_argument("--runs", type=int, default=None,
                        help="timed runs per measurement (default 7, 5 with --quick)")
    parser.add_argument("--iterations", type=int, default=None,
                        help="round trips per run (default 20000, 2000 with --quick)")
    parser.add_argument("--no-stdlib", action="store_true",
                        help="skip the TRIO_MCP_JSON=stdlib child process")
    parser.add_argument("--engine-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    iterations = args.iterations or (2000 if args.quick else 20000)
    runs = max(1, args.runs or (5 if args.quick else 7))

    records = engine_measurements(runs, iterations)
    if args.engine_only:
        for record in records:
            print(json.dumps(record))
        return 0
    if sansio.JSON_BACKEND != "stdlib" and not args.no_stdlib:
        records += child_measurements(runs, iterations)
    records += floor_measurements(runs, iterations)
    costs = [measure_meta_cost(v, runs=runs, iterations=iterations) for v in (True, False)]
    info = {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "machine": platform.machine()}
    for record in records:  # (the _meta cost is a difference, printed as a line below)
        print(json.dumps({**record, **info}))
    print()
    print(f"tools/call round trip, µs (median of {runs} runs x {iterations}); "
          f"Python {info['python']} ({info['implementation']})")
    print(table(records))
    print(meta_cost_line(costs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
