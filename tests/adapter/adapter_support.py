"""Helpers for the adapter tests (imported as ``adapter_support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import h11
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


@asynccontextmanager
async def connected(server, client=None):  # type: ignore[no-untyped-def]
    """Connect ``client`` (default: a plain one) to ``server`` in memory.

    Yields ``(client_session, server_session)``; both are closed at the end.
    """
    from trio_adapter import Client, memory_transport_pair

    # the handshake era: these tests assert its wire (2026-07-28 has tests of its own)
    client = client or Client("test-client", "1.0", mode="legacy")
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end) as server_session:
        async with client.connect(client_end) as client_session:
            await server_session.wait_initialized()
            yield client_session, server_session


class Recorder:
    """A trace hook that keeps every frame (decoded) and event."""

    def __init__(self) -> None:
        self.sent: list[dict] = []  # type: ignore[type-arg]
        self.received: list[dict] = []  # type: ignore[type-arg]
        self.events: list[object] = []

    def __call__(self, direction: str, item: object) -> None:
        import json

        if direction == "send":
            self.sent.append(json.loads(item))  # type: ignore[arg-type]
        elif direction == "recv":
            self.received.append(json.loads(item))  # type: ignore[arg-type]
        elif direction == "event":
            self.events.append(item)

    def sent_methods(self) -> list[str]:
        return [f["method"] for f in self.sent if "method" in f]


class StepCounter(trio.abc.Instrument):
    """Counts one task's trips through the scheduler (``before_task_step``), to assert that
    an operation did or did not yield. Use as ``with StepCounter.installed() as steps:``."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.count = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.count += 1

    @classmethod
    @contextmanager
    def installed(cls) -> Iterator[StepCounter]:
        counter = cls(trio.lowlevel.current_task())
        trio.lowlevel.add_instrument(counter)
        try:
            yield counter
        finally:
            trio.lowlevel.remove_instrument(counter)


async def read_request(conn: h11.Connection, stream: trio.abc.ReceiveStream
                       ) -> tuple[h11.Request, bytes] | None:
    """Read one whole request (head and body) for a scripted h11 server; ``None`` at EOF."""
    head: h11.Request | None = None
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(65536)
            if not data:
                return None
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            return head, body
        else:  # the peer closed the connection
            return None
