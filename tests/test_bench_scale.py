"""benchmarks/scale.py: its options, presets and report (nothing here is timed or started).

The records are made up; the benchmark itself (Redis, nginx, workers) is run by hand, see
docs/performance.md.
"""

from __future__ import annotations

import builtins
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale  # noqa: E402


def _rec(workers: int, era: str, impl: str, rate: int, **extra: object) -> dict[str, object]:
    return {"workload": "scale", "impl": impl, "workers": workers, "era": era,
            "calls_per_s": rate, "p50_us": 8e6 / rate, "p99_us": 16e6 / rate, **extra}


def test_presets_and_overrides() -> None:
    _, cfg = scale.parse_args([])
    assert cfg == scale.DEFAULT and cfg.workers == (1, 2, 4)
    _, quick = scale.parse_args(["--quick"])
    assert quick == scale.QUICK and quick.timeout < cfg.timeout
    _, cfg = scale.parse_args(["--quick", "--workers", "1,3", "--runs", "2", "--calls", "7",
                               "--timeout", "50"])
    assert (cfg.workers, cfg.runs, cfg.calls, cfg.timeout) == ((1, 3), 2, 7, 50.0)
    assert cfg.warmup == scale.QUICK.warmup


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--workers", "a,b"], ["--runs", "0"],
                                  ["--timeout", "-1"]])
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        scale.parse_args(argv)


def test_table_ratios_scaling_and_the_sticky_na() -> None:
    records = [
        _rec(1, "modern", scale.OURS, 1000), _rec(1, "modern", scale.SDK, 250),
        _rec(2, "modern", scale.OURS, 1500), _rec(2, "modern", scale.SDK, 300),
        _rec(1, "handshake", scale.OURS, 1200), _rec(1, "handshake", scale.SDK, 200),
        _rec(2, "handshake", scale.OURS, 600),
        {"workload": "scale", "impl": scale.SDK, "workers": 2, "era": "handshake",
         "skipped": scale.NO_STICKY, "error": "HTTPStatusError: 404"},
        {"workload": "relay-owner", "impl": scale.OURS, "calls_per_s": 500, "p50_us": 1900.0},
        {"workload": "relay-other", "impl": scale.OURS, "calls_per_s": 250, "p50_us": 3900.0},
    ]
    lines = scale.table(records).splitlines()
    assert lines[0].startswith("| workers | era |") and lines[1].startswith("|---")
    assert "| 1 | 2026-07-28 | 1,000 | 250 | 4.0 | 1.00x | 1.00x |" in lines[2]
    assert "| 2 | 2026-07-28 | 1,500 | 300 | 5.0 | 1.50x | 1.20x |" in lines[3]
    assert "| 2 | handshake | 600 | " + scale.NO_STICKY + " | n/a | 0.50x | n/a |" in lines[5]
    cost = scale.relay_cost(records)
    assert cost is not None and cost["p50_us"] == 2000.0 and cost["per_call_us"] == 2000.0
    assert "+2,000 µs per call" in scale.relay_line(records)
    assert "not measured" in scale.relay_line(records[:-1])


def test_describe_unwraps_exception_groups() -> None:
    group_type = getattr(builtins, "ExceptionGroup", None)
    if group_type is None:  # Python 3.10: trio's backport
        from exceptiongroup import ExceptionGroup as group_type
    group = group_type("unhandled errors in a TaskGroup",
                       [RuntimeError("404 Not Found\n  session")])
    assert scale.describe(group) == "RuntimeError: 404 Not Found session"
