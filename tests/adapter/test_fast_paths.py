"""The shortcuts the hot path takes give exactly what the general path gives.

Each fast path (argument binding, plain return values written as dicts, the engine's typed
result reused by the client, writes that need no schedule point) is checked against the path
it short-cuts, on the wire and in what the caller sees.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio
import trio.testing
from adapter_support import Recorder, StepCounter, connected
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sansio import HANDSHAKE_VERSIONS, ResponseReceived
from sansio import types as t
from sansio.testing import ConnectionPair
from tests.test_schema_frames import check_if_available
from trio_adapter import Client, Server, memory_transport_pair
from trio_adapter._schema import ArgumentError, input_schema_for

# ---------------------------------------------------------------- argument binding


def _tool(a: str, b: int, c: bool = False) -> None:  # the signature under test
    del a, b, c


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                 max_size=3),
    max_leaves=6,
)
argument_dicts = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), json_values, max_size=4)


def _bind(binder: Any, arguments: Any) -> Any:
    try:
        return ("ok", binder.bind(arguments))
    except ArgumentError as exc:
        return ("error", str(exc))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argument_dicts)
def test_fast_binding_agrees_with_the_full_path(arguments: dict[str, Any]) -> None:
    _, fast = input_schema_for(_tool)
    _, full = input_schema_for(_tool)
    full._fast = None  # the general path only
    assert fast._fast is not None
    outcome = _bind(fast, arguments)
    assert outcome == _bind(full, arguments)
    if outcome[0] == "ok":  # and exact types: True is not an int, 1 is not a bool
        kwargs = outcome[1]
        assert type(kwargs["a"]) is str and type(kwargs["b"]) is int
        assert type(kwargs["c"]) is bool


def test_fast_binding_only_for_plain_parameters() -> None:
    def typed(x: float, y: list[int]) -> None:
        del x, y

    _, binder = input_schema_for(typed)
    assert binder._fast is None
    assert binder.bind({"x": 1, "y": [2]}) == {"x": 1.0, "y": [2]}


# ---------------------------------------------------------------- plain return values


def _plain_server() -> Server:
    server = Server("plain", "1.0")

    @server.tool()
    async def text(value: str) -> str:
        return value

    @server.tool()
    def number(value: int) -> int:
        return value

    @server.tool()
    async def flag(value: bool) -> bool:
        return value

    @server.tool()
    async def untyped(value: str):  # type: ignore[no-untyped-def]  # no output schema
        return value

    @server.tool()
    async def liar(value: str) -> int:
        return value  # type: ignore[return-value]

    return server


@pytest.mark.parametrize("revision", HANDSHAKE_VERSIONS)
async def test_plain_return_values_on_every_revision(revision: str) -> None:
    rec = Recorder()
    server = _plain_server()
    server.trace = rec
    client = Client("c", "1.0", mode="legacy", protocol_version=revision)
    async with connected(server, client) as (session, _):
        cases: list[tuple[str, Any, str]] = [
            ("text", "hi", "hi"), ("number", 7, "7"), ("flag", True, "true")]
        for name, value, text in cases:
            result = await session.call_tool(name, {"value": value})
            assert result.content == [t.TextContent(text=text)]
            assert result.is_error is None
            if revision >= "2025-06-18":
                assert result.structured_content == {"result": value}
            else:
                assert result.structured_content is None
        untyped = await session.call_tool("untyped", {"value": "x"})
        assert untyped.content == [t.TextContent(text="x")]
        assert untyped.structured_content is None
        liar = await session.call_tool("liar", {"value": "x"})
        assert liar.is_error is True
        assert "does not match its output schema" in liar.content[0].text  # type: ignore[union-attr]
    responses = [f for f in rec.sent if "result" in f and "content" in f["result"]]
    assert len(responses) == 5
    for frame in rec.sent:
        check_if_available(revision, frame)


# ---------------------------------------------------------------- the engine's typed result


def test_response_received_carries_the_typed_result() -> None:
    for validate in (True, False):
        pair = ConnectionPair(validate=validate)
        pair.handshake(server_capabilities={"tools": {}})
        rid = pair.client.send_request("tools/call", {"name": "x", "arguments": {}})
        pair.deliver(pair.client)
        pair.server.send_response(rid, {"content": [{"type": "text", "text": "ok"}]})
        (event,) = pair.deliver(pair.server)
        assert isinstance(event, ResponseReceived)
        if validate:
            assert event.typed == t.CallToolResult(content=[t.TextContent(text="ok")])
        else:
            assert event.typed is None
        # Not part of equality: the event equals one built without it.
        assert event == ResponseReceived(rid, "tools/call", event.result)


# ---------------------------------------------------------------- writes and checkpoints


async def test_memory_transport_send_nowait() -> None:
    a, b = memory_transport_pair(buffer=1)
    assert a.send_nowait(b"one\n") == 4
    assert a.send_nowait(b"two\n") == 0  # full: nothing written, the caller awaits send()
    assert await b.receive() == b"one\n"
    await a.send_eof()
    with pytest.raises(trio.ClosedResourceError):
        a.send_nowait(b"three\n")
    await b.aclose()
    c, d = memory_transport_pair(buffer=math.inf)
    await d.aclose()
    with pytest.raises(trio.BrokenResourceError):
        c.send_nowait(b"x\n")


async def test_public_sends_are_checkpoints_and_cancelled_calls_write_nothing() -> None:
    server = Server("s", "1.0")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    rec = Recorder()
    client = Client("c", "1.0", mode="legacy", trace=rec)
    async with connected(server, client) as (session, _):
        with trio.testing.assert_checkpoints():
            await session.send_notification("notifications/roots/list_changed")
        with trio.testing.assert_checkpoints():
            await session.call_tool("echo", {"text": "x"})
        before = len(rec.sent)
        with trio.CancelScope() as scope:
            scope.cancel()
            await session.call_tool("echo", {"text": "never sent"})
        assert scope.cancelled_caught
        assert len(rec.sent) == before  # neither the request nor a cancellation went out
        assert (await session.call_tool("echo", {"text": "still fine"})).content == [
            t.TextContent(text="still fine")]


# ---------------------------------------------------------------- descriptors


async def test_fd_reader_reads_at_once_but_yields_every_so_often() -> None:
    import os

    from trio_adapter._fdio import YIELD_EVERY, FdReader

    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        os.write(w, b"x" * (YIELD_EVERY * 2))
        reader = FdReader(r, 1)
        with StepCounter.installed() as steps:
            for _ in range(YIELD_EVERY - 1):  # data is there: no trip through the scheduler
                assert await reader.receive() == b"x"
            assert steps.count == 0
            assert await reader.receive() == b"x"  # ... but never YIELD_EVERY in a row
            assert steps.count == 1
        os.close(w)
        w = -1
        rest = b""
        while chunk := await reader.receive():
            rest += chunk
        assert rest == b"x" * YIELD_EVERY  # then end of input
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


async def test_fd_reader_waits_for_data_and_honours_cancellation() -> None:
    import os

    from trio_adapter._fdio import FdReader

    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        reader = FdReader(r, 100)
        with trio.move_on_after(0.05) as scope:  # nothing to read: it waits, cancellably
            await reader.receive()
        assert scope.cancelled_caught
        async with trio.open_nursery() as nursery:
            got: list[bytes] = []

            async def read() -> None:
                got.append(await reader.receive())

            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()
            os.write(w, b"late")
        assert got == [b"late"]
    finally:
        os.close(r)
        os.close(w)


async def test_fd_writes() -> None:
    import os

    from trio_adapter._fdio import fd_send_all, fd_send_nowait

    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        written = 0
        while (n := fd_send_nowait(w, b"y" * 65536)) > 0:  # until the pipe is full
            written += n
        assert fd_send_nowait(w, b"more") == 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fd_send_all, w, b"z" * 100_000)  # waits for room
            await trio.testing.wait_all_tasks_blocked()
            total = 0
            os.set_blocking(r, False)
            while total < written + 100_000:
                try:
                    total += len(os.read(r, 1 << 20))
                except BlockingIOError:  # let the writer refill the pipe
                    await trio.testing.wait_all_tasks_blocked()
        assert total == written + 100_000
        os.close(r)
        r = -1
        with pytest.raises(trio.BrokenResourceError):
            fd_send_nowait(w, b"nobody reads")
    finally:
        if r >= 0:
            os.close(r)
        os.close(w)


# ---------------------------------------------------------------- the write lock


async def test_write_lock_is_fifo_and_a_cancelled_waiter_leaves_no_trace() -> None:
    from trio_adapter._session import _WriteLock

    lock = _WriteLock()
    order: list[str] = []
    scopes: dict[str, trio.CancelScope] = {}

    async def writer(name: str) -> None:
        with trio.CancelScope() as scope:
            scopes[name] = scope
            async with lock:
                order.append(name)
                await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        async with lock:  # held: everyone queues
            for name in ("a", "b", "c", "d"):
                nursery.start_soon(writer, name)
                await trio.testing.wait_all_tasks_blocked()
            scopes["b"].cancel()  # b gives up while waiting
            await trio.testing.wait_all_tasks_blocked()
            assert lock.locked()
    assert order == ["a", "c", "d"]  # arrival order, b skipped
    assert not lock.locked()
    with trio.testing.assert_no_checkpoints():  # free: taken without a schedule point
        async with lock:
            pass


async def test_flag_wakes_every_waiter_and_forgets_cancelled_ones() -> None:
    from trio_adapter._session import _Flag

    flag = _Flag()
    woken: list[int] = []
    scopes: dict[int, trio.CancelScope] = {}

    async def waiter(i: int) -> None:
        with trio.CancelScope() as scope:
            scopes[i] = scope
            await flag.wait()
            woken.append(i)

    async with trio.open_nursery() as nursery:
        for i in range(3):
            nursery.start_soon(waiter, i)
        await trio.testing.wait_all_tasks_blocked()
        scopes[1].cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert not flag.is_set()
        flag.set()
        flag.set()  # idempotent
    assert sorted(woken) == [0, 2]
    assert flag.is_set()
    with trio.testing.assert_checkpoints():  # set: returns at once, still a checkpoint
        await flag.wait()
