"""Helpers for the adapter tests (imported as ``adapter_support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio.testing


def all_tasks() -> set[trio.lowlevel.Task]:
    """Every task alive in this trio run."""
    found: set[trio.lowlevel.Task] = set()
    todo = [trio.lowlevel.current_root_task()]
    while todo:
        task = todo.pop()
        if task is None or task in found:
            continue
        found.add(task)
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return found


@asynccontextmanager
async def assert_no_leaks() -> AsyncIterator[None]:
    """Assert that the block leaves no task behind (compared with the tasks at its start)."""
    before = all_tasks()
    yield
    await trio.testing.wait_all_tasks_blocked()
    leftover = all_tasks() - before
    assert not leftover, f"tasks outlived the block: {sorted(t.name for t in leftover)}"
