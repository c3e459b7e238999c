"""Adapter test support: a per-test hang guard and a task-leak check.

Every async test in this folder runs under ``trio.fail_after(TEST_TIMEOUT)`` (on trio's clock,
so it also bounds tests that use the autojump clock), so a hang fails fast instead of stalling
the suite.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest
import trio

#: Every adapter test fails (rather than hangs) after this many seconds.
TEST_TIMEOUT = 30.0


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        with trio.fail_after(TEST_TIMEOUT):
            return await fn(*args, **kwargs)

    return wrapper


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (isinstance(item, pytest.Function) and "adapter" in item.path.parts
                and inspect.iscoroutinefunction(item.obj)):
            item.obj = _guarded(item.obj)


@pytest.fixture(autouse=True)
def _fresh_era_cache() -> None:
    """Each test starts with the client's process-wide era cache empty, so what one test's
    server spoke never decides how the next test's client connects."""
    from trio_adapter.client import forget_eras

    forget_eras()
