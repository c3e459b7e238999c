"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SCHEMA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "mcp-schema"


def load_schema(revision: str) -> dict[str, Any]:
    """The official JSON schema of ``revision`` (from ../shared/mcp-schema)."""
    with open(SCHEMA_DIR / revision / "schema.json", encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]


@pytest.fixture
def schema_dir() -> Path:
    if not SCHEMA_DIR.is_dir():  # pragma: no cover - CI always has ../shared
        pytest.skip("../shared/mcp-schema is not beside the project")
    return SCHEMA_DIR
