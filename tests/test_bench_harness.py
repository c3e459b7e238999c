"""benchmarks/run.py: its report (ratios, table, last line) and that it runs.

Nothing here is timed: the records are made up, and the smoke run checks only the shape of
what the runner prints.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import run as bench  # noqa: E402

LAST_LINE = re.compile(r"^ratios: in-memory=(\S+) concurrent=(\S+) stdio=(\S+) http=(\S+) "
                       r"churn=(\S+) memory=(\S+)$")


def _calls(workload: str, impl: str, rate: int) -> dict[str, object]:
    return {"workload": workload, "impl": impl, "calls_per_s": rate, "p50_us": 1e6 / rate,
            "p99_us": 2e6 / rate}


def test_ratios_are_ours_over_theirs_and_memory_inverted() -> None:
    records = [
        _calls("in-memory", bench.OURS, 30000), _calls("in-memory", bench.SDK, 3000),
        _calls("http", bench.OURS, 1000), _calls("http", bench.SDK, 400),
        {"workload": "memory", "impl": bench.OURS, "kib_per_session": 10.0},
        {"workload": "memory", "impl": bench.SDK, "kib_per_session": 60.0},
    ]
    values = bench.ratios(records)
    assert values["in-memory"] == 10.0
    assert values["http"] == 2.5
    assert values["memory"] == 6.0  # the SDK's KiB over ours: higher is better
    assert values["stdio"] is None  # not measured
    line = bench.ratios_line(values)
    match = LAST_LINE.match(line)
    assert match is not None, line
    assert match.groups() == ("10.0", "n/a", "n/a", "2.5", "n/a", "6.0")
    table = bench.table(records)
    assert "in-memory" in table and "30,000" in table and "10.0" in table


@pytest.mark.slow
def test_quick_engine_run_prints_records_a_table_and_the_ratios_line(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "engine",
         "--json-out", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert {r["impl"] for r in records} >= {bench.OURS, "orjson-floor", "json-floor"} or \
        {r["impl"] for r in records} >= {bench.OURS, "json-floor"}
    assert LAST_LINE.match(lines[-1]), lines[-1]
    document = json.loads(out.read_text())
    assert document["measurements"] == records
    assert document["machine"]["python"]


def test_performance_page_shows_the_run_beside_it(tmp_path: Path) -> None:
    """docs/performance.md's tables are those scripts/perf_doc.py makes from performance.json."""
    page = ROOT / "docs" / "performance.md"
    copy = tmp_path / "performance.md"
    copy.write_text(page.read_text())
    subprocess.run([sys.executable, str(ROOT / "scripts" / "perf_doc.py"),
                    str(ROOT / "docs" / "performance.json"), str(copy)], check=True, timeout=60)
    assert copy.read_text() == page.read_text(), \
        "stale: run python scripts/perf_doc.py docs/performance.json docs/performance.md"


def test_the_modern_era_is_a_table_of_its_own_and_skips_ours_without_mode() -> None:
    modern = [{**r, "era": "modern"} for r in (
        _calls("in-memory", bench.SDK, 5000), _calls("http", bench.OURS, 2000),
        _calls("http", bench.SDK, 500))]
    records = [
        _calls("in-memory", bench.OURS, 30000), _calls("in-memory", bench.SDK, 3000),
        _calls("http", bench.OURS, 1000), _calls("http", bench.SDK, 400),
        {"workload": "in-memory", "impl": bench.OURS, "era": "modern",
         "skipped": "no mode= here"},
        *modern,
        {"workload": "engine-meta", "impl": bench.OURS, "era": "modern", "validate": True,
         "us_per_call": 6.5},
    ]
    # the handshake figures are not mixed up with the modern ones
    assert bench.ratios(records)["in-memory"] == 10.0
    assert bench.ratios(records)["http"] == 2.5
    values = bench.modern_ratios(records)
    assert values["http"] == 4.0 and values["in-memory"] is None
    assert bench.modern_ratios_line(values).endswith("in-memory=n/a concurrent=n/a stdio=n/a "
                                                     "http=4.0 churn=n/a")
    assert bench.meta_cost(records) == {True: 6.5}
    text = bench.era_table(records)
    rows = {line.split()[0]: line.split() for line in text.splitlines()[2:4]}
    assert rows["in-memory"][2:4] == ["skipped", "5,000"]
    assert rows["http"][2:5] == ["2,000", "500", "4.0"]
    assert "trio-mcp modern: skipped: no mode= here" in text
    assert "+6.50 µs per round trip with validation on" in text


def test_ours_connect_asks_for_the_era_when_connect_takes_a_mode(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[object] = []

    class WithMode:
        def __init__(self, name: str, version: str) -> None:
            pass

        def connect(self, transport: object, mode: str = "auto") -> str:
            asked.append(mode)
            return "session"

    class WithoutMode(WithMode):
        def connect(self, transport: object) -> str:  # type: ignore[override]
            asked.append(None)
            return "session"

    monkeypatch.setattr(bench, "Client", WithMode)
    assert bench.ours_modern_unavailable() is None
    bench.ours_connect(object(), "modern")
    bench.ours_connect(object(), "handshake")
    assert asked == ["modern", "legacy"]
    monkeypatch.setattr(bench, "Client", WithoutMode)
    assert "mode=" in (bench.ours_modern_unavailable() or "")
    bench.ours_connect(object(), "handshake")
    assert asked[-1] is None
    with pytest.raises(RuntimeError, match="mode="):
        bench.ours_connect(object(), "modern")
