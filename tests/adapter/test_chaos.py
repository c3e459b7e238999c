"""Chaos (issue 14, section 4): calls in a loop while the server process is killed and
started again at random intervals, over stdio and over Streamable HTTP (``serve_http`` in a
child process on a loopback port).

Every call resolves within its bound (a result, or a clear error: ``PeerDisconnected`` or an
``MCPError``), nothing hangs, no server process is left, and once the faults stop every call
succeeds. Bounded in time: a few seconds of faults per case. The random intervals come from
a seeded generator (the seed is in the failure message).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

import pytest
import trio
from chaos_support import HTTPServerProcess, alive, stdio_command

from trio_adapter import (
    Client,
    ClientSession,
    CommandTransport,
    MCPError,
    PeerDisconnected,
    Reconnect,
    StreamableHTTPTransport,
)

#: How long faults are injected, per case (seconds), and how many at least and at most.
FAULT_TIME = 2.0
MIN_FAULTS = 3
MAX_FAULTS = 12
#: Bound on one call: a call that takes longer is a hang.
CALL_BOUND = 10.0
WORKERS = 3
CALLS_AFTER = 10

POLICY = Reconnect(max_attempts=100, initial_backoff=0.02, max_backoff=0.25, jitter=0.5,
                   attempt_timeout=8.0)


class Tally:
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()

    async def one_call(self, session: ClientSession, rng: random.Random) -> None:
        try:
            with trio.fail_after(CALL_BOUND):
                if rng.random() < 0.5:
                    result = await session.call_tool("echo", {"text": "hi"})
                    assert result.content[0].text == "hi"  # type: ignore[union-attr]
                else:
                    await session.call_tool("nap", {"seconds": rng.uniform(0.0, 0.2)})
            self.outcomes["ok"] += 1
        except PeerDisconnected:
            self.outcomes["disconnected"] += 1
        except MCPError:
            self.outcomes["error answer"] += 1
        # anything else (TooSlowError: a hang; SessionClosed from a dead session) fails


async def drive(session: ClientSession, tally: Tally, stop: trio.Event,
                rng: random.Random) -> None:
    while not stop.is_set():
        await tally.one_call(session, rng)
        if session.closed:
            raise AssertionError(f"the session ended: {session.close_reason}")


async def run_chaos(session: ClientSession, fault: Any, rng: random.Random) -> Tally:
    tally = Tally()
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        for n in range(WORKERS):
            nursery.start_soon(drive, session, tally, stop, random.Random(rng.random()),
                               name=f"worker {n}")
        deadline = trio.current_time() + FAULT_TIME
        faults = 0
        while faults < MIN_FAULTS or (trio.current_time() < deadline and faults < MAX_FAULTS):
            await trio.sleep(rng.uniform(0.2, 1.0))
            await fault()
            faults += 1
        stop.set()
    # The faults stopped: once the session is back, every call succeeds.
    info = session.reconnects
    assert info is not None
    if info.reconnecting:
        with trio.fail_after(CALL_BOUND):
            await session.wait_reconnected()
    after = Tally()
    for _ in range(CALLS_AFTER):
        await after.one_call(session, rng)
    assert after.outcomes == Counter(ok=CALLS_AFTER), (after.outcomes, info)
    assert tally.outcomes["ok"] > 0
    return tally


def seeded() -> tuple[int, random.Random]:
    seed = int.from_bytes(os.urandom(4), "big")
    return seed, random.Random(seed)


async def test_chaos_over_stdio() -> None:
    seed, rng = seeded()
    pids: list[int] = []
    transport = CommandTransport(stdio_command(), stderr="devnull")
    async with Client("chaos", "1").connect(transport, reconnect=POLICY) as session:

        async def kill_current() -> None:
            current = session.transport
            assert isinstance(current, CommandTransport)
            if current.process is not None and current.returncode is None:
                pids.append(current.process.pid)
                current.process.kill()

        try:
            tally = await run_chaos(session, kill_current, rng)
        except BaseException as exc:
            exc.add_note(f"chaos seed {seed}")
            raise
        last = session.transport
        assert isinstance(last, CommandTransport) and last.pid is not None
        pids.append(last.pid)
    info = session.reconnects
    assert info is not None and info.reconnects >= 1 and info.gave_up is None, tally.outcomes
    with trio.fail_after(5):
        while any(alive(pid) for pid in pids):  # noqa: ASYNC110 - reaped by their parent
            await trio.sleep(0.01)


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_chaos_over_http(era: str) -> None:
    seed, rng = seeded()
    server = HTTPServerProcess()
    try:
        await server.start()
        transport = StreamableHTTPTransport(server.url, connect_timeout=5)
        async with Client("chaos", "1", mode=era).connect(  # type: ignore[arg-type]
                transport, reconnect=POLICY) as session:

            async def restart() -> None:
                await server.kill()
                await trio.sleep(rng.uniform(0.0, 0.3))  # down for a while
                await server.start()

            try:
                await run_chaos(session, restart, rng)
            except BaseException as exc:
                exc.add_note(f"chaos seed {seed}")
                raise
    finally:
        await server.aclose()
    assert len(server.pids) >= MIN_FAULTS + 1
    assert not any(alive(pid) for pid in server.pids)
