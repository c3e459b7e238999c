"""A small run of scripts/load_test.py's three phases in the suite (the full counts, 1,000
sessions, 10,000 calls and 600 slow clients, run in .ci/run)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def load_test() -> object:
    spec = importlib.util.spec_from_file_location("load_test", ROOT / "scripts" / "load_test.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_sessions_flood_and_slow_clients_small(load_test: object) -> None:
    await load_test.sessions_phase(20)  # type: ignore[attr-defined]
    await load_test.flood_phase(600)  # type: ignore[attr-defined]
    await load_test.slow_phase(20, 1.0)  # type: ignore[attr-defined]
    assert load_test.FAILURES == []  # type: ignore[attr-defined]
