"""memory_transport_pair: delivery, back-pressure, end of input, closing, cancellation."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing
from adapter_support import StepCounter

from trio_adapter import memory_transport_pair


async def test_chunks_arrive_whole_and_in_order_then_end_of_input() -> None:
    a, b = memory_transport_pair()
    for i in range(100):
        await a.send(b"frame %d\n" % i)
    await a.send_eof()
    got = [await b.receive() for _ in range(100)]
    assert got == [b"frame %d\n" % i for i in range(100)]
    assert await b.receive() == b""  # end of input, and it stays so
    assert await b.receive() == b""
    with pytest.raises(trio.ClosedResourceError):
        await a.send(b"late\n")
    await b.send(b"the other direction still works\n")
    assert await a.receive() == b"the other direction still works\n"


async def test_a_waiting_reader_gets_the_next_write() -> None:
    a, b = memory_transport_pair()
    got: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: _append(got, b))
        await trio.testing.wait_all_tasks_blocked()
        assert a.send_nowait(b"hello\n") == 6
    assert got == [b"hello\n"]


async def _append(into: list[bytes], transport: object) -> None:
    into.append(await transport.receive())  # type: ignore[attr-defined]


async def test_a_bounded_buffer_makes_writers_wait() -> None:
    a, b = memory_transport_pair(buffer=2)
    await a.send(b"1")
    await a.send(b"2")
    assert a.send_nowait(b"3") == 0
    done = trio.Event()

    async def writer() -> None:
        await a.send(b"3")
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert not done.is_set()  # full: the writer waits
        assert await b.receive() == b"1"  # room: it goes on
        await done.wait()
    assert [await b.receive(), await b.receive()] == [b"2", b"3"]


async def test_no_buffer_is_a_rendezvous() -> None:
    a, b = memory_transport_pair(buffer=0)
    assert a.send_nowait(b"x") == 0  # nobody is reading
    async with trio.open_nursery() as nursery:
        nursery.start_soon(a.send, b"handed over")
        await trio.testing.wait_all_tasks_blocked()
        assert await b.receive() == b"handed over"
    with pytest.raises(ValueError):
        memory_transport_pair(buffer=-1)


async def test_closing_one_end() -> None:
    a, b = memory_transport_pair()
    await a.send(b"before close\n")
    await a.aclose()
    await a.aclose()  # idempotent
    assert await b.receive() == b"before close\n"  # what was sent is still delivered
    assert await b.receive() == b""
    with pytest.raises(trio.BrokenResourceError):
        await b.send(b"to a closed end\n")
    with pytest.raises(trio.BrokenResourceError):
        b.send_nowait(b"to a closed end\n")
    with pytest.raises(trio.ClosedResourceError):
        await a.receive()


async def test_closing_wakes_this_ends_reader() -> None:
    a, _b = memory_transport_pair()
    outcome: list[str] = []

    async def read_a() -> None:
        with pytest.raises(trio.ClosedResourceError):
            await a.receive()
        outcome.append("closed")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_a)
        await trio.testing.wait_all_tasks_blocked()
        await a.aclose()
    assert outcome == ["closed"]


async def test_closing_wakes_the_peers_blocked_writers() -> None:
    a, b = memory_transport_pair(buffer=1)
    await b.send(b"fills the buffer")
    outcome: list[str] = []

    async def write_to_a() -> None:
        with pytest.raises(trio.BrokenResourceError):
            await b.send(b"waits for room")
        outcome.append("broken")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write_to_a)
        await trio.testing.wait_all_tasks_blocked()
        await a.aclose()
    assert outcome == ["broken"]


async def test_cancelled_waits_leave_no_trace() -> None:
    a, b = memory_transport_pair(buffer=1)
    with trio.move_on_after(0.01) as scope:
        await b.receive()
    assert scope.cancelled_caught
    await a.send(b"1")
    with trio.move_on_after(0.01) as scope:
        await a.send(b"2")  # full: waits, then is cancelled without writing
    assert scope.cancelled_caught
    assert await b.receive() == b"1"
    await a.send(b"3")
    assert await b.receive() == b"3"
    with trio.CancelScope() as cancelled:
        cancelled.cancel()
        await b.receive()  # cancelled on entry, even with nothing to wait for
    assert cancelled.cancelled_caught


async def test_one_reader_at_a_time() -> None:
    a, b = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.receive)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.BusyResourceError):
            await b.receive()
        await a.send(b"for the first reader")


async def test_a_flood_cannot_starve_other_tasks() -> None:
    a, b = memory_transport_pair(buffer=math.inf)
    for _ in range(200):
        a.send_nowait(b"x")
    with StepCounter.installed() as steps:
        for _ in range(15):  # data waiting: no trip through the scheduler ...
            await b.receive()
        assert steps.count == 0
        await b.receive()  # ... but never 16 in a row
        assert steps.count == 1
