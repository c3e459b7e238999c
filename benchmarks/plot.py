"""Draw ``benchmarks/run.py --json-out`` results: calls/s per workload, trio-mcp beside the SDK.

A grouped bar chart on a log scale, one group per workload (in-memory, concurrent, stdio,
http, http-8, churn, and the engine alone), each group labelled with the ratio ours / SDK::

    python benchmarks/plot.py bench.json bench.png

matplotlib is a benchmark-only dependency (``pip install matplotlib``); it is imported only
when a chart is drawn.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OURS = "trio-mcp"
SDK = "mcp"
GROUPS = ("in-memory", "concurrent", "stdio", "http", "http-8", "churn", "engine")
LABELS = {"churn": "churn\n(sessions/s)", "engine": "engine alone\n(no SDK)",
          "http-8": "http\n8 sessions", "concurrent": "concurrent\n32 tasks"}


class MatplotlibMissing(RuntimeError):
    """matplotlib is not installed."""


def _pick(records: list[dict[str, Any]], workload: str, impl: str) -> float | None:
    for record in records:
        if record.get("workload") != workload or record.get("impl") != impl:
            continue
        if record.get("era", "handshake") != "handshake" or record.get("skipped"):
            continue  # the chart shows the handshake era (2026-07-28: run.py's second table)
        if workload == "engine" and not record.get("validate"):
            continue  # the engine as the adapters run it: validation on
        value = record.get("calls_per_s")
        return float(value) if value else None
    return None


def plot(doc: dict[str, Any], out: Path) -> None:
    """Draw the chart of ``doc`` (a ``run.py --json-out`` document) into ``out``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MatplotlibMissing(
            "matplotlib is needed for the chart: pip install matplotlib") from exc

    records: list[dict[str, Any]] = doc.get("measurements", [])
    groups = [g for g in GROUPS if _pick(records, g, OURS) is not None]
    if not groups:
        raise ValueError("no calls/s measurements in the document")
    ours = [_pick(records, g, OURS) for g in groups]
    sdk = [_pick(records, g, SDK) for g in groups]
    machine = doc.get("machine", {})
    versions = machine.get("versions", {})

    fig, ax = plt.subplots(figsize=(max(7.0, 1.4 * len(groups)), 4.8))
    width = 0.38
    xs = list(range(len(groups)))
    ax.bar([x - width / 2 for x in xs], [v or 0 for v in ours], width,
           label=f"trio-mcp {versions.get('trio-mcp') or ''}".strip(), color="#2a6f97")
    ax.bar([x + width / 2 for x in xs], [v or 0 for v in sdk], width,
           label=f"MCP Python SDK {versions.get('mcp') or ''}".strip(), color="#c8553d")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([LABELS.get(g, g) for g in groups])
    ax.set_ylabel("calls per second (log scale)")
    values = [v for v in ours + sdk if v]
    ax.set_ylim(bottom=min(values) / 3, top=max(values) * 4)
    for x, mine, theirs in zip(xs, ours, sdk, strict=True):
        if mine and theirs:
            ax.annotate(f"x{mine / theirs:.1f}", (x, max(mine, theirs) * 1.25), ha="center",
                        fontsize=9)
    title = "echo tools/call: trio-mcp vs the official MCP Python SDK"
    detail = ", ".join(str(p) for p in (
        f"Python {machine.get('python')}" if machine.get("python") else None,
        machine.get("cpu"),
        f"{machine.get('nproc')} CPUs" if machine.get("nproc") else None) if p)
    ax.set_title(f"{title}\n{detail}" if detail else title, fontsize=10)
    ax.legend(loc="upper right")
    ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_file", type=Path, help="a run.py --json-out document")
    parser.add_argument("out", type=Path, help="the image to write (PNG, SVG, PDF, ...)")
    args = parser.parse_args(argv)
    doc = json.loads(args.json_file.read_text())
    try:
        plot(doc, args.out)
    except MatplotlibMissing as exc:
        print(f"plot.py: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
