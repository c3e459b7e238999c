"""``ours_echo.py``'s server as a module-level ``server``, for ``trio-mcp serve``.

``trio-mcp serve benchmarks/servers/ours_echo_worker.py --http HOST:PORT --store URL`` runs one
worker of ``benchmarks/scale.py``; the tool is the one of ``ours_echo.py`` (loaded by path: the
benchmarks directory is not a package).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_bench_ours_echo_for_worker", Path(__file__).resolve().parent / "ours_echo.py")
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

server = _module.build_server()
