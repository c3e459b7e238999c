"""Shared fixtures and helpers for the test suite.

The official MCP JSON schemas are not part of this repository. Tests that validate against them
find them through one setting, the ``MCP_SCHEMA_DIR`` environment variable (a folder holding
``<revision>/schema.json``), which defaults to ``../shared/mcp-schema`` beside the project. Without
them those tests skip with one reason that names the setting, and the tests that only *also*
validate the frames they see (feature and interop tests) run without that extra check; the
session header says which it is. ``.ci/run`` refuses to run without the schemas.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_ENV = "MCP_SCHEMA_DIR"
SCHEMA_DIR = Path(os.environ.get(SCHEMA_ENV) or ROOT.parent / "shared" / "mcp-schema").resolve()
SCHEMA_SKIP_REASON = (
    f"the official MCP schemas are not available: set {SCHEMA_ENV} to the folder that holds "
    f"<revision>/schema.json (default: ../shared/mcp-schema beside the project)")


def schemas_available() -> bool:
    """Whether the official schemas can be read (``MCP_SCHEMA_DIR`` or ../shared/mcp-schema)."""
    return (SCHEMA_DIR / "2025-11-25" / "schema.json").is_file()


@cache
def _read(revision: str) -> dict[str, Any]:
    with open(SCHEMA_DIR / revision / "schema.json", encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]


def load_schema(revision: str) -> dict[str, Any]:
    """The official JSON schema of ``revision``; skips the calling test when there is none."""
    if not (SCHEMA_DIR / revision / "schema.json").is_file():
        pytest.skip(SCHEMA_SKIP_REASON)
    return _read(revision)


requires_schemas = pytest.mark.skipif(not schemas_available(), reason=SCHEMA_SKIP_REASON)


@pytest.fixture
def schema_dir() -> Path:
    """The schema folder; skips the test when the schemas are not available."""
    if not schemas_available():
        pytest.skip(SCHEMA_SKIP_REASON)
    return SCHEMA_DIR


def pytest_report_header(config: pytest.Config) -> str:
    if schemas_available():
        return f"MCP schema validation: on ({SCHEMA_DIR})"
    return (f"MCP schema validation: off ({SCHEMA_ENV} is not set and ../shared/mcp-schema is "
            "not beside the project); schema tests skip")


# ------------------------------------------------------------------ Redis (scale-out tests)

@pytest.fixture(scope="session")
def redis_url() -> Any:
    """One ``redis-server`` on loopback for the whole run (tests/redis_support.py); skips the
    test where ``redis-server`` or ``coredis`` is missing."""
    from tests.redis_support import REDIS_SKIP_REASON, RedisProcess, redis_available
    if not redis_available():
        pytest.skip(REDIS_SKIP_REASON)
    server = RedisProcess()
    server.start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix no other test uses (tests share the one server of ``redis_url``)."""
    import secrets
    return f"t{secrets.token_hex(4)}:"
