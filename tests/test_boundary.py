"""The sans-IO boundary: the core imports no I/O, threads or clocks (design.md section 1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "sansio"
FORBIDDEN_SOURCE = {"trio", "asyncio", "anyio", "socket", "select", "selectors", "threading",
                    "subprocess", "time"}
FORBIDDEN_LOADED = ["trio", "asyncio", "anyio", "socket", "select", "selectors", "subprocess"]


def _core_modules() -> list[Path]:
    # sansio/testing ships test helpers (hypothesis); it is held to the same rule anyway.
    return sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", _core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    assert not (found & FORBIDDEN_SOURCE), f"{path.name} imports {found & FORBIDDEN_SOURCE}"


_PROBE = """
import sys
forbidden = {forbidden!r}
def loaded():
    return sorted(m for m in forbidden if m in sys.modules)
import attrs, cattrs, cattrs.preconf.json
if {backend!r} == "orjson":
    import orjson, cattrs.preconf.orjson
by_dependencies = loaded()
import sansio, sansio.testing
print(",".join(sorted(set(loaded()) - set(by_dependencies))) + "|" + ",".join(loaded()))
"""


@pytest.mark.parametrize("backend", ["orjson", "stdlib"])
def test_importing_sansio_loads_no_io_module(backend: str) -> None:
    code = _PROBE.format(forbidden=FORBIDDEN_LOADED, backend=backend)
    env = {"TRIO_MCP_JSON": backend, "PATH": "", "PYTHONPATH": str(CORE.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd=CORE.parent)
    added, total = out.stdout.strip().split("|")
    # sansio itself adds none of them ...
    assert added == "", f"importing sansio loaded: {added}"
    # ... and on 3.11+ its dependencies load none either. (On 3.10, orjson imports uuid, whose
    # 3.10 version imports platform and with it subprocess, select and selectors.)
    if sys.version_info >= (3, 11):
        assert total == "", f"importing sansio and its dependencies loaded: {total}"
