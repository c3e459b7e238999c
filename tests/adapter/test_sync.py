"""The adapter's own primitives (trio_adapter._sync): the pipe under trio's generic stream
tests, the write lock against trio's lock semantics (StrictFIFOLock), the flag against
trio.Event's."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_adapter._sync import Flag, PipeStream, WriteLock, pipe_stream_pair

# ---------------------------------------------------------------- the pipe as a trio stream


async def _pair() -> tuple[PipeStream, PipeStream]:
    return pipe_stream_pair(4)


async def _clogged() -> tuple[PipeStream, PipeStream]:
    return pipe_stream_pair(0)  # every write waits for a reader


async def test_pipe_passes_trios_half_closeable_stream_checks() -> None:
    # Also runs check_two_way_stream and check_one_way_stream, both directions.
    await trio.testing.check_half_closeable_stream(_pair, _clogged)


async def test_pipe_passes_trios_checks_with_the_default_bound() -> None:
    async def default() -> tuple[PipeStream, PipeStream]:
        return pipe_stream_pair()

    await trio.testing.check_two_way_stream(default, _clogged)


async def test_pipe_bound_is_back_pressure() -> None:
    a, b = pipe_stream_pair(2)
    await a.send_all(b"1")
    await a.send_all(b"2")
    with trio.move_on_after(0.01) as scope:
        await a.send_all(b"3")  # full: waits, then cancelled without writing
    assert scope.cancelled_caught
    assert await b.receive_some() == b"1"
    await a.send_all(b"3")
    assert [await b.receive_some(), await b.receive_some()] == [b"2", b"3"]


async def test_pipe_close_wakes_this_ends_blocked_writer() -> None:
    a, _b = pipe_stream_pair(0)
    async with trio.open_nursery() as nursery:

        async def write() -> None:
            with pytest.raises(trio.ClosedResourceError):
                await a.send_all(b"nobody reads")

        nursery.start_soon(write)
        await trio.testing.wait_all_tasks_blocked()
        await a.aclose()


# ---------------------------------------------------------------- the write lock


async def test_lock_excludes() -> None:
    lock = WriteLock()
    inside: list[int] = []
    most = 0

    async def worker(i: int) -> None:
        nonlocal most
        for _ in range(5):
            async with lock:
                inside.append(i)
                most = max(most, len(inside))
                await trio.lowlevel.checkpoint()
                inside.remove(i)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        for i in range(6):
            nursery.start_soon(worker, i)
    assert most == 1
    assert not lock.locked()


async def test_lock_is_strict_fifo_and_never_barged() -> None:
    lock = WriteLock()
    order: list[str] = []

    async def take(name: str) -> None:
        async with lock:
            order.append(name)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        async with lock:
            for name in "abc":
                nursery.start_soon(take, name)
                await trio.testing.wait_all_tasks_blocked()
            assert lock.waiting() == 3
        # Released: handed to "a" directly, so it is still held and a newcomer queues.
        assert lock.locked()
        nursery.start_soon(take, "late")
    assert order == ["a", "b", "c", "late"]
    assert not lock.locked() and lock.waiting() == 0


async def test_cancelled_waiter_leaves_and_the_next_gets_the_lock() -> None:
    lock = WriteLock()
    order: list[str] = []

    async def take(name: str, scope: trio.CancelScope) -> None:
        with scope:
            async with lock:
                order.append(name)
                await trio.lowlevel.checkpoint()

    scopes = {name: trio.CancelScope() for name in "abc"}
    async with trio.open_nursery() as nursery:
        async with lock:
            for name in "abc":
                nursery.start_soon(take, name, scopes[name])
                await trio.testing.wait_all_tasks_blocked()
            scopes["a"].cancel()
            scopes["c"].cancel()
            await trio.testing.wait_all_tasks_blocked()
            assert lock.waiting() == 1
    assert order == ["b"]
    assert not lock.locked()


async def test_handed_over_then_cancelled_still_releases() -> None:
    """Cancelled after the lock was handed over (before it ran): the task holds it, runs
    into the body, is cancelled at its first checkpoint there, and releases it."""
    lock = WriteLock()
    scope = trio.CancelScope()
    entered: list[bool] = []

    async def take() -> None:
        with scope:
            async with lock:
                entered.append(True)
                await trio.lowlevel.checkpoint()
                entered.append(False)  # pragma: no cover - cancelled above

    async with trio.open_nursery() as nursery:
        await lock.__aenter__()
        nursery.start_soon(take)
        await trio.testing.wait_all_tasks_blocked()
        lock.release()  # handed over
        scope.cancel()
    assert entered == [True]
    assert not lock.locked()


async def test_lock_released_by_an_exception_in_the_body() -> None:
    lock = WriteLock()
    with pytest.raises(KeyError):
        async with lock:
            raise KeyError("boom")
    assert not lock.locked()


async def test_lock_release_when_free_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not held"):
        WriteLock().release()


async def test_free_lock_is_taken_without_a_schedule_point() -> None:
    """The one documented difference from trio.StrictFIFOLock."""
    lock = WriteLock()
    with trio.testing.assert_no_checkpoints():
        async with lock:
            assert lock.locked()


# ---------------------------------------------------------------- the flag


async def test_flag_wait_after_set_is_a_checkpoint() -> None:
    flag = Flag()
    flag.set()
    with trio.testing.assert_checkpoints():
        await flag.wait()
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await flag.wait()  # set, but cancelled: raises like trio.Event


async def test_flag_wakes_all_waiters_once() -> None:
    flag = Flag()
    woken: list[int] = []

    async def waiter(i: int) -> None:
        await flag.wait()
        woken.append(i)

    async with trio.open_nursery() as nursery:
        for i in range(4):
            nursery.start_soon(waiter, i)
        await trio.testing.wait_all_tasks_blocked()
        assert woken == []
        flag.set()
        flag.set()
    assert sorted(woken) == [0, 1, 2, 3]
    assert flag.is_set()
