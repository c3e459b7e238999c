"""Fill docs/performance.md's tables from a ``benchmarks/run.py --json-out`` document.

Usage::

    python scripts/perf_doc.py docs/performance.json docs/performance.md

Replaces the lines between the ``<!-- results -->`` / ``<!-- /results -->`` (the full table),
``<!-- ratios -->`` and ``<!-- targets -->`` markers, and ``<!-- eras -->`` (the 2026-07-28
era's table, when the page has that block), so the page always shows the run whose records sit
beside it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import run as bench  # noqa: E402

# (key, what, target, how a value meets it)
TARGETS = [
    ("in-memory", "in-memory sequential calls/s", 10.0, "min"),
    ("concurrent", "32 concurrent callers, calls/s", 10.0, "min"),
    ("stdio", "stdio sequential calls/s", 5.0, "min"),
    ("http", "Streamable HTTP, one session, calls/s", 5.0, "min"),
    ("cold-start", "cold start, seconds (ours / SDK)", 0.5, "max"),
    ("churn", "session churn, sessions/s", 10.0, "min"),
    ("memory", "memory per idle session (SDK / ours)", 5.0, "min"),
    ("engine", "engine round trip / orjson floor", 3.0, "max"),
]


def _markdown_table(text: str) -> str:
    rows = [line for line in text.splitlines() if line.strip()]
    header, body = rows[0], rows[2:]  # rows[1] is the dashes
    cells = [re.split(r"\s{2,}", header.strip())]
    cells += [re.split(r"\s{2,}", row.strip()) for row in body
              if not row.startswith("engine alone")]
    width = len(cells[0])
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * width]
    for row in cells[1:]:
        padded = row + [""] * (width - len(row))
        lines.append("| " + " | ".join(padded[:width]) + " |")
    return "\n".join(lines)


def targets(records: list[dict]) -> str:
    values = dict(bench.ratios(records))
    ours = bench._find(records, "cold-start", bench.OURS)
    sdk = bench._find(records, "cold-start", bench.SDK)
    if ours and sdk:
        values["cold-start"] = ours["seconds"] / sdk["seconds"]
    engine = {r["validate"]: r["us_per_call"] for r in records
              if r.get("workload") == "engine" and r.get("impl") == bench.OURS
              and bench.era_of(r) == "handshake"}
    floor = next((r["us_per_call"] for r in records
                  if r.get("workload") == "engine" and r.get("codec") == "orjson"
                  and r.get("impl") != bench.OURS), None)
    if True in engine and floor:
        values["engine"] = engine[True] / floor
    lines = ["| workload | target | measured | met |", "|---|---|---|---|"]
    for key, what, target, how in TARGETS:
        value = values.get(key)
        sign = ">=" if how == "min" else "<="
        if value is None:
            lines.append(f"| {what} | {sign} {target:g} | n/a | - |")
            continue
        met = value >= target if how == "min" else value <= target
        lines.append(f"| {what} | {sign} {target:g} | {value:.2f} | {'yes' if met else 'no'} |")
    return "\n".join(lines)


def eras(records: list[dict]) -> str:
    """The 2026-07-28 era's table and notes, or a sentence saying the run has none."""
    text = bench.era_table(records)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("workload"):
        return ("No 2026-07-28 measurements in this run (`benchmarks/run.py --era both`, the "
                "default, makes them)." + "".join(f"\n\n{line}" for line in lines))
    width = len(re.split(r"\s{2,}", lines[0].strip()))
    rows = [line for line in lines if len(re.split(r"\s{2,}", line.strip())) == width
            or set(line.replace(" ", "")) == {"-"}]
    notes = [line for line in lines if line not in rows]
    ratio_line = bench.modern_ratios_line(bench.modern_ratios(records))
    return (_markdown_table("\n".join(rows)) + "".join(f"\n\n{note}" for note in notes)
            + "\n\n```\n" + ratio_line + "\n```")


def main(argv: list[str]) -> int:
    data = json.loads(Path(argv[0]).read_text())
    records = data["measurements"]
    page = Path(argv[1])
    text = page.read_text()
    blocks = {
        "results": _markdown_table(bench.table(records)),
        "ratios": "```\n" + bench.ratios_line(bench.ratios(records)) + "\n```",
        "targets": targets(records),
    }
    if "<!-- eras -->" in text:
        blocks["eras"] = eras(records)
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- {name} -->\n).*?(\n<!-- /{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{page}: no <!-- {name} --> block")
        text = pattern.sub(lambda m, b=body: m.group(1) + b + m.group(2), text)
    page.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
