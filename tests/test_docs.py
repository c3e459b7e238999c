"""The documentation stays true: generated pages are current, examples run, links resolve."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import sansio

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# A fenced block whose info string is "python run" is executed by this test. Blocks run in
# document order in one namespace, like a console session.
RUN_BLOCK = re.compile(r"^```python run[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_state_machine_doc_is_up_to_date() -> None:
    gen = _load_script(ROOT / "scripts" / "gen_state_doc.py")
    expected = gen.render()
    current = (DOCS / "state-machine.md").read_text(encoding="utf-8")
    assert current == expected, (
        "docs/state-machine.md is out of date: run python scripts/gen_state_doc.py")


def test_state_machine_doc_covers_every_transition() -> None:
    from sansio.state import TRANSITIONS

    text = (DOCS / "state-machine.md").read_text(encoding="utf-8")
    for (_role, state), moves in TRANSITIONS.items():
        for trigger, new in moves.items():
            assert f"| {state.name} | {trigger.value} | {new.name}" in text


def _run_blocks(page: str) -> list[tuple[int, str]]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in RUN_BLOCK.finditer(text)]


@pytest.mark.parametrize("page", ["engine.md", "testing.md", "adapter.md", "auth.md"])
def test_doc_examples_run(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _run_blocks(page)
    assert len(blocks) >= 3, f"docs/{page} lost its runnable (```python run) examples"
    namespace: dict[str, object] = {"__name__": page.replace(".", "_")}
    for line, code in blocks:
        # dont_inherit: run as a reader would paste it, without this file's __future__
        # import (string annotations need a real module: a dataclass would fail here).
        compiled = compile(code, f"docs/{page}:{line}", "exec", dont_inherit=True)
        exec(compiled, namespace)
    capsys.readouterr()


def test_relative_links_resolve() -> None:
    for page in [*DOCS.glob("*.md"), ROOT / "README.md"]:
        text = page.read_text(encoding="utf-8")
        for target in LINK.findall(text):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_docs_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, f"docs/README.md does not list {page.name}"


@pytest.mark.parametrize("args", [(), ("--byte-by-byte", "--protocol-version", "2025-03-26")])
def test_handshake_demo_runs(args: tuple[str, ...]) -> None:
    proc = _run("examples/handshake_demo.py", *args)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for needle in ('"method":"initialize"', "InitializeRequested(", "Initialized(",
                   '"method":"notifications/initialized"', '"method":"tools/list"',
                   '"method":"tools/call"', "ProgressReceived(", "ResponseReceived(",
                   "hello world", "state: INITIALIZED -> OPERATING", "PeerDisconnected(",
                   "done: handshake, tools/list and tools/call completed"):
        assert needle in out, f"{needle!r} missing from the demo's output:\n{out}"
    if args:
        assert "negotiated protocol version 2025-03-26" in out


def test_benchmark_smoke() -> None:
    proc = _run("benchmarks/engine.py", "--quick", "--runs", "1", "--iterations", "50")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    kinds = {(r["measurement"], r["codec"], r["validate"]) for r in records}
    codecs = {sansio.JSON_BACKEND, "stdlib"}
    for codec in codecs:
        for path in ("roundtrip.engine", "roundtrip.pair"):
            assert (path, codec, True) in kinds and (path, codec, False) in kinds, kinds
    assert ("floor.codec", "json", None) in kinds
    assert all(r["median_us"] > 0 and r["iterations"] == 50 for r in records)
    assert "x codec floor" in proc.stdout


def test_benchmark_stdlib_env_skips_the_child() -> None:
    env = dict(os.environ, TRIO_MCP_JSON="stdlib")
    proc = _run("benchmarks/engine.py", "--runs", "1", "--iterations", "20", env=env)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert {r["codec"] for r in records if r["measurement"].startswith("roundtrip")} == {"stdlib"}


@pytest.mark.parametrize("module", ["sansio", "sansio.types", "trio_adapter",
                                    "trio_adapter.server", "trio_adapter.client"])
def test_module_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), verbose=False)
    assert result.failed == 0
